import { describe, expect, it } from 'vitest';
import { ApiRequestError } from './api-request-error.js';
import type { Job } from './api-types.js';
import { ConnectionError } from './connection-error.js';
import { installed, makeJob } from '../test/fixtures/job-fixture.js';
import { watchJob, type WatchOptions } from './watch.js';

function snapshots(): Job[] {
  const pending = makeJob();
  const running = makeJob({ status: 'running', approvedBy: 'bob' });
  running.targets[0] = { ...running.targets[0]!, status: 'running', attempts: 1 };
  const done = makeJob({ status: 'completed', approvedBy: 'bob' });
  done.targets = done.targets.map(installed);
  return [pending, pending, running, done];
}

function harness(jobs: (Job | Error)[], over: Partial<WatchOptions> = {}) {
  const out = {
    text: '',
    write(s: string) {
      this.text += s;
    },
  };
  let clock = 0;
  let calls = 0;
  const options: WatchOptions = {
    fetchJob: async () => {
      calls++;
      const next = jobs.shift();
      if (!next) throw new Error('polled past the final status');
      if (next instanceof Error) throw next;
      return next;
    },
    out,
    isTTY: false,
    sleep: async () => undefined,
    now: () => new Date((clock += 1000)),
    ...over,
  };
  return { out, options, calls: () => calls };
}

describe('watchJob', () => {
  it('without a terminal: one line per change, then the outcome', async () => {
    const { out, options } = harness(snapshots());
    const final = await watchJob(options);
    expect(final.status).toBe('completed');
    expect(out.text.split('\n')).toEqual([
      'job mwyu1-0123456789abcdef pending_approval: waiting for approval by someone other than alice: fleetctl approve mwyu1-0123456789abcdef',
      'job mwyu1-0123456789abcdef running, approved by bob',
      'acme-prd/fe-1 running (attempt 1)',
      'acme-prd/fe-1 installed /srv/fleet-certs/acme-payments-client.pfx',
      'acme-prd/fe-2 installed /srv/fleet-certs/acme-payments-client.pfx',
      'acme-qa/fe-1 installed /srv/fleet-certs/acme-payments-client.pfx',
      'job mwyu1-0123456789abcdef completed: 3 of 3 targets installed, 0 failed',
      '  ENVIRONMENT  PATH                                       INSTALLED',
      '  acme-prd     /srv/fleet-certs/acme-payments-client.pfx  2/2 front-ends',
      '  acme-qa      /srv/fleet-certs/acme-payments-client.pfx  1/1 front-ends',
      '',
    ]);
  });

  it('on a terminal: redraws the table in place on every poll', async () => {
    const { out, options } = harness(snapshots(), { isTTY: true });
    await watchJob(options);
    // eslint-disable-next-line no-control-regex
    const frames = out.text.split(/\r\x1b\[\d+A\x1b\[J/);
    expect(frames).toHaveLength(4);
    expect(out.text).toContain('\r\x1b[8A\x1b[J'); // up over the 8 lines of a pending frame
    for (const frame of frames) expect(frame).toContain('ENVIRONMENT  FRONT-END  HOST');
    expect(frames[3]).toContain('completed');
    expect(frames[3]).toContain('3/3  100%');
    expect(frames[3]).toContain('job mwyu1-0123456789abcdef completed: 3 of 3 targets installed');
  });

  it('starts from a snapshot in hand without asking for it again', async () => {
    const [first, ...rest] = snapshots();
    const { options, calls } = harness(rest, { first: first! });
    await watchJob(options);
    expect(calls()).toBe(3);
  });

  it('prints nothing when quiet (the caller prints JSON)', async () => {
    const { out, options } = harness(snapshots(), { quiet: true });
    expect((await watchJob(options)).status).toBe('completed');
    expect(out.text).toBe('');
  });

  it('rides out a short API outage, but not a long one, nor an API error', async () => {
    const down = (): ConnectionError => new ConnectionError('http://127.0.0.1:8080', 'ECONNREFUSED');
    const [, , running, done] = snapshots();
    const short = harness([running!, down(), down(), done!], { maxConnectionFailures: 3 });
    expect((await watchJob(short.options)).status).toBe('completed');

    const long = harness([running!, down(), down(), down(), done!], { maxConnectionFailures: 3 });
    await expect(watchJob(long.options)).rejects.toBeInstanceOf(ConnectionError);

    const gone = harness([running!, new ApiRequestError(404, 'not_found', 'no job x')]);
    await expect(watchJob(gone.options)).rejects.toMatchObject({ code: 'not_found' });
  });
});
