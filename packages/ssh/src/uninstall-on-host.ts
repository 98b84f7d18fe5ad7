import { onHost } from './install-on-host.js';
import type { Platform, UninstallRequest, UninstallResult } from './platform.js';
import type { SessionPool } from './session-pool.js';
import type { SshTarget } from './ssh-session.js';

/** Like installOnHost: connects with the pinned host key and runs the platform's uninstall. */
export async function uninstallOnHost(
  target: SshTarget,
  platform: Platform,
  req: UninstallRequest,
  pool?: SessionPool,
): Promise<UninstallResult> {
  return onHost(target, platform, req, pool, (adapter, session) => adapter.uninstall(session, req));
}
