export { finalStatus, processInstall } from './finish-job.js';
export { processTarget } from './install-target.js';
export type { TargetDeps } from './install-target.js';
export { startWorker } from './start.js';
export type { RunningWorker } from './start.js';
export type { WorkerDeps } from './worker-deps.js';
export { createWorkers } from './workers.js';
export type { FleetWorkers } from './workers.js';
