/**
 * The only place that names queues, job names and payloads. Payloads carry ids
 * only: key material stays sealed in the store.
 */
import { FlowProducer, Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { Type, type Static } from 'typebox';
import Value from 'typebox/value';

export const QueueName = {
  Install: 'install',
  InstallTarget: 'install-target',
  Notify: 'notify',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const JobName = {
  Install: 'install',
  InstallTarget: 'install-target',
  Notify: 'notify',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

const JobId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
const Round = Type.Integer({ minimum: 1 });

export const InstallPayload = Type.Object({ jobId: JobId, round: Round });
export const InstallTargetPayload = Type.Object({
  jobId: JobId,
  round: Round,
  /** `<environment>/<front-end>` */
  targetId: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}/[a-z0-9][a-z0-9-]{0,62}$' }),
});
export const NotifyPayload = Type.Object({ jobId: JobId, round: Round, status: Type.String() });

export type InstallPayload = Static<typeof InstallPayload>;
export type InstallTargetPayload = Static<typeof InstallTargetPayload>;
export type NotifyPayload = Static<typeof NotifyPayload>;

const SCHEMAS = {
  [JobName.Install]: InstallPayload,
  [JobName.InstallTarget]: InstallTargetPayload,
  [JobName.Notify]: NotifyPayload,
} as const;

export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
    Object.setPrototypeOf(this, PayloadError.prototype);
  }
}

/** Checks a payload read from a queue; extra fields from other releases are tolerated. */
export function parsePayload<N extends JobName>(name: N, data: unknown): Static<(typeof SCHEMAS)[N]> {
  const schema = SCHEMAS[name];
  if (!schema) throw new PayloadError(`unknown job name '${String(name)}'`);
  if (!Value.Check(schema, data)) {
    const first = [...Value.Errors(schema, data)][0];
    throw new PayloadError(
      `bad ${name} payload: ${first?.instancePath ?? ''} ${first?.message ?? ''}`.trim(),
    );
  }
  return data as Static<(typeof SCHEMAS)[N]>;
}

/** Redis hash-tag prefix shared by queues and records, so Cluster keeps them in one slot. */
export function keyPrefix(prefix: string): string {
  return `{${prefix}}`;
}

/** Pub/sub channel on which an inventory reload is announced to every process. */
export function inventoryChannel(prefix: string): string {
  return `${keyPrefix(prefix)}:events:inventory`;
}

const SENTINEL_URL = /^(rediss?)\+sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)\/([^/?#]+)(?:\?(.*))?$/;

/**
 * ioredis options for a Redis URL. Besides `redis://` and `rediss://`, Sentinel is
 * written `redis+sentinel://[:password@]host:port[,host:port…]/<master name>[?db=N]`
 * (`rediss+sentinel://` for TLS); the password is the master's and the sentinels'.
 */
export function redisOptionsFromUrl(url: string): RedisOptions | string {
  const sentinel = SENTINEL_URL.exec(url);
  if (!sentinel) return url;
  const [, scheme, username, password, hosts, name, query] = sentinel;
  const sentinels = hosts!.split(',').map((hostPort) => {
    const at = hostPort.lastIndexOf(':');
    return at > 0
      ? { host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) }
      : { host: hostPort, port: 26379 };
  });
  const db = new URLSearchParams(query ?? '').get('db');
  const secret = password ? decodeURIComponent(password) : undefined;
  return {
    sentinels,
    name: decodeURIComponent(name!),
    ...(username ? { username: decodeURIComponent(username) } : {}),
    ...(secret ? { password: secret, sentinelPassword: secret } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(scheme === 'rediss' ? { tls: {}, enableTLSForSentinelMode: true } : {}),
  };
}

/** Whether a REDIS_URL is one certfleet can use (plain, TLS or Sentinel). */
export function isRedisUrl(url: string): boolean {
  return SENTINEL_URL.test(url) || /^rediss?:\/\/[^\s]+$/.test(url);
}

/** One ioredis connection; BullMQ workers need maxRetriesPerRequest: null. */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    // Reconnect forever with a capped backoff: Redis restarts must not kill the daemon.
    retryStrategy: (times) => Math.min(times * 200, 5000),
    ...options,
  };
  const target = redisOptionsFromUrl(url);
  return typeof target === 'string' ? new Redis(target, common) : new Redis({ ...target, ...common });
}

export interface TargetRef {
  id: string;
}

export interface FlowOptions {
  prefix: string;
  attempts: number;
  backoffMs: number;
  /** Where connection errors of the queues go (e.g. the logger) instead of stderr. */
  onError?: (err: Error) => void;
}

/** Deterministic ids make a repeated enqueue of the same round a no-op. */
export function installJobId(jobId: string, round: number): string {
  return `${jobId}-r${round}`;
}

export function targetJobId(jobId: string, round: number, targetId: string): string {
  return `${jobId}-r${round}-${targetId.replace('/', '--')}`;
}

export function notifyJobId(jobId: string, round: number, status: string): string {
  return `${jobId}-r${round}-${status}`;
}

/** Queues and the flow producer for one prefix, opened once per process. */
export class FleetQueues {
  readonly flow: FlowProducer;
  readonly install: Queue;
  readonly installTarget: Queue;
  readonly notify: Queue;

  constructor(
    readonly connection: ConnectionOptions,
    private readonly options: FlowOptions,
  ) {
    const prefix = keyPrefix(options.prefix);
    this.flow = new FlowProducer({ connection, prefix });
    this.install = new Queue(QueueName.Install, { connection, prefix });
    this.installTarget = new Queue(QueueName.InstallTarget, { connection, prefix });
    this.notify = new Queue(QueueName.Notify, { connection, prefix });
    // Without a listener, a Redis outage prints raw stack traces outside the JSON logs.
    const onError = options.onError ?? (() => undefined);
    this.flow.on('error', onError);
    for (const queue of [this.install, this.installTarget, this.notify]) queue.on('error', onError);
  }

  /**
   * Adds one parent `install` with a child per target. A child that fails for
   * good must not leave the parent waiting: `ignoreDependencyOnFailure` lets the
   * parent run and read every target's result from the store.
   */
  async addInstallFlow(jobId: string, round: number, targets: TargetRef[]): Promise<void> {
    const childOpts: JobsOptions = {
      attempts: this.options.attempts,
      backoff: { type: 'exponential', delay: this.options.backoffMs, jitter: 0.5 },
      ignoreDependencyOnFailure: true,
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    };
    await this.flow.add({
      name: JobName.Install,
      queueName: QueueName.Install,
      data: { jobId, round } satisfies InstallPayload,
      opts: {
        jobId: installJobId(jobId, round),
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
      children: targets.map((t) => ({
        name: JobName.InstallTarget,
        queueName: QueueName.InstallTarget,
        data: { jobId, round, targetId: t.id } satisfies InstallTargetPayload,
        opts: { ...childOpts, jobId: targetJobId(jobId, round, t.id) },
      })),
    });
  }

  /** Enqueues the completion report once per job, round and status. */
  async addNotify(jobId: string, round: number, status: string): Promise<void> {
    await this.notify.add(JobName.Notify, { jobId, round, status } satisfies NotifyPayload, {
      jobId: notifyJobId(jobId, round, status),
      attempts: 8,
      backoff: { type: 'exponential', delay: 2000, jitter: 0.5 },
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
  }

  /** Waiting, active, delayed and failed counts per queue (for readiness and metrics). */
  async counts(): Promise<Record<QueueName, Record<string, number>>> {
    const states = ['waiting', 'active', 'delayed', 'failed', 'waiting-children'] as const;
    const [install, installTarget, notify] = await Promise.all([
      this.install.getJobCounts(...states),
      this.installTarget.getJobCounts(...states),
      this.notify.getJobCounts(...states),
    ]);
    return { install, 'install-target': installTarget, notify };
  }

  async close(): Promise<void> {
    await Promise.allSettled([
      this.flow.close(),
      this.install.close(),
      this.installTarget.close(),
      this.notify.close(),
    ]);
  }
}

export {
  SIGNATURE_HEADER,
  SIGNATURE_PATTERN,
  SIGNATURE_TOLERANCE_S,
  signBody,
  verifySignature,
} from './signature.js';
export type { SignatureCheck } from './signature.js';
export { openCore } from './core.js';
export type { FleetCore } from './core.js';
