import { describeHost, type HostContext } from './classify-error.js';
import { DIR_MODE, FILE_MODE, isLeftoverTemp, staleCaFiles, tempNameFor } from './linux-adapter.js';
import {
  assertCertName,
  installPath,
  windowsDir,
  type InstallRequest,
  type InstallResult,
  type PlatformAdapter,
} from './platform.js';
import { planFiles, type PlannedFile } from './planned-file.js';
import type { RemoteFs } from './remote-fs.js';
import type { ExecResult, SshSession } from './ssh-session.js';
import { TargetError } from './target-error.js';
import { uninstallWindows } from './windows-uninstall.js';
import {
  DEFAULT_KEY_PROVIDER,
  KEY_READER_SIDS,
  WINDOWS_BOOTSTRAP_COMMAND,
  WINDOWS_INSTALL_SCRIPT,
  WINDOWS_PROTOCOL,
  WINDOWS_STORE,
  isWindowsFailure,
  parseWindowsAnswer,
  readableStderr,
  windowsStdin,
  type WindowsFailure,
  type WindowsScriptFile,
  type WindowsScriptInput,
  type WindowsSuccess,
} from './windows-script.js';

/** PowerShell's start and a PFX import take seconds; a slow host gets at least this long. */
export const SCRIPT_TIMEOUT_MS = 60_000;

/** Longest excerpt of the host's own words kept in a message. */
const EXCERPT = 400;

const DRIVE_PATH = /^([A-Za-z]):(?:\\(.*))?$/;
/** Characters Windows refuses in a file or folder name (and the ASCII controls). */
// eslint-disable-next-line no-control-regex
const BAD_COMPONENT = /[<>:"|?*\u0000-\u001f]/;

/**
 * `/D:/Certificates/acme.pfx`: how Windows OpenSSH's SFTP server names
 * `D:\Certificates\acme.pfx`. Only drive-letter paths: a UNC share is not reachable from
 * an SSH logon without a password (no credentials to forward), so it is refused up front.
 */
export function sftpPathFor(windowsPath: string): string {
  const m = DRIVE_PATH.exec(windowsPath);
  if (m === null) {
    throw new TypeError(
      `a Windows installDir must be on a drive letter (D:\\Certificates), not ${JSON.stringify(windowsPath)}: ` +
        'Windows OpenSSH cannot reach a network share for certfleet',
    );
  }
  const parts = (m[2] ?? '').split('\\').filter((p) => p !== '');
  for (const part of parts) {
    if (part === '.' || part === '..' || BAD_COMPONENT.test(part) || /[. ]$/.test(part)) {
      throw new TypeError(
        `${JSON.stringify(windowsPath)} is not a usable Windows path (component ${JSON.stringify(part)})`,
      );
    }
  }
  return `/${m[1]!.toUpperCase()}:/${parts.join('/')}`;
}

/** One file of an install, with the path SFTP reaches it by. */
export interface WindowsPlannedFile extends PlannedFile {
  /** `/D:/Certificates/<base>` for `D:\\Certificates\\<base>`. */
  sftpPath: string;
}

/** The .pfx first, then the CA files in chain order. */
export function planWindowsFiles(dir: string, req: InstallRequest): WindowsPlannedFile[] {
  return planFiles('windows', dir, req).map((f) => ({ ...f, sftpPath: sftpPathFor(f.path) }));
}

/** `dir\file` in Windows form (`D:\` already ends with its separator). */
function windowsJoin(dir: string, file: string): string {
  return dir.endsWith('\\') ? `${dir}${file}` : `${dir}\\${file}`;
}

function sftpJoin(dir: string, file: string): string {
  return dir.endsWith('/') ? `${dir}${file}` : `${dir}/${file}`;
}

/**
 * Creates the install directory and its missing parents, top down from the drive root.
 * The drive root itself is never asked about: what Windows OpenSSH answers for `/D:` varies.
 * True when `sftpDir` was created by this call.
 */
async function ensureDirectory(fs: RemoteFs, ctx: HostContext, sftpDir: string): Promise<boolean> {
  const existing = await fs.stat(sftpDir);
  if (existing?.isDirectory) return false;
  const [drive, ...parts] = sftpDir.split('/').filter((p) => p !== '');
  let path = `/${drive}`;
  let created = false;
  for (const part of parts) {
    path += `/${part}`;
    const entry = await fs.stat(path);
    if (entry?.isDirectory) continue;
    if (entry !== undefined) {
      throw new TargetError(
        'remote_command_failed',
        `${describeHost(ctx)}: ${path} exists and is not a folder. Fix installDir in the inventory or ` +
          'remove that file on the front-end.',
      );
    }
    try {
      await fs.mkdir(path, DIR_MODE);
    } catch (err) {
      // created meanwhile by another session: fine
      if (!(await fs.stat(path))?.isDirectory) throw err;
    }
    created = true;
  }
  return created;
}

/** `text` with every occurrence of the password replaced; messages quote the host's words. */
export function redact(text: string, password: string | undefined): string {
  if (!password) return text;
  // the password travels base64-encoded on its stdin line: neither form may be quoted back
  const base64 = Buffer.from(password, 'utf8').toString('base64');
  return text.split(password).join('[password]').split(base64).join('[password]');
}

function excerpt(text: string): string {
  return text.trim().replace(/\s+/g, ' ').slice(0, EXCERPT);
}

/**
 * Turns what the script (or PowerShell, or cmd.exe) answered into the script's success, or
 * throws the TargetError that fits. Nothing the password could be part of reaches a message
 * unredacted.
 */
export function interpretScriptResult(
  ctx: HostContext,
  result: ExecResult,
  expectedPath: string,
  password: string | undefined,
): WindowsSuccess {
  const where = describeHost(ctx);
  const answer = parseWindowsAnswer(result.stdout);
  if (result.code === 0 && answer !== undefined && !isWindowsFailure(answer)) {
    if (answer.path.toLowerCase() !== expectedPath.toLowerCase()) {
      throw new TargetError(
        'remote_command_failed',
        `${where}: the install script reported ${JSON.stringify(answer.path)}, not ${JSON.stringify(expectedPath)}; ` +
          'this is a certfleet bug, report it.',
      );
    }
    return answer;
  }
  if (answer !== undefined && isWindowsFailure(answer)) throw failureError(ctx, answer, password);
  throw noAnswerError(ctx, result, password);
}

/** The script printed no answer of its own: PowerShell (or cmd.exe) failed before it ran. */
export function noAnswerError(
  ctx: HostContext,
  result: ExecResult,
  password: string | undefined,
): TargetError {
  const status = result.signal ? `signal ${result.signal}` : `exit code ${result.code}`;
  const said = excerpt(redact(readableStderr(result.stderr) || result.stdout, password));
  return new TargetError(
    'remote_command_failed',
    `${describeHost(ctx)}: the Windows install script did not answer (${status})${said ? `: ${said}` : ''}. ` +
      "Check that Windows PowerShell 5.1 runs for certfleet's user: fleetctl doctor <environment> shows what it finds.",
  );
}

/** The TargetError for a failure the script (or the bootstrap) reported. */
export function failureError(
  ctx: HostContext,
  failure: WindowsFailure,
  password: string | undefined,
): TargetError {
  const where = describeHost(ctx);
  const message = excerpt(redact(failure.message, password));
  switch (failure.error) {
    case 'hash_mismatch':
      return new TargetError(
        'hash_mismatch',
        `${where}: ${message}; the upload was damaged and is removed. certfleet retries.`,
      );
    case 'permission_denied':
      return new TargetError(
        'permission_denied',
        `${where}: user '${ctx.username}' may not install into ${WINDOWS_STORE} or the install folder ` +
          `(${message}). certfleet must log in as a member of the Administrators group of the front-end.`,
      );
    case 'disk_full':
      return new TargetError(
        'disk_full',
        `${where}: no space left on the front-end (${message}). Free space on its drive, then retry the job.`,
      );
    case 'bad_password':
      return new TargetError(
        'remote_command_failed',
        `${where}: Windows refused the PFX password (${message}). Older Windows says this too for a PFX ` +
          'encrypted with AES-256/PBKDF2: submit the job with normalize: true so the PFX is TripleDES-SHA1.',
      );
    case 'key_store_failed':
      return new TargetError(
        'remote_command_failed',
        `${where}: the password is right, but Windows could not store the private key (${message}). Check ` +
          `that user '${ctx.username}' may write the machine key store (ProgramData\\Microsoft\\Crypto), that ` +
          'its user profile loads, and that the key storage provider named for the environment exists.',
      );
    case 'unknown_reader':
      return new TargetError(
        'remote_command_failed',
        `${where}: ${message}. Fix windows.keyReaders of the environment in the inventory, or create the ` +
          'application pool or service on the front-end; nothing was changed.',
      );
    case 'unsupported_host':
      return new TargetError(
        'remote_command_failed',
        `${where}: ${message}. Install .NET Framework 4.8 on the front-end; nothing was changed.`,
      );
    case 'constrained_language':
      return new TargetError(
        'remote_command_failed',
        `${where}: ${message}. Exempt certfleet's user from the AppLocker/WDAC script rules (or allow ` +
          'powershell.exe in FullLanguage for it); nothing was changed.',
      );
    case 'in_use':
      return new TargetError(
        'remote_command_failed',
        `${where}: ${message}. Move the HTTPS binding to another certificate, then retry the job.`,
      );
    case 'invalid_input':
      return new TargetError(
        'remote_command_failed',
        `${where}: the install script refused its input (${message}); this is a certfleet bug, report it.`,
      );
    default:
      return new TargetError(
        'remote_command_failed',
        `${where}: the Windows install script failed: ${message}. Check the front-end's certificate ` +
          'stores and its Application event log.',
      );
  }
}

/** Best effort: the next attempt removes whatever this cannot. */
async function removeQuietly(fs: RemoteFs, paths: Iterable<string>): Promise<void> {
  for (const path of paths) await fs.unlink(path).catch(() => undefined);
}

/**
 * Windows (OpenSSH for Windows, Windows PowerShell 5.1): `<installDir>\<name>.pfx` and
 * `<name>.ca<N>.cer`, uploaded over SFTP to temporary names, then one PowerShell script
 * (see windows-script.ts) checks their SHA-256, imports the certificate into
 * LocalMachine\My with its key readable by IIS_IUSRS and NETWORK SERVICE, the CA
 * certificates into Root/CA, and swaps the files into place.
 */
export const windowsAdapter: PlatformAdapter = {
  platform: 'windows',

  pathFor(installDir: string, name: string): string {
    const path = installPath('windows', installDir, name);
    sftpPathFor(windowsDir(installDir));
    return path;
  },

  async install(session: SshSession, req: InstallRequest): Promise<InstallResult> {
    assertCertName(req.name);
    const dir = windowsDir(req.installDir);
    const sftpDir = sftpPathFor(dir);
    const files = planWindowsFiles(dir, req);
    const pfx = files[0]!;

    const fs = await session.sftp();
    await ensureDirectory(fs, session.context, sftpDir);
    const listing = await fs.readdir(sftpDir);
    for (const e of listing) {
      if (isLeftoverTemp(req.name, e.name)) await fs.unlink(sftpJoin(sftpDir, e.name));
    }
    const stale = staleCaFiles(
      req.name,
      listing.map((e) => e.name),
      req.caCertificates.length,
    );

    const uploads = files.map((f) => {
      const temp = tempNameFor(f.base);
      return { ...f, temp: windowsJoin(dir, temp), sftpTemp: sftpJoin(sftpDir, temp) };
    });
    const pending = new Set<string>();
    let success: WindowsSuccess;
    try {
      for (const u of uploads) {
        pending.add(u.sftpTemp);
        await fs.writeNewFile(u.sftpTemp, u.data, FILE_MODE);
      }
      const scriptFile = (u: (typeof uploads)[number]): WindowsScriptFile => ({
        path: u.path,
        temp: u.temp,
        sha256: u.sha256,
      });
      const input: WindowsScriptInput = {
        version: WINDOWS_PROTOCOL,
        name: req.name,
        dir,
        pfx: scriptFile(uploads[0]!),
        caFiles: uploads.slice(1).map(scriptFile),
        readers: req.keyReaders ?? [...KEY_READER_SIDS],
        keyProvider: req.keyProvider ?? DEFAULT_KEY_PROVIDER,
        ...(req.keepThumbprints?.length ? { keep: req.keepThumbprints } : {}),
      };
      const result = await session.exec(WINDOWS_BOOTSTRAP_COMMAND, {
        stdin: windowsStdin(WINDOWS_INSTALL_SCRIPT, input, req.password ?? ''),
        timeoutMs: Math.max(session.commandTimeoutMs, SCRIPT_TIMEOUT_MS),
      });
      success = interpretScriptResult(session.context, result, pfx.path, req.password);
      // the script moved or deleted every temporary file
      pending.clear();
    } catch (err) {
      // after a timeout the host may hang: leave the leftovers to the next attempt
      if (!(err instanceof TargetError && err.code === 'host_timeout')) {
        // a file that was there before and is gone now keeps its new copy (the only one left)
        // until the next attempt installs it again
        const existed = new Set(listing.map((e) => e.name));
        const kept = await Promise.all(
          uploads.map(
            async (u) =>
              existed.has(u.base) && (await fs.stat(u.sftpPath).catch(() => undefined)) === undefined,
          ),
        );
        await removeQuietly(
          fs,
          uploads.filter((u, i) => pending.has(u.sftpTemp) && !kept[i]).map((u) => u.sftpTemp),
        );
      }
      throw err;
    }

    const changed = [...success.changed];
    for (const file of stale) {
      await fs.unlink(sftpJoin(sftpDir, file));
      changed.push(`removed:${windowsJoin(dir, file)}`);
    }
    return {
      path: pfx.path,
      sha256: pfx.sha256,
      unchanged: changed.length === 0,
      caPaths: files.slice(1).map((f) => f.path),
      thumbprint: success.thumbprint,
      store: success.store,
      keyProvider: success.keyProvider,
      changed,
      ...(success.kept.length > 0 ? { kept: success.kept } : {}),
    };
  },

  uninstall: uninstallWindows,
};
