import type { FleetConfig } from '@certfleet/config';
import { JobName, QueueName, SIGNATURE_HEADER, keyPrefix, parsePayload, signBody } from '@certfleet/jobs';
import type { FleetStore, Job } from '@certfleet/store';
import { UnrecoverableError, Worker, type ConnectionOptions, type Job as BullJob } from 'bullmq';
import type { Logger } from 'pino';

export interface NotifierDeps {
  config: FleetConfig;
  store: FleetStore;
  connection: ConnectionOptions;
  logger: Logger;
  /** Per-request timeout for sinks. */
  timeoutMs?: number;
}

/** One destination of a completion report. */
export interface Sink {
  /** Stable key: the same sink is never delivered twice for one round and status. */
  key: string;
  kind: 'webhook';
  url: string;
  secret: string | undefined;
}

/** The body of the outbound webhook (API.md). */
export function reportBody(job: Job, round: number): string {
  return JSON.stringify({ event: 'job.finished', round, job });
}

/** The job's own sinks plus the configured ones, each once. */
export function sinksFor(job: Job, config: FleetConfig): Sink[] {
  const sinks: Sink[] = [];
  const add = (url: string | undefined): void => {
    if (url && !sinks.some((s) => s.url === url)) {
      sinks.push({ key: `webhook:${url}`, kind: 'webhook', url, secret: config.notifyWebhookSecret });
    }
  };
  add(job.notify.webhookUrl);
  add(config.notifyWebhookUrl);
  return sinks;
}

class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
    Object.setPrototypeOf(this, DeliveryError.prototype);
  }
}

async function postWebhook(
  sink: Sink,
  body: string,
  idempotencyKey: string,
  timeoutMs: number,
): Promise<number> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'idempotency-key': idempotencyKey,
    'user-agent': 'certfleet-notifier',
  };
  if (sink.secret) headers[SIGNATURE_HEADER] = signBody(sink.secret, body);
  let response: Response;
  try {
    response = await fetch(sink.url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new DeliveryError(`cannot reach ${new URL(sink.url).host}: ${cause}`, false);
  }
  await response.arrayBuffer().catch(() => undefined);
  if (response.status >= 200 && response.status < 300) return response.status;
  // 4xx is the receiver refusing this report: retrying sends the same thing again.
  const permanent =
    response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
  throw new DeliveryError(`${new URL(sink.url).host} answered ${response.status}`, permanent);
}

/** Delivers one report to every sink not yet served; throws to retry those that failed transiently. */
export async function processNotify(deps: NotifierDeps, bullJob: BullJob): Promise<{ delivered: string[] }> {
  const { jobId, round, status } = parsePayload(JobName.Notify, bullJob.data);
  const job = await deps.store.getJob(jobId);
  if (!job) throw new UnrecoverableError(`job ${jobId} is gone`);
  const body = reportBody(job, round);
  const idempotencyKey = `${jobId}:${round}:${status}`;
  const delivered: string[] = [];
  const transient: string[] = [];
  for (const sink of sinksFor(job, deps.config)) {
    const deliveryKey = `${round}:${status}:${sink.key}`;
    if (await deps.store.isDelivered(jobId, deliveryKey)) continue;
    try {
      const code = await postWebhook(sink, body, idempotencyKey, deps.timeoutMs ?? 10_000);
      await deps.store.markDelivered(jobId, deliveryKey);
      await deps.store.audit({
        actor: 'notifier',
        action: 'notify.delivered',
        jobId,
        detail: { sink: sink.kind, host: new URL(sink.url).host, round, status, httpStatus: code },
      });
      delivered.push(sink.key);
    } catch (err) {
      const failure = err instanceof DeliveryError ? err : new DeliveryError(String(err), false);
      const attemptsLeft = bullJob.attemptsMade + 1 < (bullJob.opts.attempts ?? 1);
      await deps.store.audit({
        actor: 'notifier',
        action: failure.permanent ? 'notify.refused' : 'notify.failed',
        jobId,
        detail: {
          sink: sink.kind,
          host: new URL(sink.url).host,
          round,
          status,
          reason: failure.message,
          attemptsLeft,
        },
      });
      deps.logger.warn({ jobId, sink: sink.kind, permanent: failure.permanent }, failure.message);
      if (failure.permanent) await deps.store.markDelivered(jobId, deliveryKey);
      else transient.push(failure.message);
    }
  }
  if (transient.length > 0) throw new Error(`delivery will be retried: ${transient.join('; ')}`);
  return { delivered };
}

export interface FleetNotifier {
  worker: Worker;
  close(): Promise<void>;
}

export function createNotifier(deps: NotifierDeps): FleetNotifier {
  const worker = new Worker(QueueName.Notify, (job) => processNotify(deps, job), {
    connection: deps.connection,
    prefix: keyPrefix(deps.config.prefix),
    concurrency: 8,
    lockDuration: deps.config.lockDurationMs,
  });
  worker.on('error', (err) => deps.logger.error({ err: err.message }, 'notifier error'));
  return {
    worker,
    close: () => worker.close(),
  };
}
