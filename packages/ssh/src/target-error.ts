import type { TargetErrorCode } from '@certfleet/contract';

/** The one list of target error codes is the contract's; the worker's own checks are the last three. */
export { TARGET_ERROR_CODES, type TargetErrorCode } from '@certfleet/contract';

/**
 * Failures that another attempt cannot fix without a person acting first. The rest
 * (network, timeouts, a corrupted upload, a remote command that failed for a reason we
 * cannot tell) are retried with backoff.
 */
const PERMANENT: ReadonlySet<TargetErrorCode> = new Set([
  'host_key_mismatch',
  'auth_failed',
  'permission_denied',
  'disk_full',
  // the worker's own: the job must be submitted again, or a person retries it
  'inventory_changed',
  'secret_expired',
  'interrupted',
  // canary rollout: the host was left alone because the canary failed
  'canary_failed',
]);

/** True when retrying `code` cannot help until someone fixes the host or the inventory. */
export function isPermanent(code: TargetErrorCode): boolean {
  return PERMANENT.has(code);
}

/**
 * A failed step on one front-end. The message says what the operator should do; it
 * never holds a password, a PFX or key bytes (fingerprints only).
 */
export class TargetError extends Error {
  override readonly name = 'TargetError';
  readonly code: TargetErrorCode;
  readonly permanent: boolean;

  constructor(code: TargetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    Object.setPrototypeOf(this, new.target.prototype);
    this.code = code;
    this.permanent = isPermanent(code);
  }
}
