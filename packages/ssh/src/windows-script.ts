import { readFileSync } from 'node:fs';

/**
 * What the Windows adapter runs on a front-end, and how it gets there.
 *
 * Windows OpenSSH hands an exec request to cmd.exe (`cmd.exe /c <command>`), whose command
 * line ends at 8191 characters and whose quoting rules differ from every other shell. So the
 * command line is always the same short, constant bootstrap (base64 is safe in cmd.exe),
 * and everything else travels on stdin: the real script's source, its inputs (paths, name,
 * expected SHA-256s, reader identities) and, on a line of its own, the PFX password. No
 * input is ever part of any source text, so no password or name can change what runs, and
 * the password reaches no cmdlet parameter (PowerShell Module Logging records those).
 * The scripts are PowerShell files beside this one (windows/*.ps1).
 */

/** The protocol version the script expects in `input.version`. */
export const WINDOWS_PROTOCOL = 2;

/** The store the client certificate is imported into; also reported in InstallResult.store. */
export const WINDOWS_STORE = 'LocalMachine\\My';

/** IIS_IUSRS and NETWORK SERVICE: group names are localised, well-known SIDs are not. */
export const KEY_READER_SIDS = ['S-1-5-32-568', 'S-1-5-20'] as const;

/** Where the key goes unless the environment names another CNG key storage provider. */
export const DEFAULT_KEY_PROVIDER = 'Microsoft Software Key Storage Provider';

function windowsSource(file: string): string {
  return readFileSync(new URL(`./windows/${file}`, import.meta.url), 'utf8').replace(/\r\n/g, '\n');
}

/**
 * Runs under `powershell -EncodedCommand` (windows/bootstrap.ps1 without its comment lines,
 * to keep the command line short): refuses Constrained
 * Language Mode, reads stdin with .NET, parses the (password-free) inputs and runs the
 * script with them and the stdin reader; the script reads the password line itself.
 */
export const WINDOWS_BOOTSTRAP = windowsSource('bootstrap.ps1')
  .split('\n')
  .filter((line) => !line.startsWith('#'))
  .join('\n');

/** PowerShell's `-EncodedCommand` form: base64 of the UTF-16LE text. */
export function encodePowerShellCommand(script: string): string {
  return Buffer.from(script, 'utf16le').toString('base64');
}

/** The inverse of `encodePowerShellCommand` (used by tests and the emulator). */
export function decodePowerShellCommand(encoded: string): string {
  return Buffer.from(encoded, 'base64').toString('utf16le');
}

/**
 * The exact command line the adapter sends: Windows PowerShell 5.1, no profile (a profile
 * could print or prompt), never interactive (a prompt would hang until the deadline).
 * `-ExecutionPolicy Bypass` applies to this process only; a Group Policy still wins.
 */
export const WINDOWS_BOOTSTRAP_COMMAND =
  'powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ' +
  encodePowerShellCommand(WINDOWS_BOOTSTRAP);

/**
 * The install script, windows/install.ps1 (its header and comments say what each step does
 * and why). Windows PowerShell 5.1 on .NET Framework 4.7.2+; its Windows-only steps are a
 * few named functions at its top, which certfleet's tests replace to run the rest under
 * PowerShell 7 on Linux.
 *
 * It prints exactly one JSON line (ASCII: everything else is \u-escaped):
 * `{"thumbprint","store","path","keyProvider","changed","kept"}` and exits 0, or
 * `{"error","message"}` and exits 2 after cleaning up its temporary files. `error` is one
 * of hash_mismatch, permission_denied, disk_full, bad_password (only from opening the
 * PFX), key_store_failed, unknown_reader, unsupported_host, constrained_language,
 * invalid_input, failed.
 */
export const WINDOWS_INSTALL_SCRIPT = windowsSource('install.ps1');

/** One file the script checks and moves: Windows paths. */
export interface WindowsScriptFile {
  /** Final path, e.g. `D:\Certificates\acme.pfx`. */
  path: string;
  /** Where it was uploaded, in the same directory. */
  temp: string;
  /** Lowercase hex SHA-256 of the bytes sent. */
  sha256: string;
}

/** The script's inputs; they reach it as `$In`. */
export interface WindowsScriptInput {
  version: typeof WINDOWS_PROTOCOL;
  /** The certificate name (already checked against CERT_NAME). */
  name: string;
  /** The install directory in Windows form (`D:\Certificates`, `D:\`). */
  dir: string;
  pfx: WindowsScriptFile;
  /** In chain order: `<name>.ca1.cer` first. */
  caFiles: WindowsScriptFile[];
  /** Identities whose processes read the key: SIDs or names the host resolves. */
  readers: string[];
  /** The CNG key storage provider of the key. */
  keyProvider: string;
  /** Thumbprints of earlier certificates of this name to leave in the store: the previous version (rollback). */
  keep?: string[];
}

/** What the script reports on success. */
export interface WindowsSuccess {
  thumbprint: string;
  store: string;
  path: string;
  /** The key storage provider that holds the private key. */
  keyProvider: string;
  changed: string[];
  /** What the script left in place on purpose, and why (e.g. a certificate IIS still uses). */
  kept: string[];
}

/** What the script reports when it fails (exit code 2). */
export interface WindowsFailure {
  error: string;
  message: string;
}

/**
 * JSON with every character outside printable ASCII written as a `\uXXXX` escape: the
 * bytes on the wire are ASCII, so no code page on the host can alter them.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The bootstrap's stdin: three ASCII lines, the script (base64 of UTF-8), its inputs as
 * JSON, the password (base64 of UTF-8; empty when there is none).
 */
export function windowsStdin(script: string, input: unknown, password = ''): string {
  const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
  return `${b64(script)}\n${asciiJson(input)}\n${b64(password)}\n`;
}

const THUMBPRINT = /^[0-9A-Fa-f]{40}$/;

/**
 * ConvertTo-Json in Windows PowerShell writes a one-element string array as the string
 * itself when it is not inside a collection; both forms are a list.
 */
function stringList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
}

/** The last line of stdout that parses as a JSON object; undefined when there is none. */
function lastJsonObject(stdout: string): Record<string, unknown> | undefined {
  const last = stdout
    .split(/\r?\n/)
    .filter((l) => l.trim().startsWith('{'))
    .at(-1);
  if (last === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(last);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Windows PowerShell writes a one-element array inside an object as an array; be lenient anyway. */
function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/** The script's (or the bootstrap's) failure, when the answer is one. */
function failureIn(v: Record<string, unknown>): WindowsFailure | undefined {
  if (typeof v['error'] !== 'string') return undefined;
  return { error: v['error'], message: typeof v['message'] === 'string' ? v['message'] : '' };
}

/**
 * The script's answer: the last line of stdout that is a JSON object of either shape.
 * Undefined when there is none (PowerShell itself failed, or something else answered).
 */
export function parseWindowsAnswer(stdout: string): WindowsSuccess | WindowsFailure | undefined {
  const v = lastJsonObject(stdout);
  if (v === undefined) return undefined;
  const failure = failureIn(v);
  if (failure !== undefined) return failure;
  const changed = stringList(v['changed']);
  const kept = stringList(v['kept'] ?? []);
  if (
    typeof v['thumbprint'] === 'string' &&
    THUMBPRINT.test(v['thumbprint']) &&
    typeof v['store'] === 'string' &&
    typeof v['path'] === 'string' &&
    typeof v['keyProvider'] === 'string' &&
    changed !== undefined &&
    kept !== undefined
  ) {
    return {
      thumbprint: v['thumbprint'].toUpperCase(),
      store: v['store'],
      path: v['path'],
      keyProvider: v['keyProvider'],
      changed,
      kept,
    };
  }
  return undefined;
}

/** True for an answer from a failed script. */
export function isWindowsFailure(answer: WindowsSuccess | WindowsFailure): answer is WindowsFailure {
  return 'error' in answer;
}

/**
 * Windows PowerShell sometimes writes stderr as CLIXML (`#< CLIXML` then `<S S="Error">`
 * elements with `_x000D__x000A_` escapes); this turns it back into text.
 */
export function readableStderr(stderr: string): string {
  const text = stderr.replace(/^\uFEFF/, '');
  if (!text.trimStart().startsWith('#< CLIXML')) return text;
  const parts = [...text.matchAll(/<S S="Error">([\s\S]*?)<\/S>/g)].map((m) => m[1]!);
  return parts
    .join('')
    .replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** What the script's doctor action reports (read-only). */
export interface WindowsDiagnosis {
  powershell: string;
  dotnetRelease: number;
  languageMode: string;
  fips: boolean;
  moduleLogging: boolean;
  defaultShell: string;
  readers: { identity: string; sid: string | null }[];
}

function isReader(value: unknown): value is { identity: string; sid: string | null } {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return typeof r['identity'] === 'string' && (typeof r['sid'] === 'string' || r['sid'] === null);
}

/** The doctor action's answer (or the bootstrap's failure), from the last JSON line of stdout. */
export function parseWindowsDiagnosis(stdout: string): WindowsDiagnosis | WindowsFailure | undefined {
  const v = lastJsonObject(stdout);
  if (v === undefined) return undefined;
  const failure = failureIn(v);
  if (failure !== undefined) return failure;
  const readers = asList(v['readers']);
  if (
    typeof v['powershell'] !== 'string' ||
    typeof v['dotnetRelease'] !== 'number' ||
    typeof v['languageMode'] !== 'string' ||
    typeof v['defaultShell'] !== 'string' ||
    !readers.every(isReader)
  ) {
    return undefined;
  }
  return {
    powershell: v['powershell'],
    dotnetRelease: v['dotnetRelease'],
    languageMode: v['languageMode'],
    fips: v['fips'] === true,
    moduleLogging: v['moduleLogging'] === true,
    defaultShell: v['defaultShell'],
    readers,
  };
}

/** One file the verify action looks at: read only when its length is `size`. */
export interface WindowsVerifyFile {
  /** Windows path, e.g. `D:\Certificates\acme.pfx`, inside the input's `dir`. */
  path: string;
  size: number;
}

/** The verify action's inputs (read-only: it opens LocalMachine\My for reading only). */
export interface WindowsVerifyInput {
  version: typeof WINDOWS_PROTOCOL;
  action: 'verify';
  /** The install directory in Windows form. */
  dir: string;
  /** Identities that must have Read on each private key. */
  readers: string[];
  certificates: { name: string; thumbprint: string; pfx: WindowsVerifyFile; caFiles: WindowsVerifyFile[] }[];
}

/** A file as the verify action saw it: `size` null when absent, `sha256` null when not read. */
export interface WindowsFileFacts {
  path: string;
  size: number | null;
  sha256: string | null;
}

/** One certificate as the verify action found it. */
export interface WindowsCertificateFacts {
  name: string;
  /** The .pfx first, then the CA files in chain order. */
  files: WindowsFileFacts[];
  /** A certificate with the thumbprint is in LocalMachine\My. */
  inStore: boolean;
  /** Its private key is reachable from the store. */
  hasKey: boolean;
  /** SIDs with Read on that key. */
  readerSids: string[];
}

/** The verify action's answer. */
export interface WindowsVerification {
  certificates: WindowsCertificateFacts[];
  /** Each reader identity as this host resolves it (null: no such account). */
  readers: { identity: string; sid: string | null }[];
}

function fileFacts(value: unknown): WindowsFileFacts | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const f = value as Record<string, unknown>;
  const size = f['size'] ?? null;
  const digest = f['sha256'] ?? null;
  if (typeof f['path'] !== 'string' || (size !== null && typeof size !== 'number')) return undefined;
  if (digest !== null && (typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest))) return undefined;
  return { path: f['path'], size, sha256: digest };
}

function certificateFacts(value: unknown): WindowsCertificateFacts | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const c = value as Record<string, unknown>;
  const files = asList(c['files']).map(fileFacts);
  const readerSids = stringList(c['readerSids'] ?? []);
  if (
    typeof c['name'] !== 'string' ||
    typeof c['inStore'] !== 'boolean' ||
    typeof c['hasKey'] !== 'boolean' ||
    readerSids === undefined ||
    !files.every((f): f is WindowsFileFacts => f !== undefined)
  ) {
    return undefined;
  }
  return { name: c['name'], files, inStore: c['inStore'], hasKey: c['hasKey'], readerSids };
}

/** The verify action's answer (or a failure) from the last JSON line of stdout. */
export function parseWindowsVerification(stdout: string): WindowsVerification | WindowsFailure | undefined {
  const v = lastJsonObject(stdout);
  if (v === undefined) return undefined;
  const failure = failureIn(v);
  if (failure !== undefined) return failure;
  // an empty list comes back as [] (or, from ConvertTo-Json of nothing, as null)
  const certificates = v['certificates'] === null ? [] : asList(v['certificates']).map(certificateFacts);
  const readers = v['readers'] === null ? [] : asList(v['readers']);
  if (!certificates.every((c): c is WindowsCertificateFacts => c !== undefined) || !readers.every(isReader)) {
    return undefined;
  }
  return { certificates, readers };
}

/** The uninstall action's inputs (README: Uninstall). */
export interface WindowsUninstallInput {
  version: typeof WINDOWS_PROTOCOL;
  action: 'uninstall';
  name: string;
  /** The install directory in Windows form. */
  dir: string;
  /** The registry's thumbprint; '' to remove the entries named `certfleet <name>`. */
  thumbprint: string;
  /** Thumbprints whose LocalMachine\My entries stay: another environment on this host has them. */
  keep: string[];
  /** Every file of the name to delete, the .pfx first (Windows paths in `dir`). */
  files: string[];
  /** Its `<name>.ca<N>.cer` files: their certificates leave Root/CA unless another certfleet certificate needs them. */
  caFiles: string[];
}

/** What the uninstall action reports. */
export interface WindowsUninstallAnswer {
  path: string;
  removed: string[];
  kept: string[];
}

/** The uninstall action's answer (or a failure) from the last JSON line of stdout. */
export function parseWindowsUninstall(stdout: string): WindowsUninstallAnswer | WindowsFailure | undefined {
  const v = lastJsonObject(stdout);
  if (v === undefined) return undefined;
  const failure = failureIn(v);
  if (failure !== undefined) return failure;
  // ConvertTo-Json writes an empty list as [] (or, from nothing, as null)
  const removed = v['removed'] === null ? [] : stringList(v['removed']);
  const kept = v['kept'] === null ? [] : stringList(v['kept'] ?? []);
  if (typeof v['path'] !== 'string' || removed === undefined || kept === undefined) return undefined;
  return { path: v['path'], removed, kept };
}
