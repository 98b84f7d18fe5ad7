import { jobOpening } from '@certfleet/inventory';
import { queueWakeUp, startScheduled, windowGate, type JobRun } from '@certfleet/jobs';
import { SYSTEM_ACTOR } from './repair.js';
import type { WorkerDeps } from './worker-deps.js';

/** What one wake-up of a scheduled job came to. */
export type WindowStartResult = 'started' | 'waiting' | 'not_scheduled';

/**
 * One wake-up of a scheduled job (README: Maintenance windows): its environments'
 * windows are read again from the inventory in force, on the worker's clock. Open: its
 * round is queued, once, whoever else tries. Still closed: the start time follows a
 * moved window, and the next wake-up is queued. A job no longer scheduled (an admin
 * started it, or this wake-up ran before) is left alone.
 */
export async function processWindowStart(
  deps: WorkerDeps,
  { payload }: JobRun<'window-start'>,
): Promise<WindowStartResult> {
  const job = await deps.store.jobs.get(payload.jobId);
  if (!job || job.status !== 'scheduled' || job.round !== payload.round) return 'not_scheduled';
  const gate = windowGate(deps);
  const opens = jobOpening(gate.inventory, job.environments, gate.now);
  if (opens !== undefined && opens.getTime() <= gate.now.getTime()) {
    const started = await startScheduled(deps.store, deps.queues, job);
    // BullMQ retries this wake-up; the job is scheduled again meanwhile
    if (started.kind === 'queue_down') throw started.err;
    if (started.kind === 'conflict') return 'not_scheduled';
    await deps.store.audit.append({
      actor: SYSTEM_ACTOR,
      action: 'window_start',
      jobId: job.id,
      detail: { environments: job.environments, at: gate.now.toISOString() },
    });
    deps.logger.info({ jobId: job.id }, 'maintenance window open: scheduled job started');
    return 'started';
  }
  const startsAt = opens?.toISOString();
  if (startsAt !== undefined && startsAt !== job.startsAt) {
    await deps.store.jobs.transition(job.id, 'reschedule', { startsAt });
  } else if (startsAt === undefined) {
    deps.logger.warn(
      { jobId: job.id, environments: job.environments },
      'scheduled job: its environments have no common maintenance window any more; it waits (start-now starts it)',
    );
  }
  await queueWakeUp(deps.queues, { ...payload, check: payload.check + 1 }, opens, gate);
  return 'waiting';
}
