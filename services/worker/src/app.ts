import { readFile } from 'node:fs/promises';
import type { FleetConfig } from '@certfleet/config';
import { findEnvironment, type Inventory } from '@certfleet/inventory';
import { JobName, QueueName, keyPrefix, parsePayload, type FleetQueues } from '@certfleet/jobs';
import { installOnHost, SessionPool, TargetError, type InstallResult } from '@certfleet/ssh';
import type { FleetStore, JobRecord, JobStatus, TargetErrorInfo, TargetRecord } from '@certfleet/store';
import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { HostLanes } from './host-lanes.js';
import { HostLocks } from './host-lock.js';

export interface WorkerDeps {
  config: FleetConfig;
  store: FleetStore;
  queues: FleetQueues;
  connection: ConnectionOptions;
  inventory: () => Inventory;
  logger: Logger;
}

interface Failure extends TargetErrorInfo {
  permanent: boolean;
}

/** A failure certfleet itself detects before reaching a host; always permanent. */
class TargetSetupError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TargetSetupError';
    Object.setPrototypeOf(this, TargetSetupError.prototype);
  }
}

function classify(err: unknown): Failure {
  if (err instanceof TargetError) return { code: err.code, message: err.message, permanent: err.permanent };
  if (err instanceof TargetSetupError) return { code: err.code, message: err.message, permanent: true };
  return {
    code: 'remote_command_failed',
    message: `unexpected error: ${err instanceof Error ? err.message : String(err)}`,
    permanent: false,
  };
}

const now = (): string => new Date().toISOString();

/** What a worker process shares between its targets. */
export interface TargetDeps extends WorkerDeps {
  /** One install per host across every worker process. */
  locks: HostLocks;
  /** One install per host inside this process, in arrival order. */
  lanes: HostLanes;
  /** Linux connections kept open for the next target on the same host. */
  pool: SessionPool;
}

/** Installs one target: the child job of the flow. */
export async function processTarget(
  deps: TargetDeps,
  job: Job,
  token?: string,
): Promise<InstallResult | { skipped: true }> {
  const { jobId, round, targetId } = parsePayload(JobName.InstallTarget, job.data);
  const where = await deps.store.getTarget(jobId, targetId);
  if (!where) throw new UnrecoverableError(`job ${jobId} or its target ${targetId} is gone`);
  // This process's targets for one host queue here, in order, on one pooled connection.
  return deps.lanes.run(`${where.host}:${where.port}`, async () => {
    const [record, current] = await Promise.all([
      deps.store.getRecord(jobId),
      deps.store.getTarget(jobId, targetId),
    ]);
    if (!record || !current) throw new UnrecoverableError(`job ${jobId} or its target ${targetId} is gone`);
    // A repeated delivery (a worker died after writing the result) changes nothing.
    if (current.status === 'installed' && current.round === round) return { skipped: true };

    const lock = await deps.locks.tryAcquire(current.host, current.port);
    if (!lock) {
      // Another worker process is on this host: wait our turn without spending an attempt.
      await job.moveToDelayed(Date.now() + 250 + Math.floor(Math.random() * 750), token);
      throw new DelayedError();
    }
    try {
      return await installTarget(deps, job, record, current, round);
    } finally {
      await lock.release();
    }
  });
}

async function installTarget(
  deps: TargetDeps,
  job: Job,
  record: JobRecord,
  current: TargetRecord,
  round: number,
): Promise<InstallResult> {
  const jobId = record.id;
  const targetId = current.id;

  const attempt = job.attemptsMade + 1;
  let target: TargetRecord = {
    ...current,
    status: 'running',
    attempts: current.round === round ? current.attempts + 1 : 1,
    round,
    error: null,
    finishedAt: null,
  };
  await Promise.all([
    deps.store.transition(jobId, ['queued'], 'running'),
    deps.store.putTarget(jobId, target),
  ]);
  const log = deps.logger.child({ jobId, targetId, attempt });
  const started = process.hrtime.bigint();

  try {
    const env = findEnvironment(deps.inventory(), target.environment);
    const fe = env?.frontEnds.find((f) => f.name === target.frontEnd);
    if (!env || !fe || fe.host !== target.host || fe.port !== target.port) {
      throw new TargetSetupError(
        'inventory_changed',
        `${targetId} is no longer ${target.host}:${target.port} in the inventory; submit the job again`,
      );
    }
    const secret = await deps.store.openSecret(jobId);
    if (!secret) {
      throw new TargetSetupError(
        'secret_expired',
        `the sealed certificate of job ${jobId} is gone; submit it again`,
      );
    }
    let privateKey: Buffer;
    try {
      privateKey = await readFile(fe.privateKeyPath);
    } catch {
      throw new TargetSetupError(
        'auth_failed',
        `cannot read the SSH private key ${fe.privateKeyPath}; check privateKeyPath in the inventory`,
      );
    }
    const result = await installOnHost(
      {
        host: fe.host,
        port: fe.port,
        username: fe.username,
        privateKey,
        hostKey: fe.hostKey,
        readyTimeoutMs: deps.config.sshConnectTimeoutMs,
        commandTimeoutMs: deps.config.sshStepTimeoutMs,
      },
      env.platform,
      {
        installDir: env.installDir,
        name: record.name,
        pfx: secret.pfx,
        caCertificates: secret.caChain,
        ...(env.owner ? { owner: env.owner } : {}),
        ...(env.windows?.keyReaders ? { keyReaders: env.windows.keyReaders } : {}),
        ...(env.windows?.keyProvider ? { keyProvider: env.windows.keyProvider } : {}),
        password: secret.password,
      },
      env.platform === 'linux' ? deps.pool : undefined,
    );
    if (result.sha256 !== record.pfxSha256) {
      throw new TargetError(
        'hash_mismatch',
        `${targetId} holds a file whose SHA-256 differs from the job's; the job retries it`,
      );
    }
    target = {
      ...target,
      status: 'installed',
      path: result.path,
      sha256: result.sha256,
      unchanged: result.unchanged,
      error: null,
      finishedAt: now(),
      ...(result.thumbprint ? { thumbprint: result.thumbprint } : {}),
      ...(result.store ? { store: result.store } : {}),
      ...(result.keyProvider ? { keyProvider: result.keyProvider } : {}),
      ...(result.kept ? { kept: result.kept } : {}),
    };
    await Promise.all([
      deps.store.putTarget(jobId, target),
      deps.store.observeInstallSeconds(Number(process.hrtime.bigint() - started) / 1e9),
      deps.store.audit({
        actor: 'worker',
        action: 'target.installed',
        jobId,
        detail: {
          target: targetId,
          path: result.path,
          unchanged: result.unchanged,
          attempt,
          ...(result.thumbprint ? { thumbprint: result.thumbprint, store: result.store } : {}),
        },
      }),
    ]);
    log.info({ path: result.path, unchanged: result.unchanged }, 'target installed');
    return result;
  } catch (err) {
    const failure = classify(err);
    const final = failure.permanent || attempt >= (job.opts.attempts ?? 1);
    target = {
      ...target,
      status: final ? 'failed' : 'pending',
      error: { code: failure.code, message: failure.message },
      finishedAt: final ? now() : null,
    };
    await deps.store.putTarget(jobId, target);
    log.warn({ code: failure.code, final }, failure.message);
    if (final) {
      await deps.store.countMetric(`failures:${failure.code}`);
      await deps.store.audit({
        actor: 'worker',
        action: 'target.failed',
        jobId,
        detail: { target: targetId, code: failure.code, message: failure.message, attempt },
      });
    }
    if (failure.permanent) throw new UnrecoverableError(`${failure.code}: ${failure.message}`);
    throw new Error(`${failure.code}: ${failure.message}`, { cause: err });
  }
}

/** Decides a job's outcome from its targets. */
export function finalStatus(targets: readonly TargetRecord[]): JobStatus {
  const installed = targets.filter((t) => t.status === 'installed').length;
  if (installed === targets.length) return 'completed';
  return installed === 0 ? 'failed' : 'partially_failed';
}

/** The parent job: runs once every child is done, records the outcome and enqueues the report. */
export async function processInstall(deps: WorkerDeps, job: Job): Promise<{ status: JobStatus }> {
  const { jobId, round } = parsePayload(JobName.Install, job.data);
  const record = await deps.store.getRecord(jobId);
  if (!record) throw new UnrecoverableError(`job ${jobId} is gone`);
  const targets = await deps.store.getTargets(jobId);
  for (const t of targets) {
    // A child that failed outside its own handler (for instance stalled too often) left no result.
    if (t.status === 'pending' || t.status === 'running') {
      const lost: TargetRecord = {
        ...t,
        status: 'failed',
        error: t.error ?? {
          code: 'interrupted',
          message: 'the worker handling this host stopped too often; retry the job',
        },
        finishedAt: now(),
      };
      await deps.store.putTarget(jobId, lost);
      Object.assign(t, lost);
    }
  }
  const status = finalStatus(targets);
  const moved = await deps.store.transition(jobId, ['queued', 'running'], status);
  if (!moved.ok && moved.job?.status !== status) {
    deps.logger.warn({ jobId, status: moved.job?.status }, 'job changed state while finishing');
  }
  for (const envName of record.environments) {
    const installed = targets.find((t) => t.environment === envName && t.status === 'installed');
    if (!installed) continue;
    await deps.store.putEnvCertificate(envName, {
      name: record.name,
      fingerprintSha256: record.certificate.fingerprintSha256,
      subject: record.certificate.subject,
      notAfter: record.certificate.notAfter,
      path: record.paths[envName] ?? installed.path,
      jobId,
      installedAt: installed.finishedAt ?? now(),
    });
  }
  if (status === 'completed') await deps.store.deleteSecret(jobId);
  else await deps.store.expireSecret(jobId, deps.config.secretTtlMs);
  await deps.queues.add(JobName.Notify, { jobId, round, status });
  if (moved.ok) {
    await deps.store.countMetric(`jobs:${status}`);
    await deps.store.audit({ actor: 'worker', action: `job.${status}`, jobId, detail: { round } });
  }
  deps.logger.info({ jobId, round, status }, 'job finished');
  return { status };
}

export interface FleetWorkers {
  install: Worker;
  installTarget: Worker;
  /** The Linux connection pool (its `stats` show handshakes saved). */
  pool: SessionPool;
  /** Stops taking work and waits for running targets up to the deadline; what is left is handed back. */
  close(deadlineMs?: number): Promise<void>;
}

/** Starts the install and install-target processors. */
export function createWorkers(deps: WorkerDeps): FleetWorkers {
  const common = {
    connection: deps.connection,
    prefix: keyPrefix(deps.config.prefix),
    lockDuration: deps.config.lockDurationMs,
    stalledInterval: Math.max(1000, Math.floor(deps.config.lockDurationMs / 2)),
    maxStalledCount: 5,
  };
  const targetDeps: TargetDeps = {
    ...deps,
    locks: new HostLocks(deps.store.redis, deps.config.prefix, deps.config.lockDurationMs),
    lanes: new HostLanes(),
    pool: new SessionPool(),
  };
  const installTarget = new Worker(
    QueueName.InstallTarget,
    (job, token) => processTarget(targetDeps, job, token),
    {
      ...common,
      concurrency: deps.config.concurrency,
    },
  );
  const install = new Worker(QueueName.Install, (job) => processInstall(deps, job), {
    ...common,
    concurrency: 4,
  });
  for (const w of [install, installTarget]) {
    w.on('error', (err) => deps.logger.error({ err: err.message }, 'worker error'));
  }
  return {
    install,
    installTarget,
    pool: targetDeps.pool,
    async close(deadlineMs = deps.config.shutdownTimeoutMs) {
      const graceful = Promise.all([installTarget.close(), install.close()]);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), deadlineMs);
      });
      const outcome = await Promise.race([graceful.then(() => 'done' as const), deadline]);
      clearTimeout(timer);
      if (outcome === 'deadline') {
        // Targets still running keep their BullMQ lock until it expires; then another worker takes them over.
        deps.logger.warn({ deadlineMs }, 'shutdown deadline passed; running targets are handed back');
      }
      // idle connections now; one still in use is closed when its target hands it back
      await targetDeps.pool.close();
    },
  };
}
