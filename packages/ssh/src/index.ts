export { adapterFor } from './adapters.js';
export {
  classifyConnectError,
  classifySftpError,
  isDiskFull,
  type FreeSpace,
  type HostContext,
} from './classify-error.js';
export { fingerprintOf, hostKeyMatches, parseHostKeyPin, type HostKeyPin } from './host-key.js';
export { installOnHost } from './install-on-host.js';
export { linuxAdapter } from './linux-adapter.js';
export {
  CERT_NAME,
  assertCertName,
  caPath,
  installPath,
  type InstallRequest,
  type InstallResult,
  type Platform,
  type PlatformAdapter,
} from './platform.js';
export { RemoteFs, type RemoteEntry } from './remote-fs.js';
export { shQuote } from './shell-quote.js';
export {
  SshSession,
  withSshSession,
  type ExecOptions,
  type ExecResult,
  type SshTarget,
} from './ssh-session.js';
export { TargetError, isPermanent, type TargetErrorCode } from './target-error.js';
