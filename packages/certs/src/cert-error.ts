/** Why a submitted PFX (or CA file) was refused; the API answers `{ error: code, message }`. */
export type CertErrorCode =
  | 'payload_too_large'
  | 'pfx_unreadable'
  | 'pfx_bad_password'
  | 'pfx_unsupported_encryption'
  | 'pfx_kdf_too_expensive'
  | 'pfx_no_private_key'
  | 'pfx_multiple_keys'
  | 'pfx_key_mismatch'
  | 'cert_expired'
  | 'cert_not_yet_valid'
  | 'cert_not_client_auth'
  | 'chain_incomplete'
  | 'ca_unreadable';

const CODES: ReadonlySet<string> = new Set<CertErrorCode>([
  'payload_too_large',
  'pfx_unreadable',
  'pfx_bad_password',
  'pfx_unsupported_encryption',
  'pfx_kdf_too_expensive',
  'pfx_no_private_key',
  'pfx_multiple_keys',
  'pfx_key_mismatch',
  'cert_expired',
  'cert_not_yet_valid',
  'cert_not_client_auth',
  'chain_incomplete',
  'ca_unreadable',
]);

/** The plain form of a CertError that crosses a thread boundary. */
export interface CertErrorData {
  code: CertErrorCode;
  message: string;
}

/**
 * A refused certificate. The message tells the customer what to do; it never holds the
 * password or key material (subjects, fingerprints and algorithm names only).
 */
export class CertError extends Error {
  override readonly name = 'CertError';
  readonly code: CertErrorCode;
  /** 413 for `payload_too_large`, 422 for everything else. */
  readonly statusCode: 413 | 422;

  constructor(code: CertErrorCode, message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
    this.code = code;
    this.statusCode = code === 'payload_too_large' ? 413 : 422;
  }

  toData(): CertErrorData {
    return { code: this.code, message: this.message };
  }

  /** Rebuilds a CertError from `toData()`; undefined when `data` is not one. */
  static fromData(data: unknown): CertError | undefined {
    if (typeof data !== 'object' || data === null) return undefined;
    const { code, message } = data as Record<string, unknown>;
    if (typeof code !== 'string' || !CODES.has(code) || typeof message !== 'string') return undefined;
    return new CertError(code as CertErrorCode, message);
  }
}
