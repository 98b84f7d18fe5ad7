import { posix } from 'node:path';
import {
  assertCertName,
  installPath,
  linuxDir,
  type UninstallRequest,
  type UninstallResult,
} from './platform.js';
import type { SshSession } from './ssh-session.js';
import { filesOfName } from './uninstall-files.js';

/**
 * Linux, over SFTP alone: unlinks `<name>.pfx` first, then the rest of that name's files
 * (filesOfName), one at a time; a file already gone is fine, so a retry after a crash
 * finishes what is left. Nothing else in the directory is touched.
 */
export async function uninstallLinux(session: SshSession, req: UninstallRequest): Promise<UninstallResult> {
  assertCertName(req.name);
  const dir = linuxDir(req.installDir);
  const path = installPath('linux', dir, req.name);
  const fs = await session.sftp();
  const listing = (await fs.stat(dir))?.isDirectory ? await fs.readdir(dir) : [];
  const removed: string[] = [];
  for (const file of filesOfName(
    req.name,
    listing.filter((e) => !e.isDirectory).map((e) => e.name),
  )) {
    const full = posix.join(dir, file);
    await fs.unlink(full);
    removed.push(`file:${full}`);
  }
  return { path, removed, unchanged: removed.length === 0, kept: [] };
}
