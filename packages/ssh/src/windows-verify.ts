import { judgeFile, okDetail, verdict, type Verifier } from './drift.js';
import type {
  CertificateVerification,
  ExpectedCertificate,
  ExpectedFile,
  Finding,
  VerifyOptions,
} from './drift.js';
import { caPath, installPath, windowsDir } from './platform.js';
import { TargetError } from './target-error.js';
import { SCRIPT_TIMEOUT_MS, failureError, noAnswerError, sftpPathFor } from './windows-adapter.js';
import {
  KEY_READER_SIDS,
  WINDOWS_BOOTSTRAP_COMMAND,
  WINDOWS_INSTALL_SCRIPT,
  WINDOWS_PROTOCOL,
  WINDOWS_STORE,
  parseWindowsVerification,
  windowsStdin,
  type WindowsCertificateFacts,
  type WindowsVerification,
  type WindowsVerifyInput,
} from './windows-script.js';

/** The Windows paths of a certificate's files: the .pfx first, then the CA files. */
function pathsOf(dir: string, cert: ExpectedCertificate): string[] {
  return [
    installPath('windows', dir, cert.name),
    ...cert.caFiles.map((_, i) => caPath('windows', dir, cert.name, i + 1)),
  ];
}

/** The thumbprint a Windows certificate is checked by; refused before connecting when absent. */
function thumbprintOf(cert: ExpectedCertificate): string {
  if (cert.thumbprint === undefined || !/^[0-9A-Fa-f]{40}$/.test(cert.thumbprint)) {
    throw new TypeError(
      `certificate ${JSON.stringify(cert.name)}: a Windows drift check needs its SHA-1 thumbprint (40 hex digits)`,
    );
  }
  return cert.thumbprint.toUpperCase();
}

/** The verify action's input: every path checked as a Windows path on a drive first. */
export function windowsVerifyInput(
  expected: ExpectedCertificate[],
  options: Pick<VerifyOptions, 'installDir' | 'keyReaders'>,
): WindowsVerifyInput {
  const dir = windowsDir(options.installDir);
  sftpPathFor(dir);
  return {
    version: WINDOWS_PROTOCOL,
    action: 'verify',
    dir,
    readers: options.keyReaders ?? [...KEY_READER_SIDS],
    certificates: expected.map((cert) => {
      const [pfx, ...cas] = pathsOf(dir, cert);
      return {
        name: cert.name,
        thumbprint: thumbprintOf(cert),
        pfx: { path: pfx!, size: cert.size },
        caFiles: cas.map((path, i) => ({ path, size: cert.caFiles[i]!.size })),
      };
    }),
  };
}

function readerName(identity: string, sid: string): string {
  return identity.toUpperCase() === sid.toUpperCase() ? sid : `${identity} (${sid})`;
}

/** The certificate's verdict from what the script found; pure, so every branch is unit-tested. */
export function judgeWindowsCertificate(
  cert: ExpectedCertificate,
  paths: string[],
  facts: WindowsCertificateFacts,
  readers: WindowsVerification['readers'],
): CertificateVerification {
  const thumbprint = thumbprintOf(cert);
  const expectedFiles: ExpectedFile[] = [cert, ...cert.caFiles];
  const findings: Finding[] = paths.flatMap((path, i) => {
    const seen = facts.files.find((f) => f.path.toLowerCase() === path.toLowerCase());
    const observed =
      seen === undefined || seen.size === null
        ? undefined
        : { size: seen.size, ...(seen.sha256 === null ? {} : { sha256: seen.sha256 }) };
    return judgeFile(path, expectedFiles[i]!, observed);
  });
  if (!facts.inStore) {
    findings.push({ state: 'missing', detail: `certificate ${thumbprint} not in ${WINDOWS_STORE}` });
  } else if (!facts.hasKey) {
    findings.push({
      state: 'different',
      detail: `certificate ${thumbprint} in ${WINDOWS_STORE} has no private key reachable`,
    });
  } else {
    for (const r of readers) {
      if (r.sid === null) {
        findings.push({ state: 'different', detail: `key reader ${r.identity} is no account on this host` });
      } else if (!facts.readerSids.some((s) => s.toUpperCase() === r.sid!.toUpperCase())) {
        findings.push({
          state: 'different',
          detail: `private key gives no Read to ${readerName(r.identity, r.sid)}`,
        });
      }
    }
  }
  const store = `, ${thumbprint} in ${WINDOWS_STORE} with its key readable by ${readers.length} reader${readers.length === 1 ? '' : 's'}`;
  return verdict(cert.name, findings, okDetail(paths[0]!, cert.caFiles.length, store));
}

/**
 * Windows: one run of the install script's read-only `verify` action for every certificate
 * of the host (PowerShell starts once): file lengths and SHA-256s, the certificate in
 * LocalMachine\My by thumbprint with its private key, and Read on that key per reader.
 * A failure of the script itself is a TargetError (every certificate is then unreachable).
 */
export const verifyWindows: Verifier = async (session, expected, options) => {
  const input = windowsVerifyInput(expected, options);
  const result = await session.exec(WINDOWS_BOOTSTRAP_COMMAND, {
    stdin: windowsStdin(WINDOWS_INSTALL_SCRIPT, input),
    timeoutMs: Math.max(session.commandTimeoutMs, SCRIPT_TIMEOUT_MS),
  });
  const answer = parseWindowsVerification(result.stdout);
  if (answer === undefined) throw noAnswerError(session.context, result, undefined);
  if ('error' in answer) throw failureError(session.context, answer, undefined);
  if (result.code !== 0) throw noAnswerError(session.context, result, undefined);
  return expected.map((cert) => {
    const facts = answer.certificates.find((c) => c.name === cert.name);
    if (facts === undefined) {
      throw new TargetError(
        'remote_command_failed',
        `the verify script gave no answer for ${cert.name}; this is a certfleet bug, report it.`,
      );
    }
    return judgeWindowsCertificate(cert, pathsOf(input.dir, cert), facts, answer.readers);
  });
};
