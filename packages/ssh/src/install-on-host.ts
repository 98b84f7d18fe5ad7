import { adapterFor } from './adapters.js';
import type { InstallRequest, InstallResult, Platform, PlatformAdapter } from './platform.js';
import type { SessionPool } from './session-pool.js';
import { withSshSession, type SshSession, type SshTarget } from './ssh-session.js';

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
  return onHost(target, platform, req, pool, (adapter, session) => adapter.install(session, req));
}

/**
 * Runs one adapter step on a host: the name and directory are checked before anything is
 * sent, then the step runs on a pooled connection or on one of its own, closed after.
 */
export async function onHost<R>(
  target: SshTarget,
  platform: Platform,
  req: { installDir: string; name: string },
  pool: SessionPool | undefined,
  step: (adapter: PlatformAdapter, session: SshSession) => Promise<R>,
): Promise<R> {
  const adapter = adapterFor(platform);
  // a bad name or directory is refused before anything is sent to the host
  adapter.pathFor(req.installDir, req.name);
  const run = (session: SshSession): Promise<R> => step(adapter, session);
  return pool ? pool.use(target, run) : withSshSession(target, run);
}
