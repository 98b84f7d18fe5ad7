import { adapterFor } from './adapters.js';
import type { InstallRequest, InstallResult, Platform } from './platform.js';
import { withSshSession, type SshTarget } from './ssh-session.js';

/**
 * Connects with the pinned host key, runs the platform's adapter and always closes the
 * connection. Failures are TargetErrors; `permanent` says whether a retry can help.
 */
export async function installOnHost(
  target: SshTarget,
  platform: Platform,
  req: InstallRequest,
): Promise<InstallResult> {
  const adapter = adapterFor(platform);
  // a bad name or directory is refused before anything is sent to the host
  adapter.pathFor(req.installDir, req.name);
  return withSshSession(target, (session) => adapter.install(session, req));
}
