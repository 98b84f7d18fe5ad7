import type { FleetStore, Job } from '@certfleet/store';
import type { FleetQueues } from './fleet-queues.js';
import { queueWakeUp, roundOpening, type WindowGate } from './scheduled-start.js';
import type { ApproveOutcome } from './start-approved.js';

/**
 * What continuing a canary job came to: `queued` (the targets after the canaries are on
 * the queue), `conflict` (it was not resting in canary) or `queue_down` (it rests in canary
 * again), as for an approval.
 */
export type ContinueOutcome = Extract<
  ApproveOutcome,
  { kind: 'queued' | 'conflict' | 'queue_down' | 'scheduled' | 'no_window' }
>;

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
  gate?: WindowGate,
): Promise<ContinueOutcome> {
  if (!job.canary) return { kind: 'conflict', job };
  const round = job.round + 1;
  const rest = job.targets.filter((t) => t.status === 'pending');
  // Maintenance windows: outside them the rest waits as `scheduled` for the next opening
  const opens = roundOpening(job, gate);
  if (opens === 'never') return { kind: 'no_window' };
  const moved = await store.jobs.transition(job.id, 'continue', {
    round,
    canary: { ...job.canary, continuedBy },
    ...(opens === 'now'
      ? { status: 'queued' as const }
      : { status: 'scheduled' as const, startsAt: opens.toISOString() }),
  });
  if (!moved.ok) return { kind: 'conflict', ...(moved.job ? { job: moved.job } : {}) };
  try {
    for (const t of rest) await store.jobs.putTarget(job.id, { ...t, round });
    if (opens !== 'now' && gate) {
      await queueWakeUp(queues, { jobId: job.id, round, check: 1 }, opens, gate);
      return { kind: 'scheduled', job: (await store.jobs.get(job.id)) ?? moved.job };
    }
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
