export { buildApp } from './app.js';
export type { ApiDeps, BuildOptions } from './app.js';
export { startApi } from './start.js';
export type { RunningApi } from './start.js';
export { parsePrincipals, loadPrincipals, sha256Hex } from './principals.js';
export type { Principal, Role } from './principals.js';
