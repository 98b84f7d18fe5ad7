import { adapterFor } from './adapters.js';
import {
  unreachableVerification,
  type CertificateVerification,
  type ExpectedCertificate,
  type HostVerification,
  type Verifier,
  type VerifyOptions,
} from './drift.js';
import { verifyLinux } from './linux-verify.js';
import type { Platform } from './platform.js';
import { withSshSession, type SshSession, type SshTarget } from './ssh-session.js';
import { verifyWindows, windowsVerifyInput } from './windows-verify.js';

const VERIFIERS = { linux: verifyLinux, windows: verifyWindows } satisfies Record<Platform, Verifier>;

/**
 * The drift probe: connects as `installOnHost` does (pinned host key, the same deadlines,
 * optionally the same pool) and reports, for each expected certificate in order, whether it
 * is still as installed. It changes nothing on the host. A host that cannot be reached, or
 * refuses the login or the pin, makes every certificate `unreachable` with the TargetError's
 * code; a bad name or directory throws before anything is sent, like an install.
 */
export async function verifyOnHost(
  target: SshTarget,
  expected: ExpectedCertificate[],
  options: VerifyOptions,
): Promise<HostVerification> {
  // a bad name, directory or thumbprint is refused before anything is sent to the host
  const adapter = adapterFor(options.platform);
  for (const cert of expected) adapter.pathFor(options.installDir, cert.name);
  if (options.platform === 'windows') windowsVerifyInput(expected, options);
  const host = { host: target.host, port: target.port };
  if (expected.length === 0) return { ...host, certificates: [] };
  const verify = (session: SshSession): Promise<CertificateVerification[]> =>
    VERIFIERS[options.platform](session, expected, options);
  try {
    const certificates = await (options.pool
      ? options.pool.use(target, verify)
      : withSshSession(target, verify));
    return { ...host, certificates };
  } catch (err) {
    return { ...host, certificates: expected.map((cert) => unreachableVerification(cert.name, err)) };
  }
}
