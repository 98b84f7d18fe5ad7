import { keyPrefix } from '@certfleet/store';
import { FlowProducer, Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { JOBS, JobName, type JobEntry, type PayloadOf, type RetryPolicy } from './catalog.js';

export interface TargetRef {
  id: string;
}

export interface FleetQueuesOptions {
  prefix: string;
  /** Per job name, what replaces the catalog's retry policy (FLEET_RETRY_* for install-target). */
  retry?: { [N in JobName]?: Partial<RetryPolicy> };
  /** Where connection errors of the queues go (e.g. the logger) instead of stderr. */
  onError?: (err: Error) => void;
}

const NAMES = Object.values(JobName);

/** Queues and the flow producer for one prefix, opened once per process; the only way jobs are added. */
export class FleetQueues {
  readonly flow: FlowProducer;
  private readonly queues: Record<JobName, Queue>;

  constructor(
    readonly connection: ConnectionOptions,
    private readonly options: FleetQueuesOptions,
  ) {
    const prefix = keyPrefix(options.prefix);
    this.flow = new FlowProducer({ connection, prefix });
    this.queues = Object.fromEntries(
      NAMES.map((name) => [name, new Queue(JOBS[name].queue, { connection, prefix })]),
    ) as Record<JobName, Queue>;
    // Without a listener, a Redis outage prints raw stack traces outside the JSON logs.
    const onError = options.onError ?? (() => undefined);
    this.flow.on('error', onError);
    for (const queue of Object.values(this.queues)) queue.on('error', onError);
  }

  get install(): Queue {
    return this.queues[JobName.Install];
  }

  get installTarget(): Queue {
    return this.queues[JobName.InstallTarget];
  }

  get notify(): Queue {
    return this.queues[JobName.Notify];
  }

  /** The job's retry policy: the catalog's, with this process's overrides on top. */
  private retryPolicy(name: JobName): RetryPolicy {
    return { ...JOBS[name].retry, ...this.options.retry?.[name] };
  }

  /** BullMQ options of one job, all read from its catalog entry. */
  private jobOptions<N extends JobName>(name: N, payload: PayloadOf<N>): JobsOptions {
    const entry = JOBS[name] as JobEntry<(typeof JOBS)[N]['payload']>;
    const retry = this.retryPolicy(name);
    return {
      jobId: entry.id(payload),
      attempts: retry.attempts,
      backoff: {
        type: 'exponential',
        delay: retry.backoffMs,
        ...(retry.jitter === undefined ? {} : { jitter: retry.jitter }),
      },
      removeOnComplete: { age: entry.retentionS },
      removeOnFail: { age: entry.retentionS },
    };
  }

  /** Adds one job; a repeated add of the same payload is a no-op (its id is deterministic). */
  async add<N extends JobName>(name: N, payload: PayloadOf<N>): Promise<void> {
    await this.queues[name].add(name, payload, this.jobOptions(name, payload));
  }

  /** Adds one job that runs `delayMs` from now (maintenance windows: a scheduled job's wake-up). */
  async addDelayed<N extends JobName>(name: N, payload: PayloadOf<N>, delayMs: number): Promise<void> {
    await this.queues[name].add(name, payload, {
      ...this.jobOptions(name, payload),
      delay: Math.max(0, Math.ceil(delayMs)),
    });
  }

  /**
   * Adds one parent `install` with a child per target. A child that fails for
   * good must not leave the parent waiting: `ignoreDependencyOnFailure` lets the
   * parent run and read every target's result from the store.
   */
  async addInstallFlow(jobId: string, round: number, targets: TargetRef[]): Promise<void> {
    const parent: PayloadOf<'install'> = { jobId, round };
    await this.flow.add({
      name: JobName.Install,
      queueName: JOBS[JobName.Install].queue,
      data: parent,
      opts: this.jobOptions(JobName.Install, parent),
      children: targets.map((t) => {
        const child: PayloadOf<'install-target'> = { jobId, round, targetId: t.id };
        return {
          name: JobName.InstallTarget,
          queueName: JOBS[JobName.InstallTarget].queue,
          data: child,
          opts: { ...this.jobOptions(JobName.InstallTarget, child), ignoreDependencyOnFailure: true },
        };
      }),
    });
  }

  // Repeatable jobs (issue 16: the drift check, reconcile and the expiry watch)

  get expiryWatch(): Queue {
    return this.queues[JobName.ExpiryWatch];
  }

  /**
   * Runs `name` with `payload` on `repeat` through a BullMQ job scheduler: creating it again,
   * from any process, updates it in place (the scheduler id keeps the schedule one); runs take
   * the catalog's retry and retention, and the scheduler's own ids (the catalog's id would make
   * every run the same job).
   */
  private async upsertSchedule<N extends JobName>(
    name: N,
    schedulerId: string,
    repeat: { every: number } | { pattern: string; tz: string },
    payload: PayloadOf<N>,
  ): Promise<void> {
    const { jobId: _deterministic, ...opts } = this.jobOptions(name, payload);
    await this.queues[name].upsertJobScheduler(schedulerId, repeat, { name, data: payload, opts });
  }

  /** Runs `name` with `payload` every `everyMs`. */
  async schedule<N extends JobName>(
    name: N,
    schedulerId: string,
    everyMs: number,
    payload: PayloadOf<N>,
  ): Promise<void> {
    await this.upsertSchedule(name, schedulerId, { every: everyMs }, payload);
  }

  /** Runs `name` every day at `at` (UTC); a new time replaces the old one. */
  async scheduleDaily<N extends JobName>(
    name: N,
    schedulerId: string,
    at: { hour: number; minute: number },
    payload: PayloadOf<N>,
  ): Promise<void> {
    await this.upsertSchedule(
      name,
      schedulerId,
      { pattern: `${at.minute} ${at.hour} * * *`, tz: 'UTC' },
      payload,
    );
  }

  /** The ids of the schedulers on a job name's queue. */
  async schedulerIds(name: JobName): Promise<string[]> {
    const schedulers = await this.queues[name].getJobSchedulers();
    return schedulers.map((s) => s.key);
  }

  /** Stops a schedule; runs already queued stay. */
  async unschedule(name: JobName, schedulerId: string): Promise<void> {
    await this.queues[name].removeJobScheduler(schedulerId);
  }

  /** Runs `reconcile` every `everyMs`: one schedule for the whole deployment, however many workers set it. */
  async scheduleReconcile(everyMs: number): Promise<void> {
    await this.schedule(JobName.Reconcile, 'reconcile', everyMs, {
      trigger: 'schedule',
      requestedAt: 'every',
    });
  }

  /** Waiting, active, delayed and failed counts per queue (for readiness and metrics). */
  async counts(): Promise<Record<JobName, Record<string, number>>> {
    const states = ['waiting', 'active', 'delayed', 'failed', 'waiting-children'] as const;
    const counts = await Promise.all(NAMES.map((name) => this.queues[name].getJobCounts(...states)));
    return Object.fromEntries(NAMES.map((name, i) => [name, counts[i]!])) as Record<
      JobName,
      Record<string, number>
    >;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.flow.close(), ...Object.values(this.queues).map((q) => q.close())]);
  }
}
