import { CodedError } from '@certfleet/contract';
import { keyPrefix } from '@certfleet/store';
import {
  DelayedError,
  UnrecoverableError,
  Worker,
  type ConnectionOptions,
  type Processor,
  type WorkerOptions,
} from 'bullmq';
import { JOBS, type JobName, type PayloadOf } from './catalog.js';
import { parsePayload } from './payload.js';

/** What a handler gets for one run of a job: its checked payload and where it is in its attempts. */
export interface JobRun<N extends JobName> {
  payload: PayloadOf<N>;
  /** 1 for the first run. */
  attempt: number;
  maxAttempts: number;
  /** Puts the job back until `untilMs` without spending an attempt; never returns. */
  postpone(untilMs: number): Promise<never>;
}

/** Handles one job name; what it returns is kept as the job's result. */
export type JobHandler<N extends JobName> = (run: JobRun<N>) => Promise<unknown>;

/** One handler per job name a process serves: a missing one does not compile. */
export type JobHandlers<N extends JobName> = { readonly [K in N]: JobHandler<K> };

/** BullMQ settings of one served job name (connection, prefix and autorun are set here). */
export type JobWorkerSettings = Omit<WorkerOptions, 'connection' | 'prefix' | 'autorun'>;

export interface JobWorkersOptions<N extends JobName> {
  connection: ConnectionOptions;
  /** certfleet's FLEET_PREFIX (the hash tag is added here). */
  prefix: string;
  settings: { readonly [K in N]: JobWorkerSettings };
  /** Told of every worker error: Redis trouble, a failed lock renewal, a worker that stopped. */
  onError: (err: Error) => void;
}

/** A process was asked to serve a job name it has no handler for; it refuses to start. */
export class MissingHandlerError extends CodedError {
  readonly code = 'missing_handler';
  constructor(readonly jobName: string) {
    super(`no handler for job '${jobName}'; this build cannot serve its queue`);
  }
}

function processor<N extends JobName>(name: N, handler: JobHandler<N>): Processor {
  return (job, token) => {
    let payload: PayloadOf<N>;
    try {
      payload = parsePayload(name, job.data);
    } catch (err) {
      // a malformed payload stays malformed: no retry can mend it
      throw new UnrecoverableError((err as Error).message);
    }
    return handler({
      payload,
      attempt: job.attemptsMade + 1,
      maxAttempts: job.opts.attempts ?? 1,
      async postpone(untilMs) {
        await job.moveToDelayed(untilMs, token);
        throw new DelayedError();
      },
    });
  };
}

/**
 * Builds one BullMQ worker per served job name from its handler, not yet running
 * (`autorun: false`; `startJobWorkers` runs them). Refuses, before any worker
 * exists, when a served name has no handler.
 */
export function createJobWorkers<const N extends JobName>(
  served: readonly N[],
  handlers: NoInfer<JobHandlers<N>>,
  options: JobWorkersOptions<NoInfer<N>>,
): { readonly [K in N]: Worker } {
  for (const name of served) {
    if (typeof (handlers as Partial<JobHandlers<N>>)[name] !== 'function')
      throw new MissingHandlerError(name);
  }
  const prefix = keyPrefix(options.prefix);
  return Object.fromEntries(
    served.map((name) => {
      const worker = new Worker(JOBS[name].queue, processor(name, handlers[name]), {
        ...options.settings[name],
        connection: options.connection,
        prefix,
        autorun: false,
      });
      worker.on('error', options.onError);
      return [name, worker];
    }),
  ) as { readonly [K in N]: Worker };
}

/** Starts workers built by `createJobWorkers`; a worker that stops on an error tells its `onError`. */
export function startJobWorkers(workers: Iterable<Worker>): void {
  for (const worker of workers) {
    worker
      .run()
      .catch((err: unknown) => worker.emit('error', err instanceof Error ? err : new Error(String(err))));
  }
}
