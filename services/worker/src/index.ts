export { createWorkers, processInstall, processTarget, finalStatus } from './app.js';
export type { FleetWorkers, WorkerDeps } from './app.js';
export { startWorker } from './start.js';
export type { RunningWorker } from './start.js';
