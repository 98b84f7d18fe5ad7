export { createNotifier, processNotify, reportBody, sinksFor } from './app.js';
export type { FleetNotifier, NotifierDeps, Sink } from './app.js';
export { startNotifier } from './start.js';
export type { RunningNotifier } from './start.js';
