import { expectedCertificate } from '@certfleet/ssh';
import type {
  EnvCertificate,
  JobRecord,
  PreviousEnvCertificate,
  SecretBundle,
  TargetRecord,
} from '@certfleet/store';

/** `<dir>/<name>.pfx` → `<dir>/<name>.ca<n>.cer`: the CA files sit beside the .pfx on either platform. */
function caPathBeside(pfxPath: string, n: number): string {
  return `${pfxPath.replace(/\.pfx$/, '')}.ca${n}.cer`;
}

/**
 * The registry entry a finished job leaves in one environment: the desired state that the
 * drift check compares every front-end with. File hashes and sizes come from the sealed
 * bytes that were written; when the secret is already gone (a late retry round), they are
 * kept from the previous entry of the same certificate, else left out. A job that puts
 * another certificate under the name (a rotation, or a rollback) keeps the entry it replaces
 * as `previous`; one of the same certificate (a retry round, a repair) keeps the entry's own.
 */
export function desiredState(
  record: JobRecord,
  envName: string,
  installed: TargetRecord,
  secret: SecretBundle | undefined,
  previous: EnvCertificate | undefined,
  installedAt: string,
): EnvCertificate {
  const path = record.paths[envName] ?? installed.path ?? '';
  const fingerprint = record.certificate.fingerprintSha256;
  const expected = secret ? expectedCertificate(record.name, secret.pfx, secret.caChain) : undefined;
  const kept = previous?.fingerprintSha256 === fingerprint ? previous : undefined;
  const replaced = replacedEntry(previous, fingerprint);
  const files = expected
    ? {
        sha256: expected.sha256,
        size: expected.size,
        caFiles: expected.caFiles.map((f, i) => ({ path: caPathBeside(path, i + 1), ...f })),
      }
    : {
        ...(kept?.sha256 === undefined ? {} : { sha256: kept.sha256 }),
        ...(kept?.size === undefined ? {} : { size: kept.size }),
        ...(kept?.caFiles === undefined ? {} : { caFiles: kept.caFiles }),
      };
  return {
    name: record.name,
    fingerprintSha256: fingerprint,
    subject: record.certificate.subject,
    notAfter: record.certificate.notAfter,
    path,
    jobId: record.id,
    installedAt,
    ...files,
    ...(installed.thumbprint ? { thumbprint: installed.thumbprint } : {}),
    ...(installed.store ? { store: installed.store } : {}),
    requester: record.submittedBy,
    ticket: record.ticket,
    ...(replaced ? { previous: replaced } : {}),
  };
}

/** The entry a job for `fingerprint` leaves as the previous one: the current one when it replaces it, else the current's previous. */
export function replacedEntry(
  current: EnvCertificate | undefined,
  fingerprint: string,
): PreviousEnvCertificate | undefined {
  if (!current) return undefined;
  if (current.fingerprintSha256 === fingerprint) return current.previous;
  const { previous: _older, ...entry } = current;
  return entry;
}
