import type { FleetStore, Job } from '@certfleet/store';
import type { FleetQueues } from './fleet-queues.js';

/** What approving a job came to. */
export type ApproveOutcome =
  /** Approved, its secret kept, its first round on the queue. */
  | { kind: 'queued'; job: Job }
  /** It was no longer pending approval: nothing changed. */
  | { kind: 'conflict'; job?: Job }
  /** The queue could not take it: the job is pending approval again, its secret on its TTL. */
  | { kind: 'queue_down'; err: Error };

/**
 * The one way an approved job starts, for an approver's approval (API) and for
 * `repair: auto` (worker): moves it to `queued` with the approver, keeps its sealed
 * secret until it ends, and queues round 1 for every target (a canary job: its canaries). A queue that cannot take
 * it hands the job back (pending approval, secret on `secretTtlMs` again), so a job is
 * never queued with nothing in the queue.
 */
export async function approveAndStart(
  store: FleetStore,
  queues: FleetQueues,
  job: Job,
  approvedBy: string,
  secretTtlMs: number,
): Promise<ApproveOutcome> {
  const moved = await store.jobs.transition(job.id, 'approve', { approvedBy });
  if (!moved.ok) return { kind: 'conflict', ...(moved.job ? { job: moved.job } : {}) };
  await store.secrets.persist(job.id);
  // canary rollout (README: Canary rollout): round 1 is the canaries alone, the rest waits
  const canaries = job.canary ? new Set(job.canary.targets) : undefined;
  const first = canaries ? job.targets.filter((t) => canaries.has(t.id)) : job.targets;
  try {
    await queues.addInstallFlow(
      job.id,
      1,
      first.map((t) => ({ id: t.id })),
    );
  } catch (err) {
    await store.jobs.transition(job.id, 'undoApprove', { approvedBy: null }).catch(() => undefined);
    await store.secrets.expire(job.id, secretTtlMs).catch(() => undefined);
    return { kind: 'queue_down', err: err instanceof Error ? err : new Error(String(err)) };
  }
  return { kind: 'queued', job: moved.job };
}
