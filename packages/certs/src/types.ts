import type { CertificateSummary } from '@certfleet/contract';

/** How a PFX is protected and what intake found in it: the contract's wire types (`@certfleet/contract`). */
export type { CertificateSummary, PfxEncryption } from '@certfleet/contract';

export interface InspectInput {
  /** The decoded .pfx/.p12 bytes. */
  pfx: Buffer;
  /** The PFX password; undefined for a file made without one (both empty forms are tried, as for ""). */
  password?: string | undefined;
  /** Extra CA certificates, each base64 DER or PEM text (one PEM text may hold several). */
  caCertificates?: string[];
  /** Re-encode an AES/PBES2 (or otherwise non-TripleDES) PFX instead of refusing it; default true. */
  normalize?: boolean;
}

export interface InspectOptions {
  /**
   * The budget for all password derivations of one PFX together, in units of one PKCS#12 SHA-1
   * KDF iteration (other KDFs count by their measured cost); default 2 000 000.
   */
  maxIterations?: number;
  /** Largest decoded PFX accepted, in bytes; default 1 MiB. */
  maxBytes?: number;
  /** The time validity is checked against; default now. */
  now?: Date;
  /** `inspectPfx` only: how long the worker thread may take; default 10 000 ms. */
  timeoutMs?: number;
}

export interface InspectedPfx {
  certificate: CertificateSummary;
  /** The bytes to install: the submitted bytes exactly, unless normalised. */
  pfx: Buffer;
  /** The password that opens `pfx`: the submitted one, or "" for a file without password. */
  password: string;
  /** DER, from the leaf's issuer up to the self-signed root (installed as <name>.ca1.cer, ca2, …). */
  caChain: Buffer[];
}
