export { finalStatus, processInstall } from './finish-job.js';
export { processTarget } from './install-target.js';
export type { TargetDeps } from './install-target.js';
export { EXPIRY_WATCH_SCHEDULER, startWorker } from './start.js';
export type { RunningWorker, WorkerOptions } from './start.js';
export { processExpiryWatch } from './expiry-watch.js';
export type { ExpiryWarning, ExpiryWatchDeps, ExpiryWatchResult } from './expiry-watch.js';
export { crossedThreshold, daysLeft } from './expiry-thresholds.js';
export type { WorkerDeps } from './worker-deps.js';
export { createWorkers } from './workers.js';
export type { FleetWorkers } from './workers.js';
// Reconcile and repair jobs (README: Keeping environments right).
export { reconcileAll } from './reconcile.js';
export type { ReconcileResult } from './reconcile.js';
export { compareEnvironment } from './reconcile-compare.js';
export type { CertificateState, EnvironmentComparison, MissingCertificate } from './reconcile-compare.js';
export { requestRepair, SYSTEM_ACTOR } from './repair.js';
export type { RepairOutcome } from './repair.js';
export { RepairError } from './repair-error.js';
