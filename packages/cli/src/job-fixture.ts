/** Jobs as the API returns them, for the unit tests of the rendering. */
import type { Job, TargetRecord } from './api-types.js';

export function makeTarget(
  environment: string,
  frontEnd: string,
  over: Partial<TargetRecord> = {},
): TargetRecord {
  return {
    id: `${environment}/${frontEnd}`,
    environment,
    frontEnd,
    host: `${frontEnd}.${environment}.example`,
    port: 22,
    status: 'pending',
    path: `/srv/fleet-certs/acme-payments-client.pfx`,
    sha256: null,
    unchanged: false,
    attempts: 0,
    error: null,
    finishedAt: null,
    round: 1,
    ...over,
  };
}

export function makeJob(over: Partial<Job> = {}): Job {
  return {
    id: 'mwyu1-0123456789abcdef',
    ticket: 'CASE-123456',
    name: 'acme-payments-client',
    environments: ['acme-prd', 'acme-qa'],
    status: 'pending_approval',
    source: 'api',
    submittedBy: 'alice',
    approvedBy: null,
    rejectedBy: null,
    rejectReason: null,
    createdAt: '2025-11-27T10:00:00.000Z',
    updatedAt: '2025-11-27T10:00:00.000Z',
    planHash: 'ab'.repeat(32),
    replace: false,
    round: 1,
    certificate: {
      subject: 'CN=acme-payments-client',
      issuer: 'CN=Acme Issuing CA',
      serialNumber: '01a2b3',
      fingerprintSha256: 'cd'.repeat(32),
      notBefore: '2025-11-01T00:00:00.000Z',
      notAfter: '2026-11-01T00:00:00.000Z',
      pfxEncryption: { key: '3des', certificates: 'rc2-40', mac: 'sha1', iterations: 2048 },
      normalized: false,
      chain: ['CN=acme-payments-client', 'CN=Acme Issuing CA', 'CN=Acme Root CA'],
      warnings: [],
    },
    paths: {
      'acme-prd': '/srv/fleet-certs/acme-payments-client.pfx',
      'acme-qa': '/srv/fleet-certs/acme-payments-client.pfx',
    },
    notify: {},
    pfxSha256: 'ef'.repeat(32),
    targets: [makeTarget('acme-prd', 'fe-1'), makeTarget('acme-prd', 'fe-2'), makeTarget('acme-qa', 'fe-1')],
    ...over,
  };
}

/** A target installed on its first attempt. */
export const installed = (t: TargetRecord): TargetRecord => ({
  ...t,
  status: 'installed',
  attempts: Math.max(1, t.attempts),
  sha256: 'ef'.repeat(32),
  finishedAt: '2025-11-27T10:01:00.000Z',
});
