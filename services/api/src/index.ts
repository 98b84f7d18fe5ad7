export { buildApp } from './app.js';
export type { ApiDeps, BuildOptions } from './app.js';
export { startApi } from './start.js';
export type { ApiOptions, RunningApi } from './start.js';
export { parsePrincipals, loadPrincipals, sha256Hex, PrincipalsSchema } from './principals.js';
export { AUTHORIZATION_PATTERNS } from './authorization-header.js';
export type { Principal, Role } from './principals.js';
