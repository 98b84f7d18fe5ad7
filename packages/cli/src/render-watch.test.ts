import { describe, expect, it } from 'vitest';
import { installed, makeJob, makeTarget } from '../test/fixtures/job-fixture.js';
import {
  changeLines,
  formatElapsed,
  progressBar,
  redraw,
  renderWatchFrame,
  visibleTargets,
} from './render-watch.js';

describe('progressBar', () => {
  it('fills in proportion to the targets done', () => {
    expect(progressBar(0, 4, 8)).toBe('[░░░░░░░░]  0/4  0%');
    expect(progressBar(1, 4, 8)).toBe('[██░░░░░░]  1/4  25%');
    expect(progressBar(4, 4, 8)).toBe('[████████]  4/4  100%');
    expect(progressBar(0, 0, 4)).toBe('[░░░░]  0/0  0%');
  });

  it('formats elapsed time', () => {
    expect(formatElapsed(7_400)).toBe('7s');
    expect(formatElapsed(125_000)).toBe('2m05s');
  });
});

describe('renderWatchFrame (terminal)', () => {
  it('shows the job, the progress bar and the targets table', () => {
    const job = makeJob({ status: 'running', approvedBy: 'bob' });
    job.targets = [
      installed(job.targets[0]!),
      { ...job.targets[1]!, status: 'running', attempts: 1 },
      {
        ...job.targets[2]!,
        status: 'failed',
        attempts: 2,
        error: { code: 'auth_failed', message: 'denied' },
      },
    ];
    const frame = renderWatchFrame(job, { elapsedMs: 3_000 });
    expect(frame[0]).toBe('job mwyu1-0123456789abcdef  CASE-123456  acme-payments-client  running  3s');
    expect(frame[1]).toBe(`${progressBar(2, 3)}  installed 1, failed 1`);
    expect(frame.slice(2)).toEqual([
      '',
      'ENVIRONMENT  FRONT-END  HOST                   STATE      ATTEMPTS  PATH / ERROR',
      'acme-prd     fe-1       fe-1.acme-prd.example  installed  1         /srv/fleet-certs/acme-payments-client.pfx',
      'acme-prd     fe-2       fe-2.acme-prd.example  running    1',
      'acme-qa      fe-1       fe-1.acme-qa.example   failed     2         auth_failed: denied',
    ]);
  });

  it('says who may approve while pending, and keeps every line within the terminal width', () => {
    const frame = renderWatchFrame(makeJob(), { elapsedMs: 0, maxWidth: 40 });
    expect(frame[2]).toBe('waiting for approval by someone other …');
    for (const line of frame) expect(line.length).toBeLessThanOrEqual(39);
  });

  it('fits a short terminal: failing and moving targets first, the rest counted', () => {
    const targets = Array.from({ length: 20 }, (_, i) => installed(makeTarget('acme-prd', `fe-${i + 1}`)));
    targets[15] = { ...targets[15]!, status: 'failed', error: { code: 'disk_full', message: 'full' } };
    targets[17] = { ...targets[17]!, status: 'running' };
    const frame = renderWatchFrame(makeJob({ status: 'running', targets }), { elapsedMs: 0, maxHeight: 12 });
    expect(frame.length).toBeLessThanOrEqual(11);
    expect(frame[4]).toContain('fe-16');
    expect(frame[5]).toContain('fe-18');
    expect(frame.at(-1)).toBe('… 14 more targets not shown (a taller terminal shows them)');
    expect(visibleTargets(targets, 30).hidden).toBe(0);
  });

  it('redraws in place: cursor up over the previous frame, clear, draw', () => {
    expect(redraw(0, ['a', 'b'])).toBe('a\nb\n');
    expect(redraw(2, ['c'])).toBe('\r\x1b[2A\x1b[Jc\n');
  });
});

describe('changeLines (not a terminal)', () => {
  it('tells each change once, in order, up to the final status', () => {
    const pending = makeJob();
    const running = makeJob({ status: 'running', approvedBy: 'bob' });
    running.targets = [
      { ...running.targets[0]!, status: 'running', attempts: 1 },
      running.targets[1]!,
      running.targets[2]!,
    ];
    const retrying = structuredClone(running);
    retrying.targets[0] = installed(retrying.targets[0]!);
    retrying.targets[1] = {
      ...retrying.targets[1]!,
      attempts: 1,
      error: { code: 'host_timeout', message: 'no answer in 20 s' },
    };
    const done = structuredClone(retrying);
    done.status = 'partially_failed';
    done.targets[1] = { ...done.targets[1]!, status: 'failed', attempts: 2 };
    done.targets[2] = { ...installed(done.targets[2]!), unchanged: true };

    expect(changeLines(undefined, pending)).toEqual([
      'job mwyu1-0123456789abcdef pending_approval: waiting for approval by someone other than alice: fleetctl approve mwyu1-0123456789abcdef',
    ]);
    expect(changeLines(pending, pending)).toEqual([]);
    expect(changeLines(pending, running)).toEqual([
      'job mwyu1-0123456789abcdef running, approved by bob',
      'acme-prd/fe-1 running (attempt 1)',
    ]);
    expect(changeLines(running, retrying)).toEqual([
      'acme-prd/fe-1 installed /srv/fleet-certs/acme-payments-client.pfx',
      'acme-prd/fe-2 retrying after host_timeout: no answer in 20 s (attempt 1)',
    ]);
    expect(changeLines(retrying, done)).toEqual([
      'acme-prd/fe-2 failed host_timeout: no answer in 20 s (attempt 2)',
      'acme-qa/fe-1 installed /srv/fleet-certs/acme-payments-client.pfx (unchanged)',
    ]);
  });

  it('tells what already happened when it starts on a finished job, and a retry round', () => {
    const done = makeJob({ status: 'completed', approvedBy: 'bob' });
    done.targets = done.targets.map(installed);
    expect(changeLines(undefined, done)).toEqual([
      'acme-prd/fe-1 installed /srv/fleet-certs/acme-payments-client.pfx',
      'acme-prd/fe-2 installed /srv/fleet-certs/acme-payments-client.pfx',
      'acme-qa/fe-1 installed /srv/fleet-certs/acme-payments-client.pfx',
    ]);
    const failed = makeJob({ status: 'failed', approvedBy: 'bob' });
    const again = makeJob({ status: 'queued', approvedBy: 'bob', round: 2 });
    again.targets = again.targets.map((t) => ({ ...t, round: 2 }));
    expect(changeLines(failed, again)).toEqual([
      'job mwyu1-0123456789abcdef queued, retry round 2',
      'acme-prd/fe-1 pending',
      'acme-prd/fe-2 pending',
      'acme-qa/fe-1 pending',
    ]);
  });
});
