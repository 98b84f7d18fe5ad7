import {
  judgeFile,
  okDetail,
  unreachableVerification,
  verdict,
  type CertificateVerification,
  type ExpectedCertificate,
  type ExpectedFile,
  type Finding,
  type VerifyOptions,
} from './drift.js';
import { FILE_MODE, resolveOwner } from './linux-adapter.js';
import { caPath, installPath, linuxDir } from './platform.js';
import { sha256 } from './planned-file.js';
import type { NumericOwner, RemoteFs } from './remote-fs.js';
import type { SshSession } from './ssh-session.js';

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/**
 * One file on the host over SFTP: stat, then, only when its length is the expected one,
 * its bytes (at most that many plus one) for the SHA-256; then its mode and owner.
 */
async function checkFile(
  fs: RemoteFs,
  path: string,
  expected: ExpectedFile,
  mode: number,
  owner: NumericOwner | undefined,
): Promise<Finding[]> {
  const entry = await fs.stat(path);
  if (entry !== undefined && !entry.isFile)
    return [{ state: 'different', detail: `not a regular file: ${path}` }];
  const seen =
    entry === undefined
      ? undefined
      : {
          size: entry.size,
          ...(entry.size === expected.size ? { sha256: sha256(await fs.readFile(path, expected.size)) } : {}),
        };
  const findings = judgeFile(path, expected, seen);
  if (entry === undefined) return findings;
  if ((entry.mode & 0o7777) !== mode) {
    findings.push({
      state: 'different',
      detail: `mode ${octal(entry.mode & 0o7777)}, expected ${octal(mode)}: ${path}`,
    });
  }
  if (owner !== undefined && (entry.uid !== owner.uid || entry.gid !== owner.gid)) {
    findings.push({
      state: 'different',
      detail: `owner ${entry.uid}:${entry.gid}, expected ${owner.uid}:${owner.gid}: ${path}`,
    });
  }
  return findings;
}

async function verifyCertificate(
  fs: RemoteFs,
  dir: string,
  cert: ExpectedCertificate,
  mode: number,
  owner: NumericOwner | undefined,
): Promise<CertificateVerification> {
  const pfxPath = installPath('linux', dir, cert.name);
  const files: [string, ExpectedFile][] = [
    [pfxPath, cert],
    ...cert.caFiles.map((f, i): [string, ExpectedFile] => [caPath('linux', dir, cert.name, i + 1), f]),
  ];
  try {
    const findings = await Promise.all(files.map(([path, f]) => checkFile(fs, path, f, mode, owner)));
    return verdict(
      cert.name,
      findings.flat(),
      okDetail(pfxPath, cert.caFiles.length, `, mode ${octal(mode)}`),
    );
  } catch (err) {
    return unreachableVerification(cert.name, err);
  }
}

/**
 * Linux: every expected file read back over the one SFTP channel, all requests pipelined;
 * nothing is written. Only an owner given by name costs one command (`id`) per connection,
 * as it does for an install.
 */
export async function verifyLinux(
  session: SshSession,
  expected: ExpectedCertificate[],
  options: VerifyOptions,
): Promise<CertificateVerification[]> {
  const dir = linuxDir(options.installDir);
  const owner = options.owner === undefined ? undefined : await resolveOwner(session, options.owner);
  const fs = await session.sftp();
  const mode = options.mode ?? FILE_MODE;
  return Promise.all(expected.map((cert) => verifyCertificate(fs, dir, cert, mode, owner)));
}
