import { findEnvironment, type Environment, type FrontEnd } from '@certfleet/inventory';
import type { JobRun } from '@certfleet/jobs';
import {
  installOnHost,
  sshTargetFor,
  TargetError,
  type InstallResult,
  type SessionPool,
  type UninstallResult,
} from '@certfleet/ssh';
import { canTransition, type JobRecord, type TargetErrorInfo, type TargetRecord } from '@certfleet/store';
import { UnrecoverableError } from 'bullmq';
import { isCanaryRun, verifyCanary } from './canary.js';
import { replacedEntry } from './desired-state.js';
import type { HostLanes } from './host-lanes.js';
import type { HostLocks } from './host-lock.js';
import { uninstallWork } from './uninstall-target.js';
import { now, type WorkerDeps } from './worker-deps.js';

interface Failure extends TargetErrorInfo {
  permanent: boolean;
}

function classify(err: unknown): Failure {
  if (err instanceof TargetError) return { code: err.code, message: err.message, permanent: err.permanent };
  return {
    code: 'remote_command_failed',
    message: `unexpected error: ${err instanceof Error ? err.message : String(err)}`,
    permanent: false,
  };
}

/** What a worker process shares between its targets. */
export interface TargetDeps extends WorkerDeps {
  /** One install per host across every worker process. */
  locks: HostLocks;
  /** One install per host inside this process, in arrival order. */
  lanes: HostLanes;
  /** Linux connections kept open for the next target on the same host. */
  pool: SessionPool;
}

/** Installs one target: the child job of the flow. */
export async function processTarget(
  deps: TargetDeps,
  run: JobRun<'install-target'>,
): Promise<InstallResult | UninstallResult | { skipped: true }> {
  const { jobId, round, targetId } = run.payload;
  const where = await deps.store.jobs.getTarget(jobId, targetId);
  if (!where) throw new UnrecoverableError(`job ${jobId} or its target ${targetId} is gone`);
  // This process's targets for one host queue here, in order, on one pooled connection.
  return deps.lanes.run(`${where.host}:${where.port}`, async () => {
    const [record, current] = await Promise.all([
      deps.store.jobs.getRecord(jobId),
      deps.store.jobs.getTarget(jobId, targetId),
    ]);
    if (!record || !current) throw new UnrecoverableError(`job ${jobId} or its target ${targetId} is gone`);
    // A repeated delivery (a worker died after writing the result) changes nothing.
    if (current.status === 'installed' && current.round === round) return { skipped: true };

    const lock = await deps.locks.tryAcquire(current.host, current.port);
    if (!lock) {
      // Another worker process is on this host: wait our turn without spending an attempt.
      return run.postpone(Date.now() + 250 + Math.floor(Math.random() * 750));
    }
    try {
      // what the job does on its hosts (README: Changing a certificate safely)
      return record.action === 'uninstall'
        ? await runTarget(deps, run, record, current, uninstallWork(deps, record))
        : await runTarget(deps, run, record, current, installWork(deps, record));
    } finally {
      await lock.release();
    }
  });
}

/** What a target's work on its host came to: the finished target and its audit entry. */
export interface TargetOutcome<R> {
  result: R;
  target: TargetRecord;
  action: string;
  detail: Record<string, unknown>;
}

/** The host-side work of one target (an install, an uninstall), given its front-end and the target as running. */
export type TargetWork<R> = (
  env: Environment,
  fe: FrontEnd,
  target: TargetRecord,
) => Promise<TargetOutcome<R>>;

/**
 * One attempt at one target, whatever it does on the host: marks it running (and its job
 * started), checks its front-end is still the one planned, runs `work` and records the
 * outcome; a failure is recorded as pending (retried) or failed, with its audit entry.
 */
export async function runTarget<R>(
  deps: TargetDeps,
  { attempt, maxAttempts, payload: { round } }: JobRun<'install-target'>,
  record: JobRecord,
  current: TargetRecord,
  work: TargetWork<R>,
): Promise<R> {
  const jobId = record.id;
  const targetId = current.id;

  let target: TargetRecord = {
    ...current,
    status: 'running',
    attempts: current.round === round ? current.attempts + 1 : 1,
    round,
    error: null,
    finishedAt: null,
  };
  // only a round's first target starts its job; the others would read the whole job for a conflict
  const starts = canTransition(record.status, 'start');
  await Promise.all([
    starts ? deps.store.jobs.transition(jobId, 'start') : undefined,
    deps.store.jobs.putTarget(jobId, target),
  ]);
  const log = deps.logger.child({ jobId, targetId, attempt });

  try {
    const env = findEnvironment(deps.inventory(), target.environment);
    const fe = env?.frontEnds.find((f) => f.name === target.frontEnd);
    if (!env || !fe || fe.host !== target.host || fe.port !== target.port) {
      throw new TargetError(
        'inventory_changed',
        `${targetId} is no longer ${target.host}:${target.port} in the inventory; submit the job again`,
      );
    }
    const outcome = await work(env, fe, target);
    await Promise.all([
      deps.store.jobs.putTarget(jobId, outcome.target),
      deps.store.audit.append({
        actor: 'worker',
        action: outcome.action,
        jobId,
        detail: { target: targetId, ...outcome.detail, attempt },
      }),
    ]);
    log.info(outcome.detail, outcome.action.replace('.', ' '));
    return outcome.result;
  } catch (err) {
    const failure = classify(err);
    const final = failure.permanent || attempt >= maxAttempts;
    target = {
      ...target,
      status: final ? 'failed' : 'pending',
      error: { code: failure.code, message: failure.message },
      finishedAt: final ? now() : null,
    };
    await deps.store.jobs.putTarget(jobId, target);
    log.warn({ code: failure.code, final }, failure.message);
    if (final) {
      await deps.store.metrics.countTargetFailure(failure.code);
      await deps.store.audit.append({
        actor: 'worker',
        action: 'target.failed',
        jobId,
        detail: { target: targetId, code: failure.code, message: failure.message, attempt },
      });
    }
    if (failure.permanent) throw new UnrecoverableError(`${failure.code}: ${failure.message}`);
    throw new Error(`${failure.code}: ${failure.message}`, { cause: err });
  }
}

/** The SSH login of a front-end with the worker's deadlines. */
export function loginFor(deps: WorkerDeps, fe: FrontEnd): ReturnType<typeof sshTargetFor> {
  return sshTargetFor(fe, {
    readyTimeoutMs: deps.config.sshConnectTimeoutMs,
    commandTimeoutMs: deps.config.sshStepTimeoutMs,
  });
}

/**
 * Windows: the certificate the store keeps beside this job's, the previous version once
 * the job is done: the registry's current one when this job replaces it (a rotation or a
 * rollback), else (a retry round, a repair) the registry's previous one.
 */
async function previousThumbprint(
  deps: WorkerDeps,
  record: JobRecord,
  env: string,
): Promise<string | undefined> {
  const entry = await deps.store.registry.get(env, record.name);
  return replacedEntry(entry, record.certificate.fingerprintSha256)?.thumbprint;
}

/** The install of one target: the job's sealed certificate onto its front-end. */
function installWork(deps: TargetDeps, record: JobRecord): TargetWork<InstallResult> {
  return async (env, fe, running) => {
    const started = process.hrtime.bigint();
    const secret = await deps.store.secrets.open(record.id);
    if (!secret) {
      throw new TargetError(
        'secret_expired',
        `the sealed certificate of job ${record.id} is gone; submit it again`,
      );
    }
    const keep =
      env.platform === 'windows' ? await previousThumbprint(deps, record, running.environment) : undefined;
    const login = await loginFor(deps, fe);
    const result = await installOnHost(
      login,
      env.platform,
      {
        installDir: env.installDir,
        name: record.name,
        pfx: secret.pfx,
        caCertificates: secret.caChain,
        ...(env.owner ? { owner: env.owner } : {}),
        ...(env.windows?.keyReaders ? { keyReaders: env.windows.keyReaders } : {}),
        ...(env.windows?.keyProvider ? { keyProvider: env.windows.keyProvider } : {}),
        ...(keep ? { keepThumbprints: [keep] } : {}),
        password: secret.password,
      },
      env.platform === 'linux' ? deps.pool : undefined,
    );
    if (result.sha256 !== record.pfxSha256) {
      throw new TargetError(
        'hash_mismatch',
        `${running.id} holds a file whose SHA-256 differs from the job's; the job retries it`,
      );
    }
    // canary rollout: a canary counts only once the drift probe sees it as installed
    const canary = isCanaryRun(record, running.round, running.id);
    if (canary) {
      await verifyCanary(
        login,
        env,
        record,
        secret,
        result,
        env.platform === 'linux' ? deps.pool : undefined,
      );
    }
    await deps.store.metrics.observeInstallSeconds(Number(process.hrtime.bigint() - started) / 1e9);
    return {
      result,
      action: 'target.installed',
      target: {
        ...running,
        status: 'installed',
        path: result.path,
        sha256: result.sha256,
        unchanged: result.unchanged,
        error: null,
        finishedAt: now(),
        ...(result.thumbprint ? { thumbprint: result.thumbprint } : {}),
        ...(result.store ? { store: result.store } : {}),
        ...(result.keyProvider ? { keyProvider: result.keyProvider } : {}),
        ...(result.kept ? { kept: result.kept } : {}),
      },
      detail: {
        path: result.path,
        unchanged: result.unchanged,
        ...(canary ? { canary: 'verified' } : {}),
        ...(result.thumbprint ? { thumbprint: result.thumbprint, store: result.store } : {}),
      },
    };
  };
}
