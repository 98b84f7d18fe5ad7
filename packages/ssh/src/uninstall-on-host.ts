import { adapterFor } from './adapters.js';
import type { Platform, UninstallRequest, UninstallResult } from './platform.js';
import type { SessionPool } from './session-pool.js';
import { withSshSession, type SshSession, type SshTarget } from './ssh-session.js';

/** Like installOnHost: connects with the pinned host key and runs the platform's uninstall. */
export async function uninstallOnHost(
  target: SshTarget,
  platform: Platform,
  req: UninstallRequest,
  pool?: SessionPool,
): Promise<UninstallResult> {
  const adapter = adapterFor(platform);
  // a bad name or directory is refused before anything is sent to the host
  adapter.pathFor(req.installDir, req.name);
  const run = (session: SshSession): Promise<UninstallResult> => adapter.uninstall(session, req);
  return pool ? pool.use(target, run) : withSshSession(target, run);
}
