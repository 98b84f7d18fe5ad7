/**
 * Canary rollout on the worker side (README: Canary rollout): the canary's read-only
 * verification after its install, and what the end of a canary round comes to.
 */
import type { Environment } from '@certfleet/inventory';
import { continueAfterCanary, windowGate } from '@certfleet/jobs';
import {
  expectedCertificate,
  TargetError,
  verifyOnHost,
  type InstallResult,
  type SessionPool,
  type SshTarget,
} from '@certfleet/ssh';
import type { JobRecord, SecretBundle, TargetRecord } from '@certfleet/store';
import { now, type WorkerDeps } from './worker-deps.js';

/** Whether this target's run in this round is a canary's (it is verified before it counts). */
export function isCanaryRun(record: JobRecord, round: number, targetId: string): boolean {
  return record.canary?.round === round && record.canary.targets.includes(targetId);
}

/** Whether a round of the job is its canary round (its end is a pause, not an outcome). */
export function isCanaryRound(record: JobRecord, round: number): boolean {
  return record.canary?.round === round;
}

/**
 * Verifies a canary just installed with the drift probe (`verifyOnHost`): the file, its CA
 * files, mode and owner (Linux), the store entry and key readers (Windows). Throws a
 * TargetError when the host does not show what was installed: unreachable keeps the probe's
 * code (retried like an install), anything else is `hash_mismatch` (retried; the install
 * writes it again).
 */
export async function verifyCanary(
  login: SshTarget,
  env: Environment,
  record: JobRecord,
  secret: SecretBundle,
  result: InstallResult,
  pool: SessionPool | undefined,
): Promise<void> {
  const expected = expectedCertificate(record.name, secret.pfx, secret.caChain, result.thumbprint);
  const seen = await verifyOnHost(login, [expected], {
    platform: env.platform,
    installDir: env.installDir,
    ...(env.owner ? { owner: env.owner } : {}),
    ...(env.windows?.keyReaders ? { keyReaders: env.windows.keyReaders } : {}),
    ...(pool ? { pool } : {}),
  });
  const verdict = seen.certificates[0];
  if (verdict?.state === 'ok') return;
  throw new TargetError(
    verdict?.error ?? 'hash_mismatch',
    `canary verification failed on ${login.host}: ${verdict?.detail ?? 'no verdict'}`,
  );
}

/** What the end of a canary round came to: a pause (`canary`), or the job's outcome as usual. */
export type CanaryRoundEnd = { kind: 'paused' } | { kind: 'finish' };

/**
 * The end of a canary round, before the usual outcome: when every canary is installed
 * and verified and other targets wait, the job rests in `canary` (no report; audited as
 * `job.canary`) and, with `canary.continue: auto`, goes on at once as `system`. A canary
 * that failed marks every waiting target failed with `canary_failed`, naming the canary,
 * so the job ends failed with nothing else touched.
 */
export async function endCanaryRound(
  deps: WorkerDeps,
  record: JobRecord,
  targets: TargetRecord[],
): Promise<CanaryRoundEnd> {
  const plan = record.canary!;
  const canaries = targets.filter((t) => plan.targets.includes(t.id));
  const waiting = targets.filter((t) => !plan.targets.includes(t.id) && t.status === 'pending');
  const failed = canaries.filter((t) => t.status !== 'installed');
  if (failed.length > 0) {
    const named = failed.map((t) => `${t.id} (${t.error?.code ?? 'interrupted'})`).join(', ');
    for (const t of waiting) {
      const untouched: TargetRecord = {
        ...t,
        status: 'failed',
        error: {
          code: 'canary_failed',
          message: `not touched: the canary ${named} failed; fix it and retry the job`,
        },
        finishedAt: now(),
      };
      await deps.store.jobs.putTarget(record.id, untouched);
      Object.assign(t, untouched);
    }
    return { kind: 'finish' };
  }
  if (waiting.length === 0) return { kind: 'finish' };

  const moved = await deps.store.jobs.transition(record.id, 'canaryPassed');
  if (moved.ok) {
    await deps.store.audit.append({
      actor: 'worker',
      action: 'job.canary',
      jobId: record.id,
      detail: { round: plan.round, canaries: plan.targets, waiting: waiting.map((t) => t.id) },
    });
    deps.logger.info({ jobId: record.id, canaries: plan.targets }, 'canary verified; job rests in canary');
  }
  if (plan.continue === 'auto') await continueAuto(deps, record.id);
  return { kind: 'paused' };
}

/** `canary.continue: auto`: the worker continues as `system`; a repeated run re-adds the same round (idempotent). */
async function continueAuto(deps: WorkerDeps, jobId: string): Promise<void> {
  const job = await deps.store.jobs.get(jobId);
  if (!job?.canary) return;
  if (job.status === 'canary') {
    const outcome = await continueAfterCanary(deps.store, deps.queues, job, 'system', windowGate(deps));
    if (outcome.kind === 'queue_down') throw outcome.err;
    if (outcome.kind === 'queued' || outcome.kind === 'scheduled') {
      await deps.store.audit.append({
        actor: 'system',
        action: 'continue',
        jobId,
        detail: {
          round: outcome.job.round,
          auto: true,
          ...(outcome.kind === 'scheduled' ? { scheduled: outcome.job.startsAt } : {}),
        },
      });
    } else if (outcome.kind === 'no_window') {
      deps.logger.warn(
        { jobId },
        'canary verified, but its environments never share a maintenance window: it rests in canary',
      );
    }
    return;
  }
  // a run that died after the continue but before the queue took it: the flow's ids are deterministic
  if (job.canary.continuedBy === 'system' && job.round === job.canary.round + 1 && job.status === 'queued') {
    const rest = job.targets.filter((t) => t.status === 'pending' && t.round === job.round);
    await deps.queues.addInstallFlow(
      jobId,
      job.round,
      rest.map((t) => ({ id: t.id })),
    );
  }
}
