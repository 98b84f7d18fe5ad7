import type { FleetStore, Job } from '@certfleet/store';
import type { FleetQueues } from './fleet-queues.js';
import { roundTargets } from './round-targets.js';
import { scheduleStart, type WindowGate } from './scheduled-start.js';

/** What approving a job came to. */
export type ApproveOutcome =
  /** Approved, its secret kept, its first round on the queue. */
  | { kind: 'queued'; job: Job }
  /** It was no longer pending approval: nothing changed. */
  | { kind: 'conflict'; job?: Job }
  /** The queue could not take it: the job is pending approval again, its secret on its TTL. */
  | { kind: 'queue_down'; err: Error }
  // Maintenance windows (README: Maintenance windows)
  /** Approved outside its window: `scheduled`, its wake-up on the queue. */
  | { kind: 'scheduled'; job: Job }
  /** Its environments are never open at the same time (within a year): nothing changed. */
  | { kind: 'no_window' };

/**
 * The one way an approved job starts, for an approver's approval (API) and for
 * `repair: auto` (worker): moves it to `queued` with the approver, keeps its sealed
 * secret until it ends, and queues round 1 for every target (a canary job: its canaries). A queue that cannot take
 * it hands the job back (pending approval, secret on `secretTtlMs` again), so a job is
 * never queued with nothing in the queue. With a `gate`, a job whose environments are
 * outside their maintenance windows is `scheduled` for the first moment all are open.
 */
export async function approveAndStart(
  store: FleetStore,
  queues: FleetQueues,
  job: Job,
  approvedBy: string,
  secretTtlMs: number,
  gate?: WindowGate,
): Promise<ApproveOutcome> {
  // Maintenance windows (README: Maintenance windows)
  if (gate) {
    const scheduled = await scheduleStart(store, queues, job, approvedBy, secretTtlMs, gate);
    if (scheduled) return scheduled;
  }
  const moved = await store.jobs.transition(job.id, 'approve', { approvedBy });
  if (!moved.ok) return { kind: 'conflict', ...(moved.job ? { job: moved.job } : {}) };
  await store.secrets.persist(job.id);
  try {
    await queues.addInstallFlow(
      job.id,
      1,
      roundTargets(job).map((t) => ({ id: t.id })),
    );
  } catch (err) {
    await store.jobs.transition(job.id, 'undoApprove', { approvedBy: null }).catch(() => undefined);
    await store.secrets.expire(job.id, secretTtlMs).catch(() => undefined);
    return { kind: 'queue_down', err: err instanceof Error ? err : new Error(String(err)) };
  }
  return { kind: 'queued', job: moved.job };
}
