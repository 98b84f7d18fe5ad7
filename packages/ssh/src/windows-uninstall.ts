import {
  installPath,
  windowsDir,
  assertCertName,
  type UninstallRequest,
  type UninstallResult,
} from './platform.js';
import type { SshSession } from './ssh-session.js';
import { TargetError } from './target-error.js';
import { caFilesOf, filesOfName } from './uninstall-files.js';
import { failureError, noAnswerError, SCRIPT_TIMEOUT_MS, sftpPathFor } from './windows-adapter.js';
import {
  WINDOWS_BOOTSTRAP_COMMAND,
  WINDOWS_INSTALL_SCRIPT,
  WINDOWS_PROTOCOL,
  parseWindowsUninstall,
  windowsStdin,
  type WindowsUninstallInput,
} from './windows-script.js';

/** `dir\file` in Windows form (`D:\` already ends with its separator). */
function windowsJoin(dir: string, file: string): string {
  return dir.endsWith('\\') ? `${dir}${file}` : `${dir}\\${file}`;
}

/**
 * Windows: lists the install folder over SFTP for the files of the name (filesOfName), then
 * the install script's uninstall action removes the key and LocalMachine\My entry, the CA
 * store entries no other certfleet certificate needs, and the files, the .pfx first.
 */
export async function uninstallWindows(session: SshSession, req: UninstallRequest): Promise<UninstallResult> {
  assertCertName(req.name);
  const dir = windowsDir(req.installDir);
  const sftpDir = sftpPathFor(dir);
  const path = installPath('windows', dir, req.name);
  const fs = await session.sftp();
  const listing = (await fs.stat(sftpDir))?.isDirectory ? await fs.readdir(sftpDir) : [];
  const files = filesOfName(
    req.name,
    listing.filter((e) => !e.isDirectory).map((e) => e.name),
  );
  const input: WindowsUninstallInput = {
    version: WINDOWS_PROTOCOL,
    action: 'uninstall',
    name: req.name,
    dir,
    thumbprint: req.thumbprint ?? '',
    keep: req.keepThumbprints ?? [],
    files: files.map((f) => windowsJoin(dir, f)),
    caFiles: caFilesOf(req.name, files).map((f) => windowsJoin(dir, f)),
  };
  const result = await session.exec(WINDOWS_BOOTSTRAP_COMMAND, {
    stdin: windowsStdin(WINDOWS_INSTALL_SCRIPT, input),
    timeoutMs: Math.max(session.commandTimeoutMs, SCRIPT_TIMEOUT_MS),
  });
  const answer = parseWindowsUninstall(result.stdout);
  if (answer !== undefined && 'error' in answer) throw failureError(session.context, answer, undefined);
  if (result.code !== 0 || answer === undefined) throw noAnswerError(session.context, result, undefined);
  if (answer.path.toLowerCase() !== path.toLowerCase()) {
    throw new TargetError(
      'remote_command_failed',
      `the uninstall script reported ${JSON.stringify(answer.path)}, not ${JSON.stringify(path)}; this is a certfleet bug, report it.`,
    );
  }
  return { path, removed: answer.removed, unchanged: answer.removed.length === 0, kept: answer.kept };
}
