import { adapterFor } from './adapters.js';
import type { InstallRequest, InstallResult, Platform } from './platform.js';
import type { SessionPool } from './session-pool.js';
import { withSshSession, type SshTarget } from './ssh-session.js';

/**
 * Connects with the pinned host key, runs the platform's adapter and always closes the
 * connection, or, with a `pool`, hands it back for the next target on that host (closed
 * after any error). Failures are TargetErrors; `permanent` says whether a retry can help.
 */
export async function installOnHost(
  target: SshTarget,
  platform: Platform,
  req: InstallRequest,
  pool?: SessionPool,
): Promise<InstallResult> {
  const adapter = adapterFor(platform);
  // a bad name or directory is refused before anything is sent to the host
  adapter.pathFor(req.installDir, req.name);
  const install = (session: Parameters<typeof adapter.install>[0]): Promise<InstallResult> =>
    adapter.install(session, req);
  return pool ? pool.use(target, install) : withSshSession(target, install);
}
