import { createJobWorkers, JobName, startJobWorkers } from '@certfleet/jobs';
import { SessionPool } from '@certfleet/ssh';
import type { Worker } from 'bullmq';
import { processDriftCheck, type DriftDeps } from './drift-check.js';
import { repairDrift } from './drift-repair.js';
import { processExpiryWatch, type ExpiryWatchDeps } from './expiry-watch.js';
import { processInstall } from './finish-job.js';
import { HostLanes } from './host-lanes.js';
import { HostLocks } from './host-lock.js';
import { processTarget, type TargetDeps } from './install-target.js';
import { processReconcile } from './reconcile.js';
import { processWindowStart } from './window-start.js';
import type { WorkerDeps } from './worker-deps.js';

export interface FleetWorkers {
  install: Worker;
  installTarget: Worker;
  /** Drift checks (issue 16). */
  driftCheck: Worker;
  /** Compares environments with their certificates and asks for repairs. */
  reconcile: Worker;
  /** The daily (and on demand) expiry watch. */
  expiryWatch: Worker;
  /** Wake-ups of jobs scheduled for a maintenance window. */
  windowStart: Worker;
  /** The Linux connection pool (its `stats` show handshakes saved). */
  pool: SessionPool;
  /** Starts taking work. */
  start(): void;
  /** Stops taking work and waits for running targets up to the deadline; what is left is handed back. */
  close(deadlineMs?: number): Promise<void>;
}

/** Builds the install and install-target workers; `start()` (called by start.ts) runs them. */
export function createWorkers(deps: WorkerDeps): FleetWorkers {
  const common = {
    lockDuration: deps.config.lockDurationMs,
    stalledInterval: Math.max(1000, Math.floor(deps.config.lockDurationMs / 2)),
    maxStalledCount: 5,
  };
  const targetDeps: TargetDeps = {
    ...deps,
    locks: new HostLocks(deps.store.redis, deps.store.keys, deps.config.lockDurationMs),
    lanes: new HostLanes(),
    pool: new SessionPool(),
  };
  // drift found by a check is repaired under the environment's repair policy, like a new front-end
  const driftDeps: DriftDeps = {
    ...targetDeps,
    onFindings: async (check, findings) => {
      await repairDrift(deps, check, findings);
    },
  };
  const expiryDeps: ExpiryWatchDeps = { ...deps, clock: deps.clock ?? (() => new Date()) };
  const {
    install,
    'install-target': installTarget,
    'drift-check': driftCheck,
    reconcile,
    'expiry-watch': expiryWatch,
    'window-start': windowStart,
  } = createJobWorkers(
    [
      JobName.Install,
      JobName.InstallTarget,
      JobName.DriftCheck,
      JobName.Reconcile,
      JobName.ExpiryWatch,
      JobName.WindowStart,
    ],
    {
      [JobName.Install]: (run) => processInstall(deps, run),
      [JobName.InstallTarget]: (run) => processTarget(targetDeps, run),
      [JobName.DriftCheck]: (run) => processDriftCheck(driftDeps, run),
      [JobName.Reconcile]: (run) => processReconcile(deps, run),
      [JobName.ExpiryWatch]: (run) => processExpiryWatch(expiryDeps, run),
      [JobName.WindowStart]: (run) => processWindowStart(deps, run),
    },
    {
      connection: deps.connection,
      prefix: deps.config.prefix,
      onError: (err) => deps.logger.error({ err: err.message }, 'worker error'),
      settings: {
        [JobName.Install]: { ...common, concurrency: 4 },
        [JobName.InstallTarget]: { ...common, concurrency: deps.config.concurrency },
        // one environment's check at a time per process; each looks at its hosts in parallel
        [JobName.DriftCheck]: { ...common, concurrency: 1 },
        [JobName.Reconcile]: { ...common, concurrency: 1 },
        [JobName.ExpiryWatch]: { ...common, concurrency: 1 },
        [JobName.WindowStart]: { ...common, concurrency: 4 },
      },
    },
  );
  return {
    install,
    installTarget,
    driftCheck,
    reconcile,
    expiryWatch,
    windowStart,
    pool: targetDeps.pool,
    start() {
      startJobWorkers([install, installTarget, driftCheck, reconcile, expiryWatch, windowStart]);
    },
    async close(deadlineMs = deps.config.shutdownTimeoutMs) {
      const graceful = Promise.all([
        installTarget.close(),
        install.close(),
        driftCheck.close(),
        reconcile.close(),
        expiryWatch.close(),
        windowStart.close(),
      ]);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), deadlineMs);
      });
      const outcome = await Promise.race([graceful.then(() => 'done' as const), deadline]);
      clearTimeout(timer);
      if (outcome === 'deadline') {
        // Targets still running keep their BullMQ lock until it expires; then another worker takes them over.
        deps.logger.warn({ deadlineMs }, 'shutdown deadline passed; running targets are handed back');
      }
      // idle connections now; one still in use is closed when its target hands it back
      await targetDeps.pool.close();
    },
  };
}
