import type { FleetStore, Job } from '@certfleet/store';
import type { FleetQueues } from './fleet-queues.js';
import type { ApproveOutcome } from './start-approved.js';

/**
 * What continuing a canary job came to: `queued` (the targets after the canaries are on
 * the queue), `conflict` (it was not resting in canary) or `queue_down` (it rests in canary
 * again), as for an approval.
 */
export type ContinueOutcome = Extract<ApproveOutcome, { kind: 'queued' | 'conflict' | 'queue_down' }>;

/**
 * The one way a canary job goes on (README: Canary rollout), for an approver's
 * `POST /v1/jobs/:id/continue` and for `canary.continue: auto` (worker, as `system`):
 * moves it from `canary` to `queued` as its next round and queues every target the
 * canary round left pending. A queue that cannot take them hands the job back to `canary`.
 */
export async function continueAfterCanary(
  store: FleetStore,
  queues: FleetQueues,
  job: Job,
  continuedBy: string,
): Promise<ContinueOutcome> {
  if (!job.canary) return { kind: 'conflict', job };
  const round = job.round + 1;
  const rest = job.targets.filter((t) => t.status === 'pending');
  const moved = await store.jobs.transition(job.id, 'continue', {
    round,
    canary: { ...job.canary, continuedBy },
  });
  if (!moved.ok) return { kind: 'conflict', ...(moved.job ? { job: moved.job } : {}) };
  try {
    for (const t of rest) await store.jobs.putTarget(job.id, { ...t, round });
    await queues.addInstallFlow(
      job.id,
      round,
      rest.map((t) => ({ id: t.id })),
    );
  } catch (err) {
    for (const t of rest) await store.jobs.putTarget(job.id, t).catch(() => undefined);
    await store.jobs
      .transition(job.id, 'undoContinue', { round: job.round, canary: job.canary })
      .catch(() => undefined);
    return { kind: 'queue_down', err: err instanceof Error ? err : new Error(String(err)) };
  }
  return { kind: 'queued', job: (await store.jobs.get(job.id)) ?? moved.job };
}
