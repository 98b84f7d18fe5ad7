import { FINAL_JOB_STATUSES } from '@certfleet/contract';
import { TransitionError } from './transition-error.js';
import type { JobRecord, JobStatus } from './types.js';

/** What an install run ends in. */
const RUN_OUTCOMES = ['completed', 'partially_failed', 'failed'] as const satisfies readonly JobStatus[];

/** A run that left failed targets: a retry may pick it up. */
const ENDED_WITH_FAILURES = ['partially_failed', 'failed'] as const satisfies readonly JobStatus[];

/** The statuses a job rests in until someone acts: nothing of it runs or waits in a queue. */
export const FINAL_STATUSES = FINAL_JOB_STATUSES;

/** A status in which a job has finished (completed, partially_failed, failed or rejected). */
export type FinalStatus = (typeof FINAL_STATUSES)[number];

/** Whether a job in this status has finished: its report is due and nothing more happens by itself. */
export function isFinalStatus(status: JobStatus): status is FinalStatus {
  return (FINAL_STATUSES as readonly JobStatus[]).includes(status);
}

interface TransitionRule {
  readonly from: readonly JobStatus[];
  readonly to: readonly [JobStatus, ...JobStatus[]];
}

/**
 * The job lifecycle: every status change certfleet makes, by name. A change is
 * applied only from one of `from`; a rule with several `to` needs the caller to
 * name the outcome.
 */
export const TRANSITIONS = {
  /** Four eyes said yes: the install flow is about to be queued. */
  approve: { from: ['pending_approval'], to: ['queued'] },
  /** Four eyes said no. */
  reject: { from: ['pending_approval'], to: ['rejected'] },
  /** The queue could not take an approved job: it waits for approval again. */
  undoApprove: { from: ['queued'], to: ['pending_approval'] },
  /** A worker began the first target of the round. */
  start: { from: ['queued'], to: ['running'] },
  /** Every target of the round is done: the outcome follows from them. */
  finish: { from: ['queued', 'running'], to: RUN_OUTCOMES },
  /** The failed targets go round again: at once, or `scheduled` outside the maintenance window. */
  retry: { from: ENDED_WITH_FAILURES, to: ['queued', 'scheduled'] },
  /** The queue could not take a retry (or its wake-up): the job is back where it ended. */
  undoRetry: { from: ['queued', 'scheduled'], to: ENDED_WITH_FAILURES },
  // Maintenance windows (README: Maintenance windows)
  /** Approved outside its environments' window: it waits for it. */
  schedule: { from: ['pending_approval'], to: ['scheduled'] },
  /** The queue could not take the wake-up of a scheduled job: it waits for approval again. */
  undoSchedule: { from: ['scheduled'], to: ['pending_approval'] },
  /** Its window moved (inventory reload): a new start time. */
  reschedule: { from: ['scheduled'], to: ['scheduled'] },
  /** Its window opened, or an admin started it now: its round is about to be queued. */
  startScheduled: { from: ['scheduled'], to: ['queued'] },
  /** The queue could not take the round of a scheduled job: it waits again. */
  undoStartScheduled: { from: ['queued'], to: ['scheduled'] },
  // canary rollout (README: Canary rollout)
  /** Every canary of the round is installed and verified: the job rests until it is continued. */
  canaryPassed: { from: ['queued', 'running'], to: ['canary'] },
  /** An approver (or `canary.continue: auto`) sends the other targets, as the job's next round (`scheduled` outside the window). */
  continue: { from: ['canary'], to: ['queued', 'scheduled'] },
  /** The queue could not take the continuation: the job rests in canary again. */
  undoContinue: { from: ['queued', 'scheduled'], to: ['canary'] },
} as const satisfies Record<string, TransitionRule>;

/** The name of a status change: `approve`, `finish`, … */
export type TransitionName = keyof typeof TRANSITIONS;

/** The statuses a named change leads to. */
export type TransitionOutcome<N extends TransitionName> = (typeof TRANSITIONS)[N]['to'][number];

/** The statuses a named change starts from. */
export type TransitionSource<N extends TransitionName> = (typeof TRANSITIONS)[N]['from'][number];

/** Record fields a status change may set besides the status (`updatedAt` is set by the store). */
export type RecordPatch = Partial<Omit<JobRecord, 'id' | 'status' | 'updatedAt'>>;

/**
 * What a caller gives with a named change: the fields it sets, and the outcome
 * when the change has several (`finish`, `undoRetry`); none when it has one.
 */
export type TransitionPatch<N extends TransitionName> = RecordPatch &
  ((typeof TRANSITIONS)[N]['to'] extends readonly [JobStatus]
    ? { status?: never }
    : { status: TransitionOutcome<N> });

/** Whether a job in `status` may take the named change. */
export function canTransition<N extends TransitionName>(
  status: JobStatus,
  name: N,
): status is TransitionSource<N> {
  return (TRANSITIONS[name].from as readonly JobStatus[]).includes(status);
}

/** The status a named change leads to, given the caller's outcome for a change with several. */
export function transitionOutcome(name: TransitionName, requested: JobStatus | undefined): JobStatus {
  const to: readonly JobStatus[] = TRANSITIONS[name].to;
  if (requested === undefined && to.length === 1) return to[0]!;
  if (requested !== undefined && to.includes(requested)) return requested;
  throw new TransitionError(name, to, requested);
}
