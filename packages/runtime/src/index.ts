/** Process start-up shared by every service: the core it opens, its logger, main and signals. */
export { openCore } from './core.js';
export type { FleetCore } from './core.js';
export { createLogger } from './logger.js';
export { runMain } from './run-main.js';
export type { Running } from './run-main.js';
export { refuseOn, StartError } from './start-error.js';
