import type { EnvCertificate, HostInstall, TargetRecord } from '@certfleet/store';
import { describe, expect, it } from 'vitest';
import { compareEnvironment, type CertificateState } from './reconcile-compare.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

const entry = (overrides: Partial<EnvCertificate> = {}): EnvCertificate => ({
  name: 'acme-client',
  fingerprintSha256: 'f1',
  subject: 'CN=acme',
  notAfter: '2027-01-01T00:00:00Z',
  path: '/srv/fleet-certs/acme-client.pfx',
  jobId: 'job-1',
  installedAt: '2026-05-01T00:00:00Z',
  ...overrides,
});

const target = (frontEnd: string, status: TargetRecord['status'] = 'installed'): TargetRecord => ({
  id: `prd/${frontEnd}`,
  environment: 'prd',
  frontEnd,
  host: `10.0.0.${frontEnd.slice(3)}`,
  port: 22,
  status,
  path: '/srv/fleet-certs/acme-client.pfx',
  sha256: status === 'installed' ? 'abc' : null,
  unchanged: false,
  attempts: 1,
  error: null,
  finishedAt: '2026-05-01T00:00:00Z',
  round: 1,
});

const record = (frontEnd: string, overrides: Partial<HostInstall> = {}): HostInstall => ({
  name: 'acme-client',
  frontEnd,
  host: 'h',
  port: 22,
  fingerprintSha256: 'f1',
  jobId: 'job-1',
  installedAt: '2026-05-01T00:00:00Z',
  goneAt: null,
  ...overrides,
});

const state = (overrides: Partial<CertificateState> = {}): CertificateState => ({
  entry: entry(),
  installTargets: [target('fe-1'), target('fe-2')],
  installing: false,
  ...overrides,
});

describe('compareEnvironment', () => {
  it('finds nothing missing when every front-end holds every certificate', () => {
    expect(compareEnvironment(['fe-1', 'fe-2'], [state()], [], NOW)).toEqual({ missing: [], gone: [] });
  });

  it('names a front-end the inventory gained as new', () => {
    expect(compareEnvironment(['fe-1', 'fe-2', 'fe-7'], [state()], [], NOW).missing).toEqual([
      { name: 'acme-client', frontEnds: ['fe-7'], reasons: ['new front-end fe-7'] },
    ]);
  });

  it('counts a host a repair installed (the ledger) as installed', () => {
    const ledger = [record('fe-7', { jobId: 'repair-1' })];
    expect(compareEnvironment(['fe-1', 'fe-2', 'fe-7'], [state()], ledger, NOW).missing).toEqual([]);
  });

  it('asks for a host that failed in the install job, saying so', () => {
    const s = state({ installTargets: [target('fe-1'), target('fe-2', 'failed')] });
    expect(compareEnvironment(['fe-1', 'fe-2'], [s], [], NOW).missing).toEqual([
      {
        name: 'acme-client',
        frontEnds: ['fe-2'],
        reasons: ['front-end fe-2 was not installed by job job-1'],
      },
    ]);
  });

  it('asks for a host that holds an earlier certificate under the name', () => {
    const ledger = [record('fe-2', { fingerprintSha256: 'old' })];
    const s = state({ installTargets: [target('fe-1')] });
    expect(compareEnvironment(['fe-1', 'fe-2'], [s], ledger, NOW).missing[0]?.reasons).toEqual([
      'front-end fe-2 holds an earlier certificate under acme-client',
    ]);
  });

  it('leaves a certificate alone while the job that installs it is still queued or running', () => {
    const s = state({
      installing: true,
      installTargets: [target('fe-1', 'pending'), target('fe-2', 'running')],
    });
    expect(compareEnvironment(['fe-1', 'fe-2'], [s], [], NOW).missing).toEqual([]);
  });

  it('asks for no repair of an expired certificate', () => {
    const s = state({ entry: entry({ notAfter: '2026-05-31T23:59:59Z' }) });
    expect(compareEnvironment(['fe-1', 'fe-2', 'fe-3'], [s], [], NOW).missing).toEqual([]);
  });

  it('reports records of a front-end that left the inventory as gone, once, without asking for anything', () => {
    const { missing, gone } = compareEnvironment(['fe-1'], [state()], [], NOW);
    expect(missing).toEqual([]);
    expect(gone).toEqual([expect.objectContaining({ frontEnd: 'fe-2', jobId: 'job-1', goneAt: null })]);
    const marked = [record('fe-2', { goneAt: '2026-05-20T00:00:00Z' })];
    expect(compareEnvironment(['fe-1'], [state()], marked, NOW).gone).toEqual([]);
  });

  it('installs again on a front-end that came back after being marked gone', () => {
    const marked = [record('fe-2', { goneAt: '2026-05-20T00:00:00Z' })];
    expect(compareEnvironment(['fe-1', 'fe-2'], [state()], marked, NOW).missing).toEqual([
      { name: 'acme-client', frontEnds: ['fe-2'], reasons: ['front-end fe-2 is back in the inventory'] },
    ]);
  });
});
