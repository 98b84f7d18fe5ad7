/**
 * Maintenance windows (README: Maintenance windows): an approved job outside its
 * environments' window waits as `scheduled`; a delayed `window-start` job wakes it at the
 * opening (at the latest every FLEET_WINDOW_RECHECK, so a moved window or clock is seen),
 * and the one compare-and-set `startScheduled` queues its round exactly once, whoever
 * gets there first: the wake-up on any worker, or an admin's start-now.
 */
import { jobOpening, type Inventory } from '@certfleet/inventory';
import type { FleetStore, Job } from '@certfleet/store';
import { JobName, type WindowStartPayload } from './catalog.js';
import type { FleetQueues } from './fleet-queues.js';
import { roundTargets } from './round-targets.js';

/** What the window check reads: the inventory in force and the scheduler's clock. */
export interface WindowGate {
  inventory: Inventory;
  now: Date;
  /** FLEET_WINDOW_RECHECK: the longest wait before a scheduled job looks again. */
  recheckMs: number;
}

/** A gate on a process's parts: the inventory in force now, its clock (the system's when absent). */
export function windowGate(parts: {
  inventory: () => Inventory;
  clock?: (() => Date) | undefined;
  config: { windowRecheckMs: number };
}): WindowGate {
  return {
    inventory: parts.inventory(),
    now: parts.clock?.() ?? new Date(),
    recheckMs: parts.config.windowRecheckMs,
  };
}

/** When a job's wake-up should run: at its opening, or after `recheckMs` when that comes first. */
function wakeUpDelay(opens: Date | undefined, gate: WindowGate): number {
  if (opens === undefined) return gate.recheckMs;
  return Math.min(opens.getTime() - gate.now.getTime(), gate.recheckMs);
}

/** Queues a scheduled job's next wake-up. */
export async function queueWakeUp(
  queues: FleetQueues,
  payload: WindowStartPayload,
  opens: Date | undefined,
  gate: WindowGate,
): Promise<void> {
  await queues.addDelayed(JobName.WindowStart, payload, wakeUpDelay(opens, gate));
}

/**
 * When a job's next round (a retry, a canary's continuation) may start: `now` when every
 * environment of the job is inside a window (or has none), `never` when they are never
 * open together within a year, else the first moment they are. No gate: `now`.
 */
export function roundOpening(job: Job, gate: WindowGate | undefined): Date | 'now' | 'never' {
  if (!gate) return 'now';
  const opens = jobOpening(gate.inventory, job.environments, gate.now);
  if (opens === undefined) return 'never';
  return opens.getTime() <= gate.now.getTime() ? 'now' : opens;
}

/**
 * The window part of approving: undefined when every environment of the job is open now
 * (start it as usual); else the job is `scheduled` for the first common opening, or
 * refused (`no_window`) when there is none within a year.
 */
export async function scheduleStart(
  store: FleetStore,
  queues: FleetQueues,
  job: Job,
  approvedBy: string,
  secretTtlMs: number,
  gate: WindowGate,
): Promise<
  | { kind: 'scheduled'; job: Job }
  | { kind: 'conflict'; job?: Job }
  | { kind: 'no_window' }
  | { kind: 'queue_down'; err: Error }
  | undefined
> {
  const opens = jobOpening(gate.inventory, job.environments, gate.now);
  if (opens === undefined) return { kind: 'no_window' };
  if (opens.getTime() <= gate.now.getTime()) return undefined;
  const moved = await store.jobs.transition(job.id, 'schedule', {
    approvedBy,
    startsAt: opens.toISOString(),
  });
  if (!moved.ok) return { kind: 'conflict', ...(moved.job ? { job: moved.job } : {}) };
  await store.secrets.persist(job.id);
  try {
    await queueWakeUp(queues, { jobId: job.id, round: job.round, check: 1 }, opens, gate);
  } catch (err) {
    await store.jobs.transition(job.id, 'undoSchedule', { approvedBy: null }).catch(() => undefined);
    await store.secrets.expire(job.id, secretTtlMs).catch(() => undefined);
    return { kind: 'queue_down', err: err instanceof Error ? err : new Error(String(err)) };
  }
  return { kind: 'scheduled', job: moved.job };
}

/** What starting a scheduled job came to. */
export type StartScheduledOutcome =
  | { kind: 'queued'; job: Job }
  /** It was no longer scheduled (started already, by the window or an admin): nothing changed. */
  | { kind: 'conflict'; job?: Job }
  /** The queue could not take the round: the job is scheduled again. */
  | { kind: 'queue_down'; err: Error };

/** Starts a scheduled job's round now: `queued` once (compare-and-set), its waiting targets on the queue. */
export async function startScheduled(
  store: FleetStore,
  queues: FleetQueues,
  job: Job,
): Promise<StartScheduledOutcome> {
  const moved = await store.jobs.transition(job.id, 'startScheduled');
  if (!moved.ok) return { kind: 'conflict', ...(moved.job ? { job: moved.job } : {}) };
  const waiting = roundTargets(job);
  try {
    await queues.addInstallFlow(
      job.id,
      job.round,
      waiting.map((t) => ({ id: t.id })),
    );
  } catch (err) {
    await store.jobs.transition(job.id, 'undoStartScheduled').catch(() => undefined);
    return { kind: 'queue_down', err: err instanceof Error ? err : new Error(String(err)) };
  }
  return { kind: 'queued', job: moved.job };
}
