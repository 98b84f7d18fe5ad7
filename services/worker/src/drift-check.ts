import {
  driftFindings,
  type DriftCertificate,
  type DriftCheck,
  type DriftFinding,
  type DriftHost,
} from '@certfleet/contract';
import { findEnvironment, type Environment, type FrontEnd } from '@certfleet/inventory';
import type { JobRun } from '@certfleet/jobs';
import {
  sshTargetFor,
  TargetError,
  unreachableVerification,
  verifyOnHost,
  type ExpectedCertificate,
  type SessionPool,
} from '@certfleet/ssh';
import type { EnvCertificate } from '@certfleet/store';
import pLimit from 'p-limit';
import type { HostLocks, HeldLock } from './host-lock.js';
import type { WorkerDeps } from './worker-deps.js';

/** What a drift check shares with the installs of its worker process. */
export interface DriftDeps extends WorkerDeps {
  /** The installs' host locks: a host is checked only while no install runs on it. */
  locks: HostLocks;
  /** The installs' Linux connections. */
  pool: SessionPool;
  /** How long a check waits for an install to leave a host before it reports it busy. */
  lockWaitMs?: number;
  /**
   * Told of a finished check that found something not ok: the workers ask for repairs
   * there (`drift-repair.ts`); the check itself never changes a host.
   */
  onFindings?: (check: DriftCheck, findings: DriftFinding[]) => Promise<void>;
}

/** What a finished run hands back (BullMQ keeps it as the job's result). */
export interface DriftCheckResult {
  checkId: string;
  /** True when another check of the environment was already running: this run did nothing. */
  skipped?: boolean;
  /** Every host × certificate that is not ok: what a repair would act on. */
  findings?: DriftFinding[];
}

/** A registry entry as the probe's expectation; undefined for an entry written before the desired state held hashes. */
export function expectedFromRegistry(
  entry: EnvCertificate,
  platform: Environment['platform'],
): ExpectedCertificate | undefined {
  if (entry.sha256 === undefined || entry.size === undefined) return undefined;
  if (platform === 'windows' && entry.thumbprint === undefined) return undefined;
  return {
    name: entry.name,
    sha256: entry.sha256,
    size: entry.size,
    caFiles: (entry.caFiles ?? []).map(({ sha256, size }) => ({ sha256, size })),
    ...(entry.thumbprint === undefined ? {} : { thumbprint: entry.thumbprint }),
  };
}

const UNCHECKABLE =
  'certfleet cannot check it: its registry entry predates the drift check; install it again to record what to compare';

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for the host's install lock (an install leaves a host half-written while it runs). */
async function waitForHost(deps: DriftDeps, fe: FrontEnd): Promise<HeldLock | undefined> {
  const deadline = Date.now() + (deps.lockWaitMs ?? Math.max(60_000, deps.config.lockDurationMs * 2));
  for (;;) {
    const lock = await deps.locks.tryAcquire(fe.host, fe.port);
    if (lock || Date.now() >= deadline) return lock;
    await pause(250 + Math.floor(Math.random() * 500));
  }
}

/** Every registry certificate as `unreachable` with one reason. */
function allUnreachable(certificates: readonly EnvCertificate[], err: unknown): DriftCertificate[] {
  return certificates.map((c) => {
    const { name, state, detail } = unreachableVerification(c.name, err);
    return { name, state, detail };
  });
}

/** Looks at one front-end: one verdict per registry certificate, in the registry's order; changes nothing. */
export async function checkFrontEnd(
  deps: DriftDeps,
  env: Environment,
  fe: FrontEnd,
  certificates: readonly EnvCertificate[],
): Promise<DriftHost> {
  const host = { frontEnd: fe.name, host: fe.host };
  if (certificates.length === 0) return { ...host, certificates: [] };
  const expected = certificates
    .map((c) => expectedFromRegistry(c, env.platform))
    .filter((e): e is ExpectedCertificate => e !== undefined);
  let verdicts = new Map<string, DriftCertificate>();
  if (expected.length > 0) {
    const lock = await waitForHost(deps, fe);
    if (!lock) {
      const busy = new TargetError(
        'host_timeout',
        'an install held this host for the whole check; check again',
      );
      return { ...host, certificates: allUnreachable(certificates, busy) };
    }
    try {
      const login = await sshTargetFor(fe, {
        readyTimeoutMs: deps.config.sshConnectTimeoutMs,
        commandTimeoutMs: deps.config.sshStepTimeoutMs,
      });
      const seen = await verifyOnHost(login, expected, {
        platform: env.platform,
        installDir: env.installDir,
        ...(env.owner ? { owner: env.owner } : {}),
        ...(env.windows?.keyReaders ? { keyReaders: env.windows.keyReaders } : {}),
        ...(env.platform === 'linux' ? { pool: deps.pool } : {}),
      });
      verdicts = new Map(seen.certificates.map(({ name, state, detail }) => [name, { name, state, detail }]));
    } catch (err) {
      return { ...host, certificates: allUnreachable(certificates, err) };
    } finally {
      await lock.release();
    }
  }
  return {
    ...host,
    certificates: certificates.map(
      (c) => verdicts.get(c.name) ?? { name: c.name, state: 'unreachable', detail: UNCHECKABLE },
    ),
  };
}

/** Starts the check a scheduled run does itself; undefined when one is running already. */
async function beginScheduled(deps: DriftDeps, env: Environment): Promise<DriftCheck['id'] | undefined> {
  const begun = await deps.store.driftChecks.begin({
    environment: env.name,
    trigger: 'schedule',
    requestedBy: null,
    total: env.frontEnds.length,
  });
  return begun.alreadyRunning ? undefined : begun.id;
}

/**
 * The drift-check job: every front-end of the environment against every certificate of
 * its registry, `concurrency` hosts at once, each host's verdicts stored as it finishes.
 * Read-only on the hosts. A scheduled run while a check is running does nothing.
 */
export async function processDriftCheck(
  deps: DriftDeps,
  { payload: { environment, checkId } }: JobRun<'drift-check'>,
): Promise<DriftCheckResult> {
  const checks = deps.store.driftChecks;
  const env = findEnvironment(deps.inventory(), environment);
  if (!env) {
    // removed from the inventory after the check was asked for: nothing left to look at
    if (checkId) await checks.finish({ id: checkId, environment });
    return { checkId: checkId ?? '', skipped: true };
  }
  const id = checkId ?? (await beginScheduled(deps, env));
  if (id === undefined) return { checkId: '', skipped: true };
  const current = await checks.get(id);
  // a repeated delivery of a check that finished (or was replaced) changes nothing
  if (!current || current.status === 'done') return { checkId: id, skipped: true };

  const ref = { id, environment };
  const log = deps.logger.child({ environment, checkId: id });
  try {
    const certificates = await deps.store.registry.list(environment);
    const limit = pLimit(Math.max(1, deps.config.concurrency));
    await Promise.all(
      env.frontEnds.map((fe) =>
        limit(async () => checks.putHost(ref, await checkFrontEnd(deps, env, fe, certificates))),
      ),
    );
  } finally {
    await checks.finish(ref);
  }
  const done = await checks.get(id);
  const findings = done ? driftFindings(done) : [];
  log.info({ hosts: env.frontEnds.length, findings: findings.length }, 'drift check done');
  if (done && findings.length > 0) await deps.onFindings?.(done, findings);
  return { checkId: id, findings };
}
