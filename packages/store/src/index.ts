export * from './types.js';
export { FleetStore, INSTALL_BUCKETS, isValidCursor } from './fleet-store.js';
export type { FleetStoreOptions, ListQuery, ListResult, TransitionResult } from './fleet-store.js';
export { seal, unseal, SealError } from './seal.js';
export { FleetKeys, keyPrefix } from './keys.js';
