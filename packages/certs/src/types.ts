/** How a PFX is protected, as shown on the job. */
export interface PfxEncryption {
  /** The private key's encryption: '3des', 'aes-256-cbc', 'rc2-40', 'rc4-128', 'none', … ('+' joins several). */
  key: string;
  /** The certificates' encryption, same names; 'none' when stored in clear. */
  certificates: string;
  /** The integrity MAC's hash: 'sha1', 'sha256', …; 'none' without MAC. */
  mac: string;
  /** The highest KDF iteration count in the file. */
  iterations: number;
}

/** The job's `certificate` field. */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  /** Lowercase hex. */
  serialNumber: string;
  /** SHA-256 of the leaf's DER, lowercase hex without separators. */
  fingerprintSha256: string;
  /** ISO 8601. */
  notBefore: string;
  /** ISO 8601. */
  notAfter: string;
  /** The installed file's protection (after normalisation, if any). */
  pfxEncryption: PfxEncryption;
  normalized: boolean;
  /** The submitted file's protection, when it was re-encoded. */
  normalizedFrom?: PfxEncryption;
  /** Subjects from the leaf to the self-signed root (the leaf alone when it is self-signed). */
  chain: string[];
  /**
   * Set when the PFX has no password. PKCS#12 has two forms of it, and Windows' PFXImportCertStore
   * opens a file only with the form it was made with: `null` (a zero-length password, what NULL
   * makes) or `empty` (the empty string: two zero bytes). `submitted` is the form the file used
   * (`both` when its parts differ, `none` when nothing in it tells the two apart);
   * `installed` is always `empty`: the front-ends are given the empty string "", never NULL.
   */
  emptyPassword?: { submitted: 'null' | 'empty' | 'both' | 'none'; installed: 'empty' };
  warnings: string[];
}

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
