import { posix } from 'node:path';
import { NAME_PATTERN } from '@certfleet/contract';
import type { SshSession } from './ssh-session.js';

/** The operating system of a front-end; each has its own adapter. */
export type Platform = 'linux' | 'windows';

/** What to install on one front-end. */
export interface InstallRequest {
  /** Absolute for the platform; from the operator's inventory. */
  installDir: string;
  /** The file name without extension: [a-z0-9][a-z0-9._-]{0,63}. */
  name: string;
  /** The exact bytes of the .pfx to install. */
  pfx: Buffer;
  /** DER certificates from the leaf's issuer up to the root; installed as <name>.ca<N>.cer. */
  caCertificates: Buffer[];
  /** Linux: chown the files (and a directory certfleet creates) to this user. */
  owner?: string;
  /** Windows: the PFX password for the import; sent over stdin only, never logged. */
  password?: string;
  /** Windows: who may read the private key (SIDs or names the host resolves). Default IIS_IUSRS, NETWORK SERVICE. */
  keyReaders?: string[];
  /** Windows: the CNG key storage provider for the key. Default Microsoft Software Key Storage Provider. */
  keyProvider?: string;
  /** Windows: earlier certificates of this name the store keeps (the previous version, for a rollback). */
  keepThumbprints?: string[];
}

/** What ended up on the host. */
export interface InstallResult {
  /** Where the .pfx is, in the platform's form. */
  path: string;
  /** Lowercase hex SHA-256 of the .pfx. */
  sha256: string;
  /** True when everything was already in place and nothing was written. */
  unchanged: boolean;
  /** Paths of <name>.ca<N>.cer, N = 1… */
  caPaths: string[];
  /** Windows: SHA-1 thumbprint (uppercase hex) of the certificate in the machine store. */
  thumbprint?: string;
  /** Windows: the store that holds it, `LocalMachine\My`. */
  store?: string;
  /** Windows: the key storage provider that holds the private key. */
  keyProvider?: string;
  /** Windows: what was left in place on purpose, and why (a superseded certificate IIS still uses). */
  kept?: string[];
  /** Windows: what this install changed (`file:…`, `store:…`, `acl:<SID>`, `removed:…`); empty when unchanged. */
  changed?: string[];
}

/** What to remove from one front-end (README: Uninstall). */
export interface UninstallRequest {
  installDir: string;
  name: string;
  /** Windows: the thumbprint the registry recorded; absent: the store entries named `certfleet <name>`. */
  thumbprint?: string;
  /** Windows: thumbprints another environment on this host still has installed: their store entries stay. */
  keepThumbprints?: string[];
}

/** What an uninstall removed from one front-end. */
export interface UninstallResult {
  /** Where the .pfx was, in the platform's form. */
  path: string;
  /** `file:<path>`, and on Windows `key:<thumbprint>`, `store:LocalMachine\<store>:<thumbprint>`. */
  removed: string[];
  /** Nothing was left to remove. */
  unchanged: boolean;
  /** Windows: what stayed on purpose, and why (a CA another certificate needs, a shared entry). */
  kept: string[];
}

/** Installs on one platform over an open session. */
export interface PlatformAdapter {
  readonly platform: Platform;
  /** Where `<name>.pfx` lives under `installDir`. */
  pathFor(installDir: string, name: string): string;
  install(session: SshSession, req: InstallRequest): Promise<InstallResult>;
  /** Removes the files (and on Windows the store entries) of one certificate name. */
  uninstall(session: SshSession, req: UninstallRequest): Promise<UninstallResult>;
}

/** The certificate name of the wire contract (the API checks the same pattern at intake). */
export const CERT_NAME = new RegExp(NAME_PATTERN);

/** Throws unless `name` is a valid certificate name (so it is safe in paths and commands). */
export function assertCertName(name: string): void {
  if (!CERT_NAME.test(name)) {
    throw new TypeError(
      `invalid certificate name ${JSON.stringify(name)}: expected ${NAME_PATTERN.slice(1, -1)}`,
    );
  }
}

/** An absolute Linux directory without trailing slashes (`/` stays `/`). */
export function linuxDir(installDir: string): string {
  if (!installDir.startsWith('/') || installDir.includes('\0')) {
    throw new TypeError(`installDir must be an absolute Linux path: ${JSON.stringify(installDir)}`);
  }
  return posix.normalize(installDir).replace(/(.)\/+$/, '$1');
}

const WINDOWS_ABSOLUTE = /^(?:[A-Za-z]:[\\/]|\\\\[^\\/]+[\\/][^\\/]+)/;

/** An absolute Windows directory with backslashes and no trailing separator (`D:\` stays `D:\`). */
export function windowsDir(installDir: string): string {
  if (!WINDOWS_ABSOLUTE.test(installDir) || installDir.includes('\0')) {
    throw new TypeError(`installDir must be an absolute Windows path: ${JSON.stringify(installDir)}`);
  }
  const dir = installDir.replace(/\//g, '\\').replace(/\\+$/, '');
  return /^[A-Za-z]:$/.test(dir) ? `${dir}\\` : dir;
}

function joinFor(platform: Platform, installDir: string, file: string): string {
  if (platform === 'linux') return posix.join(linuxDir(installDir), file);
  const dir = windowsDir(installDir);
  return dir.endsWith('\\') ? `${dir}${file}` : `${dir}\\${file}`;
}

/** Pure: where `<name>.pfx` lives for a platform (the API uses it to compute the plan). */
export function installPath(platform: Platform, installDir: string, name: string): string {
  assertCertName(name);
  return joinFor(platform, installDir, `${name}.pfx`);
}

/** Pure: where the N-th CA certificate (1 = the leaf's issuer) lives as a file. */
export function caPath(platform: Platform, installDir: string, name: string, n: number): string {
  assertCertName(name);
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`CA index must be 1 or more: ${n}`);
  return joinFor(platform, installDir, `${name}.ca${n}.cer`);
}
