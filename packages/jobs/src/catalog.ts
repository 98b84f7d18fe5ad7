/**
 * The job catalog: one entry per job name with its queue, payload schema, job id,
 * retry policy and retention. Everything that enqueues or serves a job reads it here.
 * Payloads carry ids only: key material stays sealed in the store.
 */
import {
  CERTIFICATE_EXPIRING,
  ENV_PATTERN,
  FINAL_JOB_STATUSES,
  JOB_ID_PATTERN,
  NAME_PATTERN,
  StringEnum,
  TARGET_ID_PATTERN,
} from '@certfleet/contract';
import { Type, type Static, type TSchema } from 'typebox';

/** Every job certfleet runs. */
export const JobName = {
  Install: 'install',
  InstallTarget: 'install-target',
  Notify: 'notify',
  // Drift check (issue 16)
  DriftCheck: 'drift-check',
  // Reconcile (README: Keeping environments right).
  Reconcile: 'reconcile',
  // expiry watch (README: Keeping environments right)
  ExpiryWatch: 'expiry-watch',
  // Help desks (README: Help desks)
  HelpdeskIntake: 'helpdesk-intake',
  // Maintenance windows (README: Maintenance windows)
  WindowStart: 'window-start',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

/** One queue per job name. */
export const QueueName = JobName;
export type QueueName = JobName;

const JobId = Type.String({ pattern: JOB_ID_PATTERN });
const Round = Type.Integer({ minimum: 1 });

export const InstallPayload = Type.Object({ jobId: JobId, round: Round });
export const InstallTargetPayload = Type.Object({
  jobId: JobId,
  round: Round,
  /** `<environment>/<front-end>` */
  targetId: Type.String({ pattern: TARGET_ID_PATTERN }),
});
/** A completion report is due once per job, round and final status. */
export const JobFinishedNotice = Type.Object({
  jobId: JobId,
  round: Round,
  status: StringEnum(FINAL_JOB_STATUSES),
});

// Reconcile (README: Keeping environments right).
/** Compare every environment's front-ends with its certificates: on a schedule, after a reload, on demand. */
export const ReconcilePayload = Type.Object({
  trigger: StringEnum(['schedule', 'reload', 'manual'] as const),
  /** When it was asked for: two asks are two runs. */
  requestedAt: Type.String(),
});
export type ReconcilePayload = Static<typeof ReconcilePayload>;

/** Id of one asked-for reconcile (the scheduled ones get theirs from the job scheduler). */
export function reconcileJobId({ trigger, requestedAt }: ReconcilePayload): string {
  return `reconcile-${trigger}-${requestedAt.replace(/[^0-9A-Za-z]/g, '')}`;
}

// --- expiry watch -------------------------------------------------------------------

/**
 * An expiry warning for one certificate of one environment and one threshold; the
 * notifier reads the rest (path, notAfter, ticket, sinks) from the registry entry and
 * the job that installed it (`jobId`).
 */
export const ExpiryNotice = Type.Object({
  event: Type.Literal(CERTIFICATE_EXPIRING),
  jobId: JobId,
  environment: Type.String({ pattern: ENV_PATTERN }),
  name: Type.String({ pattern: NAME_PATTERN }),
  fingerprintSha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  threshold: Type.Integer({ minimum: 1 }),
  /** Days left as the watch counted them on its clock. */
  daysLeft: Type.Integer({ minimum: 1 }),
});
export type ExpiryNotice = Static<typeof ExpiryNotice>;

/**
 * One run of the expiry watch: the daily scheduler's (no fields) or one asked for by
 * `POST /v1/expiry/check` (`requestId`, and `at`, the API's clock when it was asked).
 */
export const ExpiryWatchPayload = Type.Object({
  requestId: Type.Optional(Type.String({ pattern: JOB_ID_PATTERN })),
  /** The time the watch counts days from; the worker's clock when absent. */
  at: Type.Optional(Type.String({ format: 'date-time' })),
});
export type ExpiryWatchPayload = Static<typeof ExpiryWatchPayload>;

/** Deterministic id of one expiry warning: once per environment, certificate and threshold. */
function expiryNoticeId(n: ExpiryNotice): string {
  return `expiry-${n.environment}-${n.fingerprintSha256.slice(0, 32)}-t${n.threshold}`;
}

/** Deterministic id of one asked-for run of the watch (the scheduler's runs get BullMQ's own). */
export function expiryWatchJobId({ requestId }: ExpiryWatchPayload): string {
  return `expiry-watch-${requestId ?? 'now'}`;
}

// ------------------------------------------------------------------------------------

/** A report: a job's completion report (jobs queued by earlier releases included) or an expiry warning. */
export const NotifyPayload = Type.Union([JobFinishedNotice, ExpiryNotice]);

export type InstallPayload = Static<typeof InstallPayload>;
export type InstallTargetPayload = Static<typeof InstallTargetPayload>;
export type NotifyPayload = Static<typeof NotifyPayload>;

// Drift check (issue 16)
/**
 * One drift check of one environment. `checkId` names a check the API has begun (on
 * demand); a scheduled run carries none and begins its own (a scheduler's payload is
 * the same for every run).
 */
export const DriftCheckPayload = Type.Object({
  environment: Type.String({ pattern: ENV_PATTERN }),
  checkId: Type.Optional(Type.String({ pattern: JOB_ID_PATTERN })),
});
export type DriftCheckPayload = Static<typeof DriftCheckPayload>;

/** Deterministic id of an on-demand check's job (a scheduler names its runs itself). */
export function driftCheckJobId({ environment, checkId }: DriftCheckPayload): string {
  return `${environment}--${checkId ?? 'scheduled'}`;
}

/** The scheduler that runs an environment's drift check every FLEET_DRIFT_INTERVAL. */
export function driftSchedulerId(environment: string): string {
  return `drift-check--${environment}`;
}

// --- help desks (README: Help desks) ------------------------------------------------

/**
 * A verified help desk webhook: read the ticket back and take its attachments in.
 * Ids only: what the ticket says is read through the desk's API, never from the webhook.
 */
export const HelpdeskIntakePayload = Type.Object({
  system: Type.String({ pattern: '^[a-z]{1,32}$' }),
  instance: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
  deliveryId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,100}$' }),
  ticketId: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
  /** The desk sent the PFX password in its signed webhook; it waits sealed in the store, never here. */
  sealedPassword: Type.Optional(Type.Literal(true)),
});
export type HelpdeskIntakePayload = Static<typeof HelpdeskIntakePayload>;

/** Deterministic id of one delivery's intake: the same delivery twice is one job. */
export function helpdeskIntakeJobId({ system, instance, deliveryId }: HelpdeskIntakePayload): string {
  return `intake-${system}-${instance}-${deliveryId}`;
}

// --- maintenance windows --------------------------------------------------------------

/**
 * The wake-up of a scheduled job: a delayed job that starts its round when its window is
 * open, else queues the next wake-up (`check` + 1). Every wake-up of a job has its own id.
 */
export const WindowStartPayload = Type.Object({
  jobId: JobId,
  round: Round,
  check: Type.Integer({ minimum: 1 }),
});
export type WindowStartPayload = Static<typeof WindowStartPayload>;

/** Deterministic id of one wake-up: a repeated enqueue (two workers, a retry) is one job. */
export function windowStartJobId({ jobId, round, check }: WindowStartPayload): string {
  return `window-${jobId}-r${round}-c${check}`;
}

// ------------------------------------------------------------------------------------

/** How often a job runs and how long it waits between runs. */
export interface RetryPolicy {
  /** Runs in all, the first included. */
  attempts: number;
  /** Base delay of the exponential backoff. */
  backoffMs: number;
  /** Share of the delay drawn at random, so retries of many jobs spread out. */
  jitter?: number;
}

/** One job's definition. */
export interface JobEntry<S extends TSchema> {
  queue: QueueName;
  payload: S;
  /** Deterministic ids make a repeated enqueue of the same work a no-op. */
  id(payload: Static<S>): string;
  retry: RetryPolicy;
  /** Seconds a finished job (completed or failed) stays visible on its queue. */
  retentionS: number;
}

const WEEK_S = 7 * 24 * 3600;

/** Deterministic id of a round's parent job. */
export function installJobId({ jobId, round }: InstallPayload): string {
  return `${jobId}-r${round}`;
}

/** Deterministic id of one target's job in a round. */
export function targetJobId({ jobId, round, targetId }: InstallTargetPayload): string {
  return `${jobId}-r${round}-${targetId.replace('/', '--')}`;
}

/** Deterministic id of one report: once per job, round and status (expiry: per threshold). */
export function notifyJobId(payload: NotifyPayload): string {
  if ('event' in payload) return expiryNoticeId(payload);
  return `${payload.jobId}-r${payload.round}-${payload.status}`;
}

/** Each job name's payload schema; a job name without one does not compile. */
interface PayloadSchemas {
  [JobName.Install]: typeof InstallPayload;
  [JobName.InstallTarget]: typeof InstallTargetPayload;
  [JobName.Notify]: typeof NotifyPayload;
  [JobName.DriftCheck]: typeof DriftCheckPayload;
  [JobName.Reconcile]: typeof ReconcilePayload;
  [JobName.ExpiryWatch]: typeof ExpiryWatchPayload;
  [JobName.HelpdeskIntake]: typeof HelpdeskIntakePayload;
  [JobName.WindowStart]: typeof WindowStartPayload;
}

/** The payload type of a job name. */
export type PayloadOf<N extends JobName> = Static<PayloadSchemas[N]>;

/** The retry policies the catalog names. */
const RETRY = {
  /** A round's parent job only plans and fans out: retried soon. */
  round: { attempts: 5, backoffMs: 1000 },
  /** One host: spread out, so that a fleet's retries do not land together. */
  host: { attempts: 5, backoffMs: 2000, jitter: 0.5 },
  /** One report: receivers may be down for minutes. */
  report: { attempts: 8, backoffMs: 2000, jitter: 0.5 },
  /** A check reports unreachable hosts itself; a run that failed outright ends its check, and the next run is the retry. */
  check: { attempts: 1, backoffMs: 5000 },
  /** A reconcile run: the next one comes anyway. */
  sweep: { attempts: 2, backoffMs: 5000 },
  /** A watch only reads Redis and enqueues reports: a few quick retries. */
  watch: { attempts: 3, backoffMs: 5000 },
  /** A help desk intake: the desk may be busy or down for a while. */
  intake: { attempts: 6, backoffMs: 5000, jitter: 0.5 },
} as const satisfies Record<string, RetryPolicy>;

/** An entry on its job name's own queue, kept a week once finished. */
function entry<S extends TSchema>(
  queue: QueueName,
  payload: S,
  id: (payload: Static<S>) => string,
  retry: RetryPolicy,
): JobEntry<S> {
  return { queue, payload, id, retry, retentionS: WEEK_S };
}

/** The catalog itself; FLEET_RETRY_* override the install-target policy (`FleetQueues`). */
export const JOBS: { readonly [N in JobName]: JobEntry<PayloadSchemas[N]> } = {
  [JobName.Install]: entry(JobName.Install, InstallPayload, installJobId, RETRY.round),
  [JobName.InstallTarget]: entry(JobName.InstallTarget, InstallTargetPayload, targetJobId, RETRY.host),
  [JobName.Notify]: entry(JobName.Notify, NotifyPayload, notifyJobId, RETRY.report),
  [JobName.DriftCheck]: entry(JobName.DriftCheck, DriftCheckPayload, driftCheckJobId, RETRY.check),
  [JobName.Reconcile]: entry(JobName.Reconcile, ReconcilePayload, reconcileJobId, RETRY.sweep),
  [JobName.ExpiryWatch]: entry(JobName.ExpiryWatch, ExpiryWatchPayload, expiryWatchJobId, RETRY.watch),
  [JobName.HelpdeskIntake]: entry(
    JobName.HelpdeskIntake,
    HelpdeskIntakePayload,
    helpdeskIntakeJobId,
    RETRY.intake,
  ),
  [JobName.WindowStart]: entry(JobName.WindowStart, WindowStartPayload, windowStartJobId, RETRY.round),
};
