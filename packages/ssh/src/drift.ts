import { sha256 } from './planned-file.js';
import type { Platform } from './platform.js';
import type { SessionPool } from './session-pool.js';
import type { SshSession } from './ssh-session.js';
import { TargetError, type TargetErrorCode } from './target-error.js';

/**
 * What the drift probe found for one certificate on one front-end: `ok` (everything as
 * installed), `missing` (a file or the store entry is absent), `different` (present, but
 * other bytes, mode, owner, key or key ACL), `unreachable` (certfleet could not look:
 * the host, its login or one of its reads failed; never a sign that the certificate is gone).
 */
export type DriftState = 'ok' | 'missing' | 'different' | 'unreachable';

/** One file as it was installed. */
export interface ExpectedFile {
  /** Lowercase hex SHA-256 of its bytes. */
  sha256: string;
  /** Its length in bytes: a file of another length is `different` and is not read. */
  size: number;
}

/** One certificate as the environment's registry says it was installed. */
export interface ExpectedCertificate extends ExpectedFile {
  /** The certificate name; `<installDir>/<name>.pfx` is checked (CERT_NAME). */
  name: string;
  /** `<name>.ca<N>.cer`, N = 1…, in chain order (the leaf's issuer first). */
  caFiles: ExpectedFile[];
  /** Windows (required there): SHA-1 thumbprint of the certificate in LocalMachine\My. */
  thumbprint?: string;
}

/** How to reach and judge the certificates of one front-end (the environment's settings). */
export interface VerifyOptions {
  platform: Platform;
  /** The environment's installDir, as for installOnHost. */
  installDir: string;
  /** Linux: the owner every file must have (`uid:gid`, or a name looked up once with `id`); unchecked when absent. */
  owner?: string;
  /** Linux: the permission bits every file must have. Default FILE_MODE (0640), what installs write. */
  mode?: number;
  /** Windows: who must have Read on the private key. Default KEY_READER_SIDS (IIS_IUSRS, NETWORK SERVICE). */
  keyReaders?: string[];
  /** Share connections with installs (the connection is handed back only when nothing failed). */
  pool?: SessionPool;
}

/** The verdict on one certificate. */
export interface CertificateVerification {
  name: string;
  state: DriftState;
  /** One line: what differs (`sha256 differs: /srv/certs/acme.pfx`), or what was checked when ok. */
  detail: string;
  /** `unreachable` only: why certfleet could not look (the detail starts with it too). */
  error?: TargetErrorCode;
}

/** What the drift probe found on one front-end, one entry per expected certificate, in order. */
export interface HostVerification {
  host: string;
  port: number;
  certificates: CertificateVerification[];
}

/** One platform's probe over an open session: one verdict per expected certificate, in order. */
export type Verifier = (
  session: SshSession,
  expected: ExpectedCertificate[],
  options: VerifyOptions,
) => Promise<CertificateVerification[]>;

/** One thing out of place. */
export interface Finding {
  state: 'missing' | 'different';
  detail: string;
}

/** What a host shows of one file: undefined when absent; `sha256` only when it was read. */
export interface ObservedFile {
  size: number;
  sha256?: string;
}

/** The expected state of a certificate computed from its bytes (when the PFX is at hand). */
export function expectedCertificate(
  name: string,
  pfx: Buffer,
  caCertificates: Buffer[],
  thumbprint?: string,
): ExpectedCertificate {
  const file = (data: Buffer): ExpectedFile => ({ sha256: sha256(data), size: data.length });
  return {
    name,
    ...file(pfx),
    caFiles: caCertificates.map(file),
    ...(thumbprint === undefined ? {} : { thumbprint }),
  };
}

/** Absent, another length, or other bytes; nothing when the file is as installed. */
export function judgeFile(path: string, expected: ExpectedFile, seen: ObservedFile | undefined): Finding[] {
  if (seen === undefined) return [{ state: 'missing', detail: `file absent: ${path}` }];
  if (seen.size !== expected.size) {
    return [{ state: 'different', detail: `size ${seen.size} bytes, expected ${expected.size}: ${path}` }];
  }
  if (seen.sha256 !== expected.sha256.toLowerCase()) {
    return [{ state: 'different', detail: `sha256 differs: ${path}` }];
  }
  return [];
}

/**
 * The certificate's state from everything found: `missing` when anything is absent, else
 * `different` when anything differs; the detail lists every finding, `; `-separated.
 */
export function verdict(name: string, findings: Finding[], okDetail: string): CertificateVerification {
  if (findings.length === 0) return { name, state: 'ok', detail: okDetail };
  const state = findings.some((f) => f.state === 'missing') ? 'missing' : 'different';
  return { name, state, detail: findings.map((f) => f.detail).join('; ') };
}

/** `unreachable` for a failure that kept certfleet from looking; other errors are bugs and rethrown. */
export function unreachableVerification(name: string, err: unknown): CertificateVerification {
  if (!(err instanceof TargetError)) throw err;
  return { name, state: 'unreachable', detail: `${err.code}: ${err.message}`, error: err.code };
}

/** What an ok verdict says was checked: the .pfx path and how many CA files. */
export function okDetail(path: string, caFiles: number, extra = ''): string {
  const cas = caFiles === 0 ? '' : ` and ${caFiles} CA file${caFiles === 1 ? '' : 's'}`;
  return `as installed: ${path}${cas}${extra}`;
}
