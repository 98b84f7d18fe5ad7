import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Platform } from './platform.js';
import { windowsDir } from './platform.js';
import type { RemoteFs } from './remote-fs.js';
import { withSshSession, type SshSession, type SshTarget } from './ssh-session.js';
import { TargetError } from './target-error.js';
import { sftpPathFor } from './windows-adapter.js';
import {
  KEY_READER_SIDS,
  WINDOWS_BOOTSTRAP_COMMAND,
  WINDOWS_INSTALL_SCRIPT,
  WINDOWS_PROTOCOL,
  parseWindowsDiagnosis,
  readableStderr,
  windowsStdin,
  type WindowsDiagnosis,
} from './windows-script.js';

/** Below this much free space in the install directory, `free_space` fails. */
export const DOCTOR_MIN_FREE_BYTES = 16 * 1024 * 1024;
/** A host clock further off than this fails `clock_skew` (certificate validity, logs). */
export const DOCTOR_MAX_SKEW_SECONDS = 120;
/** .NET Framework 4.7.2, the oldest the install script runs on. */
const MIN_DOTNET_RELEASE = 461808;

/** One line of a diagnosis. */
export interface DoctorCheck {
  /** host_key, login, install_dir, free_space, clock_skew, powershell, dotnet, language_mode, fips, module_logging, default_shell, reader */
  check: string;
  ok: boolean;
  detail: string;
}

/** What doctor found on one front-end. */
export interface HostDiagnosis {
  ok: boolean;
  checks: DoctorCheck[];
}

/** What doctor needs to know about the environment of a front-end. */
export interface DoctorEnvironment {
  platform: Platform;
  installDir: string;
  /** Windows: the identities that must be able to read the key. */
  keyReaders?: string[];
}

const DOTNET_RELEASES: [number, string][] = [
  [533320, '4.8.1'],
  [528040, '4.8'],
  [461808, '4.7.2'],
  [461308, '4.7.1'],
  [460798, '4.7'],
  [394802, '4.6.2'],
];

/** `.NET Framework 4.8 (release 528040)`. */
export function dotnetName(release: number): string {
  const name = DOTNET_RELEASES.find(([r]) => release >= r)?.[1];
  return name ? `.NET Framework ${name} (release ${release})` : `release ${release} (before 4.6.2)`;
}

function check(name: string, ok: boolean, detail: string): DoctorCheck {
  return { check: name, ok, detail };
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB free`;
}

/**
 * Install directory, free space and clock over SFTP only (no shell): creates and removes a
 * probe file; its mtime, set by the host's clock, against ours gives the skew.
 */
async function diagnoseDisk(fs: RemoteFs, installDir: string, now: () => number): Promise<DoctorCheck[]> {
  // a missing install directory is created by the first install: its nearest ancestor must be writable
  let dir = installDir;
  while (!(await fs.stat(dir).catch(() => undefined))?.isDirectory) {
    const parent = posix.dirname(dir);
    if (parent === dir || /^\/[A-Za-z]:$/.test(dir)) {
      return [check('install_dir', false, `neither ${installDir} nor any folder above it exists`)];
    }
    dir = parent;
  }
  const where = dir === installDir ? dir : `${installDir} absent (an install creates it); ${dir}`;
  const checks: DoctorCheck[] = [];
  const probe = posix.join(dir, `.certfleet-doctor-${randomBytes(6).toString('hex')}`);
  const before = now();
  try {
    await fs.writeNewFile(probe, Buffer.from('certfleet doctor\n'), 0o600);
    const written = await fs.stat(probe);
    const after = now();
    await fs.unlink(probe);
    checks.push(check('install_dir', true, `${where} writable (probe file created and removed)`));
    if (written) {
      // the host's mtime has whole seconds; our two readings bound when it was written
      const local = (before + after) / 2000;
      const skew = Math.round(written.mtime - local);
      checks.push(
        check(
          'clock_skew',
          Math.abs(skew) <= DOCTOR_MAX_SKEW_SECONDS,
          `${skew >= 0 ? '+' : ''}${skew} s against certfleet's clock`,
        ),
      );
    }
  } catch (err) {
    await fs.unlink(probe).catch(() => undefined);
    checks.push(check('install_dir', false, `${where} is not writable: ${(err as Error).message}`));
  }
  try {
    const space = await fs.statvfs(dir);
    checks.push(check('free_space', space.freeBytes >= DOCTOR_MIN_FREE_BYTES, mib(space.freeBytes)));
  } catch (err) {
    checks.push(check('free_space', false, `unknown: ${(err as Error).message}`));
  }
  return checks;
}

function diagnoseWindowsAnswer(d: WindowsDiagnosis): DoctorCheck[] {
  const [major = 0, minor = 0] = d.powershell.split('.').map(Number);
  return [
    check('powershell', major > 5 || (major === 5 && minor >= 1), `PowerShell ${d.powershell}`),
    check('dotnet', d.dotnetRelease >= MIN_DOTNET_RELEASE, dotnetName(d.dotnetRelease)),
    check('language_mode', d.languageMode === 'FullLanguage', d.languageMode),
    check(
      'fips',
      true,
      d.fips ? 'FIPS policy on (certfleet uses FIPS-validated classes)' : 'FIPS policy off',
    ),
    check(
      'module_logging',
      true,
      d.moduleLogging ? 'on (event 4103; certfleet binds no secret to a cmdlet parameter)' : 'off',
    ),
    check(
      'default_shell',
      true,
      `OpenSSH DefaultShell ${d.defaultShell} (cmd.exe and powershell.exe both work)`,
    ),
    ...d.readers.map((r) =>
      check(
        'reader',
        r.sid !== null,
        r.sid === null ? `${r.identity} does not resolve on this host` : `${r.identity} = ${r.sid}`,
      ),
    ),
  ];
}

async function diagnoseWindows(session: SshSession, env: DoctorEnvironment): Promise<DoctorCheck[]> {
  const input = {
    version: WINDOWS_PROTOCOL,
    action: 'doctor',
    readers: env.keyReaders ?? [...KEY_READER_SIDS],
  };
  const result = await session.exec(WINDOWS_BOOTSTRAP_COMMAND, {
    stdin: windowsStdin(WINDOWS_INSTALL_SCRIPT, input),
  });
  const answer = parseWindowsDiagnosis(result.stdout);
  if (answer === undefined) {
    return [
      check(
        'powershell',
        false,
        `no answer (exit code ${result.code}): ${readableStderr(result.stderr).trim().slice(0, 200)}`,
      ),
    ];
  }
  if ('error' in answer) {
    const name = answer.error === 'constrained_language' ? 'language_mode' : 'powershell';
    return [check(name, false, answer.message)];
  }
  return diagnoseWindowsAnswer(answer);
}

/**
 * Connects to one front-end and reports what an install depends on, changing nothing but
 * a probe file it removes. Never throws for a host problem: each becomes a failed check.
 */
export async function diagnoseFrontEnd(
  target: SshTarget,
  env: DoctorEnvironment,
  now: () => number = Date.now,
): Promise<HostDiagnosis> {
  const checks: DoctorCheck[] = [];
  try {
    await withSshSession(target, async (session) => {
      checks.push(check('host_key', true, 'matches the pin'), check('login', true, `as ${target.username}`));
      const fs = await session.sftp();
      const dir = env.platform === 'windows' ? sftpPathFor(windowsDir(env.installDir)) : env.installDir;
      checks.push(...(await diagnoseDisk(fs, dir, now)));
      if (env.platform === 'windows') checks.push(...(await diagnoseWindows(session, env)));
    });
  } catch (err) {
    const code = err instanceof TargetError ? err.code : undefined;
    const message = (err as Error).message;
    if (checks.length === 0) {
      if (code === 'auth_failed')
        checks.push(check('host_key', true, 'matches the pin'), check('login', false, message));
      else
        checks.push(
          check('host_key', false, code === 'host_key_mismatch' ? message : `not reached: ${message}`),
        );
    } else {
      checks.push(check('connection', false, message));
    }
  }
  return { ok: checks.every((c) => c.ok), checks };
}
