import { JobName, type JobRun } from '@certfleet/jobs';
import type { TargetErrorCode } from '@certfleet/ssh';
import type { JobStatus, TargetRecord, TransitionOutcome } from '@certfleet/store';
import { UnrecoverableError } from 'bullmq';
import { endCanaryRound, isCanaryRound } from './canary.js';
import { desiredState } from './desired-state.js';
import { keepForRepairs } from './retention.js';
import { forgetUninstalled } from './uninstall-finish.js';
import { now, type WorkerDeps } from './worker-deps.js';

/** Decides a job's outcome from its targets. */
export function finalStatus(targets: readonly TargetRecord[]): TransitionOutcome<'finish'> {
  const installed = targets.filter((t) => t.status === 'installed').length;
  if (installed === targets.length) return 'completed';
  return installed === 0 ? 'failed' : 'partially_failed';
}

/** The parent job: runs once every child is done, records the outcome and enqueues the report. */
export async function processInstall(
  deps: WorkerDeps,
  { payload: { jobId, round } }: JobRun<'install'>,
): Promise<{ status: JobStatus }> {
  const record = await deps.store.jobs.getRecord(jobId);
  if (!record) throw new UnrecoverableError(`job ${jobId} is gone`);
  const targets = await deps.store.jobs.getTargets(jobId);
  // canary rollout: a verified canary round pauses the job (no outcome, no report)
  if (isCanaryRound(record, round) && (await endCanaryRound(deps, record, targets)).kind === 'paused') {
    return { status: 'canary' };
  }
  for (const t of targets) {
    // A child that failed outside its own handler (for instance stalled too often) left no result.
    if (t.status === 'pending' || t.status === 'running') {
      const lost: TargetRecord = {
        ...t,
        status: 'failed',
        error: t.error ?? {
          code: 'interrupted' satisfies TargetErrorCode,
          message: 'the worker handling this host stopped too often; retry the job',
        },
        finishedAt: now(),
      };
      await deps.store.jobs.putTarget(jobId, lost);
      Object.assign(t, lost);
    }
  }
  const status = finalStatus(targets);
  // the bytes written, for the desired state's hashes (read before the secret is deleted below)
  const secret = await deps.store.secrets.open(jobId);
  if (record.action === 'uninstall') await forgetUninstalled(deps, record, status, targets);
  // an uninstall leaves no registry entry nor retained secret behind (forgetUninstalled)
  for (const envName of record.action === 'uninstall' ? [] : record.environments) {
    const installed = targets.find((t) => t.environment === envName && t.status === 'installed');
    if (!installed) continue;
    const previous = await deps.store.registry.get(envName, record.name);
    // Retention and reconcile: before the job's secret is deleted below.
    await keepForRepairs(
      deps,
      record,
      envName,
      targets.filter((t) => t.environment === envName && t.status === 'installed'),
      previous,
    );
    // A repair job adds hosts to the install the registry names; the entry stays the install's.
    if (record.source === 'reconcile') continue;
    await deps.store.registry.put(
      envName,
      desiredState(record, envName, installed, secret, previous, installed.finishedAt ?? now()),
    );
  }
  // the final status last: whoever sees the job finished finds its registry entry written
  // (a re-run after a crash writes the same again)
  const moved = await deps.store.jobs.transition(jobId, 'finish', { status });
  if (!moved.ok && moved.job?.status !== status) {
    deps.logger.warn({ jobId, status: moved.job?.status }, 'job changed state while finishing');
  }
  if (moved.ok) {
    await deps.store.metrics.countJob(status);
    await deps.store.audit.append({ actor: 'worker', action: `job.${status}`, jobId, detail: { round } });
  }
  if (status === 'completed') await deps.store.secrets.delete(jobId);
  else await deps.store.secrets.expire(jobId, deps.config.secretTtlMs);
  await deps.queues.add(JobName.Notify, { jobId, round, status });
  deps.logger.info({ jobId, round, status }, 'job finished');
  return { status };
}
