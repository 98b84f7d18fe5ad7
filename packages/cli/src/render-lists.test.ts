import { describe, expect, it } from 'vitest';
import { installed, makeJob } from '../test/fixtures/job-fixture.js';
import { describeDetail, renderAudit, renderEnvironments, renderJobList } from './render-lists.js';

describe('renderJobList', () => {
  it('shows one line per job and how to get the next page', () => {
    const done = makeJob({ id: 'job-2', status: 'completed', approvedBy: 'bob' });
    done.targets = done.targets.map(installed);
    const rejected = makeJob({ id: 'job-1', status: 'rejected', rejectedBy: 'bob' });
    expect(renderJobList({ items: [done, rejected], nextCursor: 'abc' })).toEqual([
      'ID     STATUS     TICKET       NAME                  ENVIRONMENTS      INSTALLED  SUBMITTED             BY     APPROVED BY',
      'job-2  completed  CASE-123456  acme-payments-client  acme-prd,acme-qa  3/3        2025-11-27 10:00:00Z  alice  bob',
      'job-1  rejected   CASE-123456  acme-payments-client  acme-prd,acme-qa  0/3        2025-11-27 10:00:00Z  alice  (rejected by bob)',
      '',
      'more: fleetctl jobs --cursor abc',
    ]);
    expect(renderJobList({ items: [], nextCursor: null })).toEqual(['no jobs']);
  });
});

describe('renderEnvironments', () => {
  it('shows the environments, then the certificates installed in them', () => {
    const lines = renderEnvironments([
      {
        name: 'acme-prd',
        platform: 'windows',
        installDir: 'D:\\Certificates',
        frontEnds: [
          { name: 'fe-1', host: '10.0.0.1', port: 22 },
          { name: 'fe-2', host: '10.0.0.2', port: 22 },
        ],
        certificates: [
          {
            name: 'acme-payments-client',
            fingerprintSha256: 'cd'.repeat(32),
            subject: 'CN=acme-payments-client',
            notAfter: '2026-11-01T00:00:00.000Z',
            path: 'D:\\Certificates\\acme-payments-client.pfx',
            jobId: 'job-2',
            installedAt: '2025-11-27T10:01:00.000Z',
          },
        ],
      },
      { name: 'acme-qa', platform: 'linux', installDir: '/srv/fleet-certs', frontEnds: [], certificates: [] },
    ]);
    expect(lines.slice(0, 3)).toEqual([
      'ENVIRONMENT  PLATFORM  INSTALL DIR       FRONT-ENDS                              CERTIFICATES',
      'acme-prd     windows   D:\\Certificates   fe-1 (10.0.0.1:22), fe-2 (10.0.0.2:22)  1',
      'acme-qa      linux     /srv/fleet-certs                                          0',
    ]);
    expect(lines[4]).toMatch(/^ENVIRONMENT {2}NAME +SUBJECT +EXPIRES +FINGERPRINT +INSTALLED +JOB +PATH$/);
    expect(lines[5]).toContain(
      'acme-prd     acme-payments-client  CN=acme-payments-client  2026-11-01 00:00:00Z',
    );
    expect(lines[5]).toContain('cdcdcdcdcdcdcdcd…');
    expect(lines[5]).toContain('D:\\Certificates\\acme-payments-client.pfx');
  });
});

describe('renderAudit', () => {
  it('shows who did what, with the details as key=value', () => {
    expect(
      renderAudit([
        {
          id: '1-0',
          at: '2025-11-27T10:00:00.000Z',
          actor: 'alice',
          action: 'submit',
          jobId: 'j',
          detail: {},
        },
        {
          id: '2-0',
          at: '2025-11-27T10:02:00.000Z',
          actor: 'bob',
          action: 'reject',
          jobId: 'j',
          detail: { reason: 'wrong customer' },
        },
      ]),
    ).toEqual([
      'TIME                  ACTOR  ACTION  DETAIL',
      '2025-11-27 10:00:00Z  alice  submit',
      '2025-11-27 10:02:00Z  bob    reject  reason=wrong customer',
    ]);
    expect(describeDetail({ targets: ['a/b'], round: 2 })).toBe('targets=["a/b"] round=2');
    expect(renderAudit([])).toEqual(['no audit entries']);
  });
});

describe('renderJobList with repair jobs', () => {
  it('says under the table why each repair job was made', () => {
    const repair = makeJob({
      id: 'job-3',
      source: 'reconcile',
      reason: 'new front-end fe-7',
      submittedBy: 'system',
    });
    const lines = renderJobList({ items: [repair], nextCursor: null });
    expect(lines.slice(-2)).toEqual(['', 'repair job job-3: new front-end fe-7']);
  });
});
