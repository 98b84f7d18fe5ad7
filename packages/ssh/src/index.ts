export { adapterFor } from './adapters.js';
export {
  classifyConnectError,
  classifySftpError,
  isDiskFull,
  type FreeSpace,
  type HostContext,
} from './classify-error.js';
export {
  DOCTOR_MAX_SKEW_SECONDS,
  DOCTOR_MIN_FREE_BYTES,
  diagnoseFrontEnd,
  dotnetName,
  type DoctorCheck,
  type DoctorEnvironment,
  type HostDiagnosis,
} from './doctor.js';
export {
  expectedCertificate,
  unreachableVerification,
  type CertificateVerification,
  type DriftState,
  type ExpectedCertificate,
  type ExpectedFile,
  type HostVerification,
  type VerifyOptions,
} from './drift.js';
export { fingerprintOf, hostKeyMatches, parseHostKeyPin, type HostKeyPin } from './host-key.js';
export { installOnHost } from './install-on-host.js';
export { uninstallOnHost } from './uninstall-on-host.js';
export { filesOfName } from './uninstall-files.js';
export { verifyOnHost } from './verify-on-host.js';
export { windowsVerifyInput } from './windows-verify.js';
export { linuxAdapter } from './linux-adapter.js';
export {
  CERT_NAME,
  assertCertName,
  caPath,
  installPath,
  type InstallRequest,
  type InstallResult,
  type Platform,
  type UninstallRequest,
  type UninstallResult,
  type PlatformAdapter,
} from './platform.js';
export { RemoteFs, type RemoteEntry } from './remote-fs.js';
export { SessionPool, type SessionPoolOptions } from './session-pool.js';
export { shQuote } from './shell-quote.js';
export { sshTargetFor, type FrontEndLogin, type SshTimeouts } from './ssh-target.js';
export {
  SshSession,
  withSshSession,
  type ExecOptions,
  type ExecResult,
  type SshTarget,
} from './ssh-session.js';
export { TARGET_ERROR_CODES, TargetError, isPermanent, type TargetErrorCode } from './target-error.js';
export { sftpPathFor, windowsAdapter } from './windows-adapter.js';
export * from './windows-script.js';
