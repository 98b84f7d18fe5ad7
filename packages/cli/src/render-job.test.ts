import { describe, expect, it } from 'vitest';
import { installed, makeJob, makeTarget } from '../test/fixtures/job-fixture.js';
import {
  countTargets,
  formatTime,
  relativeTime,
  renderJobSummary,
  renderOutcome,
  targetDetail,
  targetState,
} from './render-job.js';

const NOW = new Date('2025-11-27T12:00:00Z');

describe('targets', () => {
  it('shows a pending target with an error as retrying, with the error', () => {
    const t = makeTarget('acme-prd', 'fe-1', {
      attempts: 1,
      error: { code: 'host_unreachable', message: 'connect ECONNREFUSED' },
    });
    expect(targetState(t)).toBe('retrying');
    expect(targetDetail(t)).toBe('host_unreachable: connect ECONNREFUSED');
  });

  it('shows the path of an installed target, and whether it was already there', () => {
    const t = installed(makeTarget('acme-prd', 'fe-1'));
    expect(targetDetail(t)).toBe('/srv/fleet-certs/acme-payments-client.pfx');
    expect(targetDetail({ ...t, unchanged: true })).toBe(
      '/srv/fleet-certs/acme-payments-client.pfx (unchanged)',
    );
    expect(targetDetail(makeTarget('acme-prd', 'fe-1'))).toBe('');
  });

  it('counts installed and failed as done', () => {
    const job = makeJob();
    job.targets[0] = installed(job.targets[0]!);
    job.targets[1] = { ...job.targets[1]!, status: 'failed' };
    expect(countTargets(job)).toEqual({ total: 3, installed: 1, failed: 1, done: 2 });
  });
});

describe('times', () => {
  it('formats ISO times to the second, in UTC', () => {
    expect(formatTime('2025-11-27T10:00:00.123Z')).toBe('2025-11-27 10:00:00Z');
    expect(formatTime('not a date')).toBe('not a date');
    expect(formatTime(null)).toBe('');
  });

  it('says how far away a time is', () => {
    expect(relativeTime('2026-11-27T12:00:00Z', NOW)).toBe('in 365 days');
    expect(relativeTime('2025-11-27T17:00:00Z', NOW)).toBe('in 5 hours');
    expect(relativeTime('2025-11-24T12:00:00Z', NOW)).toBe('3 days ago');
    expect(relativeTime('2025-11-27T12:10:00Z', NOW)).toBe('in 10 minutes');
  });
});

describe('renderJobSummary', () => {
  it('shows the certificate, the paths, every target and what to do next', () => {
    const text = renderJobSummary(makeJob(), NOW).join('\n');
    expect(text).toContain('Status        pending_approval');
    expect(text).toContain('Submitted     2025-11-27 10:00:00Z by alice');
    expect(text).toContain('Subject      CN=acme-payments-client');
    expect(text).toContain('Issuer       CN=Acme Issuing CA');
    expect(text).toContain('Valid        2025-11-01 00:00:00Z to 2026-11-01 00:00:00Z (expires in 338 days)');
    expect(text).toContain('Encryption   key 3des, certificates rc2-40, MAC sha1, 2048 iterations');
    expect(text).toContain('Normalized   no, installed as submitted');
    expect(text).toContain('Chain        CN=acme-payments-client → CN=Acme Issuing CA → CN=Acme Root CA');
    expect(text).toContain('Warnings     none');
    expect(text).toContain('acme-prd  /srv/fleet-certs/acme-payments-client.pfx');
    expect(text).toContain('Targets: 0/3 installed, 0 failed');
    expect(text).toMatch(/ENVIRONMENT {2}FRONT-END {2}HOST +STATE +ATTEMPTS {2}PATH \/ ERROR/);
    expect(text).toContain('acme-qa      fe-1       fe-1.acme-qa.example   pending  0');
    expect(text.split('\n').at(-1)).toBe(
      'waiting for approval by someone other than alice: fleetctl approve mwyu1-0123456789abcdef',
    );
  });

  it('tells normalisation, warnings, rejection and the retry hint', () => {
    const base = makeJob();
    const normalized = makeJob({
      certificate: {
        ...base.certificate,
        normalized: true,
        normalizedFrom: { key: 'aes-256-cbc', certificates: 'aes-256-cbc', mac: 'sha256', iterations: 2048 },
        warnings: ['expires in 20 days', 'no intermediate given'],
      },
    });
    const text = renderJobSummary(normalized, NOW).join('\n');
    expect(text).toContain(
      'Normalized   yes, submitted as key aes-256-cbc, certificates aes-256-cbc, MAC sha256, 2048 iterations',
    );
    expect(text).toContain('Warnings     expires in 20 days\n               no intermediate given');

    const rejected = renderJobSummary(
      makeJob({ status: 'rejected', rejectedBy: 'bob', rejectReason: 'wrong\nenvironment' }),
      NOW,
    ).join('\n');
    expect(rejected).toContain('Rejected by   bob: wrong environment');

    const failed = renderJobSummary(makeJob({ status: 'failed' }), NOW);
    expect(failed.at(-1)).toBe('retry the failed targets: fleetctl retry mwyu1-0123456789abcdef --watch');
  });
});

describe('renderOutcome', () => {
  it('gives the path per environment when completed', () => {
    const job = makeJob({ status: 'completed', approvedBy: 'bob' });
    job.targets = job.targets.map(installed);
    expect(renderOutcome(job)).toEqual([
      'job mwyu1-0123456789abcdef completed: 3 of 3 targets installed, 0 failed',
      '  ENVIRONMENT  PATH                                       INSTALLED',
      '  acme-prd     /srv/fleet-certs/acme-payments-client.pfx  2/2 front-ends',
      '  acme-qa      /srv/fleet-certs/acme-payments-client.pfx  1/1 front-ends',
    ]);
  });

  it('lists what failed and how to retry it', () => {
    const job = makeJob({ status: 'partially_failed', approvedBy: 'bob' });
    job.targets = [
      installed(job.targets[0]!),
      {
        ...job.targets[1]!,
        status: 'failed',
        attempts: 2,
        error: { code: 'host_unreachable', message: 'connect ECONNREFUSED 127.0.0.1:22' },
      },
      installed(job.targets[2]!),
    ];
    expect(renderOutcome(job)).toEqual([
      'job mwyu1-0123456789abcdef partially_failed: 2 of 3 targets installed, 1 failed',
      '  ENVIRONMENT  PATH                                       INSTALLED',
      '  acme-prd     /srv/fleet-certs/acme-payments-client.pfx  1/2 front-ends',
      '  acme-qa      /srv/fleet-certs/acme-payments-client.pfx  1/1 front-ends',
      '  FAILED         ERROR',
      '  acme-prd/fe-2  host_unreachable: connect ECONNREFUSED 127.0.0.1:22',
      'retry the failed targets: fleetctl retry mwyu1-0123456789abcdef --watch',
    ]);
  });

  it('says who rejected and why', () => {
    expect(
      renderOutcome(makeJob({ status: 'rejected', rejectedBy: 'bob', rejectReason: 'wrong customer' })),
    ).toEqual(['job mwyu1-0123456789abcdef rejected by bob: wrong customer; nothing was installed']);
  });
});
