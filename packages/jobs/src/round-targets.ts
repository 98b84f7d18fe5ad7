import type { Job } from '@certfleet/store';

/**
 * The targets a job's current round queues: those of the round still pending; in a
 * canary job's canary round only its canaries (README: Canary rollout), the rest waits.
 */
export function roundTargets(job: Job): Job['targets'] {
  const waiting = job.targets.filter((t) => t.round === job.round && t.status === 'pending');
  const canary = job.canary;
  if (!canary || canary.round !== job.round) return waiting;
  return waiting.filter((t) => canary.targets.includes(t.id));
}
