export { CertError, type CertErrorCode, type CertErrorData } from './cert-error.js';
export { DEFAULT_MAX_BYTES, DEFAULT_MAX_ITERATIONS, inspectPfxSync } from './inspect.js';
export { inspectPfx } from './inspect-thread.js';
export { REENCODE_RECIPE } from './recipe.js';
export type * from './types.js';
