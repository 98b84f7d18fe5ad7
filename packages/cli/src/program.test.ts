import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobStatus } from './api-types.js';
import type { CliIo, TextInput } from './cli-io.js';
import { installed, makeJob } from '../test/fixtures/job-fixture.js';
import { buildProgram, DEFAULT_URL, resolveConnection, runCli } from './program.js';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

/** fleetctl in-process; `answers` stands in for the API (the real one is in test/cli.test.ts). */
function run(
  argv: string[],
  options: { env?: Record<string, string>; stdin?: string; answers?: [number, unknown][] } = {},
) {
  const stdout = {
    text: '',
    write(s: string) {
      this.text += s;
    },
  };
  const stderr = {
    text: '',
    write(s: string) {
      this.text += s;
    },
  };
  const stdin = new PassThrough();
  if (options.stdin !== undefined) stdin.end(options.stdin);
  const calls: Call[] = [];
  const answers = [...(options.answers ?? [])];
  const io: CliIo = {
    stdout,
    stderr,
    stdin: stdin as unknown as TextInput,
    env: { CERTFLEET_URL: 'http://api.test', CERTFLEET_TOKEN: 'tok-alice', ...options.env },
    isTTY: false,
    sleep: async () => undefined,
    now: () => new Date('2025-11-27T12:00:00Z'),
    fetch: async (input, init) => {
      calls.push({
        url: String(input),
        method: init?.method ?? 'GET',
        headers: init?.headers as Record<string, string>,
        body: init?.body ? JSON.parse(String(init.body)) : undefined,
      });
      const [status, body] = answers.shift() ?? [500, { error: 'internal', message: 'no answer left' }];
      return new Response(typeof body === 'string' ? body : JSON.stringify(body), {
        status,
        statusText: STATUS_CODES[status] ?? '',
      });
    },
  };
  return runCli(argv, io).then((code) => ({ code, stdout: stdout.text, stderr: stderr.text, calls }));
}

const oneLine = (text: string): string => {
  expect(text.endsWith('\n')).toBe(true);
  expect(text.trimEnd().split('\n')).toHaveLength(1);
  return text.trimEnd();
};

let dir: string;
const file = (name: string): string => path.join(dir, name);
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fleetctl-'));
  await writeFile(file('client.pfx'), Buffer.from([0x30, 0x82, 0x01, 0x02]));
  await writeFile(file('root.pem'), PEM);
  await writeFile(file('inter.der'), Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]));
  await writeFile(file('token'), 'tok-from-file\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('help', () => {
  it('every command has help with examples, --json and the connection options', async () => {
    const names = buildProgram({} as CliIo).commands.map((c) => c.name());
    expect(names).toEqual([
      'submit',
      'approve',
      'reject',
      'status',
      'jobs',
      'retry',
      'continue',
      'rollback',
      'envs',
      'expiry',
      'reconcile',
      'doctor',
      'check',
      'audit',
      'start-now',
      'uninstall',
    ]);
    for (const name of names) {
      const { code, stdout, stderr } = await run([name, '--help']);
      expect(code).toBe(0);
      expect(stderr).toBe('');
      expect(stdout).toContain(`Usage: fleetctl ${name}`);
      for (const text of ['Examples:', '--json', '--url <url>', '--token-file <file>'])
        expect(stdout).toContain(text);
    }
    expect((await run(['--help'])).stdout).toContain('Exit codes: 0 completed');
  });

  it('no option takes the password as an argument', () => {
    const flags = buildProgram({} as CliIo).commands.flatMap((c) => c.options.map((o) => o.flags));
    expect(flags.filter((f) => /password/.test(f))).toEqual(['--password-stdin', '--password-file <file>']);
  });
});

describe('usage errors: exit 1, one line, nothing on stdout', () => {
  it.each([
    [
      ['submit', '--env', 'a', '--name', 'n', '--ticket', 't'],
      "fleetctl: usage: required option '--pfx <file>' not specified (see fleetctl submit --help)",
    ],
    [
      ['submit', '--pfx', 'f', '--env', 'a', '--name', 'n', '--ticket', 't', '--password', 'hunter2'],
      "fleetctl: usage: unknown option '--password' (see fleetctl submit --help)",
    ],
    [
      ['aprove', 'x'],
      "fleetctl: usage: unknown command 'aprove' (Did you mean approve?) (see fleetctl --help)",
    ],
    [
      ['reject', 'x'],
      "fleetctl: usage: required option '--reason <text>' not specified (see fleetctl reject --help)",
    ],
    [
      ['jobs', '--limit', '500'],
      "fleetctl: usage: option '--limit <n>' argument '500' is invalid. it must be a whole number from 1 to 200. (see fleetctl jobs --help)",
    ],
    [['status'], "fleetctl: usage: missing required argument 'id' (see fleetctl status --help)"],
    [
      ['envs', '--token', 'a', '--token-file', 'b'],
      "fleetctl: usage: option '--token-file <file>' cannot be used with option '--token <token>' (see fleetctl envs --help)",
    ],
  ])('%j', async (argv, line) => {
    const { code, stdout, stderr, calls } = await run(argv);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(oneLine(stderr)).toBe(line);
    expect(calls).toEqual([]);
  });

  it('needs a token, an http(s) URL, readable files and a password source', async () => {
    expect(oneLine((await run(['envs'], { env: { CERTFLEET_TOKEN: '' } })).stderr)).toBe(
      'fleetctl: usage: no token: set CERTFLEET_TOKEN or use --token-file FILE',
    );
    expect(oneLine((await run(['envs', '--url', 'redis://x'])).stderr)).toBe(
      "fleetctl: usage: --url must be an http:// or https:// URL, got 'redis://x'",
    );
    const submit = ['submit', '--env', 'acme-prd', '--name', 'n', '--ticket', 't'];
    expect(oneLine((await run([...submit, '--pfx', file('missing.pfx')])).stderr)).toMatch(
      /^fleetctl: usage: cannot read --pfx .*missing\.pfx: ENOENT$/,
    );
    const noPassword = await run([...submit, '--pfx', file('client.pfx')]);
    expect(noPassword.code).toBe(1);
    expect(oneLine(noPassword.stderr)).toContain('--password-stdin or --password-file');
  });

  it('takes the URL and token from flags over the environment', async () => {
    expect(await resolveConnection({}, { CERTFLEET_TOKEN: 't' })).toEqual({ url: DEFAULT_URL, token: 't' });
    expect(
      await resolveConnection({ url: 'https://x', tokenFile: file('token') }, { CERTFLEET_TOKEN: 'env' }),
    ).toEqual({
      url: 'https://x',
      token: 'tok-from-file',
    });
    expect(
      await resolveConnection({ token: 'flag' }, { CERTFLEET_TOKEN: 'env', CERTFLEET_URL: 'http://e' }),
    ).toEqual({
      url: 'http://e',
      token: 'flag',
    });
  });
});

describe('requests and exit codes', () => {
  it('submit sends the files, the password from stdin and the options as the API wants them', async () => {
    const job = makeJob();
    const { code, stdout, stderr, calls } = await run(
      [
        'submit',
        '--pfx',
        file('client.pfx'),
        '--ca',
        file('root.pem'),
        '--ca',
        file('inter.der'),
        '--env',
        'acme-prd,acme-qa',
        '--env',
        'acme-prd',
        '--name',
        'acme-payments-client',
        '--ticket',
        'CASE-1',
        '--no-normalize',
        '--replace',
        '--notify-webhook',
        'https://hook.test/x',
        '--password-stdin',
        '--json',
      ],
      { stdin: 'pw with spaces\nignored\n', answers: [[201, job]] },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(job);
    expect(calls).toEqual([
      {
        url: 'http://api.test/v1/jobs',
        method: 'POST',
        headers: expect.objectContaining({
          authorization: 'Bearer tok-alice',
          'content-type': 'application/json',
        }),
        body: {
          ticket: 'CASE-1',
          name: 'acme-payments-client',
          environments: ['acme-prd', 'acme-qa'],
          pfx: Buffer.from([0x30, 0x82, 0x01, 0x02]).toString('base64'),
          password: 'pw with spaces',
          caCertificates: [PEM, Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]).toString('base64')],
          normalize: false,
          replace: true,
          notify: { webhookUrl: 'https://hook.test/x' },
        },
      },
    ]);
  });

  it('status exits with the code of the job status', async () => {
    const expected: [JobStatus, number][] = [
      ['completed', 0],
      ['partially_failed', 2],
      ['failed', 3],
      ['rejected', 4],
      ['running', 0],
    ];
    for (const [status, exit] of expected) {
      const { code, stdout } = await run(['status', 'job-1'], { answers: [[200, makeJob({ status })]] });
      expect(code, status).toBe(exit);
      expect(stdout).toContain(`Status        ${status}`);
    }
  });

  it('status shows a canary job: its canary, how it continues and the command that continues it', async () => {
    const job = makeJob({
      status: 'canary',
      approvedBy: 'bob',
      canary: { targets: ['acme-prd/fe-1'], continue: 'approve', round: 1, continuedBy: null },
    });
    const { code, stdout } = await run(['status', 'job-1'], { answers: [[200, job]] });
    expect(code).toBe(0);
    expect(stdout).toContain('Status        canary');
    expect(stdout).toContain('Rollout       canary first: acme-prd/fe-1 (continue: approve)');
    expect(stdout).toContain(`fleetctl continue ${job.id}`);
  });

  it('continue posts to the job, and --watch follows it to its end (a canary job stops at canary)', async () => {
    const queued = makeJob({
      status: 'queued',
      round: 2,
      canary: { targets: ['acme-prd/fe-1'], continue: 'approve', round: 1, continuedBy: 'bob' },
    });
    const { code, stdout, calls } = await run(['continue', 'job-1'], { answers: [[202, queued]] });
    expect(code).toBe(0);
    expect(calls.map((c) => [c.method, c.url])).toEqual([['POST', 'http://api.test/v1/jobs/job-1/continue']]);
    expect(stdout).toContain(`job ${queued.id} continued by bob: queued, round 2`);
    const resting = makeJob({ status: 'canary' });
    const watched = await run(['status', 'job-1', '--watch', '--json'], { answers: [[200, resting]] });
    expect(watched.code).toBe(0);
    expect(JSON.parse(watched.stdout).status).toBe('canary');
  });

  it('status --watch --json prints only the final job, and exits with its code', async () => {
    const running = makeJob({ status: 'running', approvedBy: 'bob' });
    const done = makeJob({ status: 'partially_failed', approvedBy: 'bob' });
    done.targets = [
      installed(done.targets[0]!),
      { ...done.targets[1]!, status: 'failed' },
      installed(done.targets[2]!),
    ];
    const { code, stdout, calls } = await run(['status', 'job-1', '--watch', '--json'], {
      answers: [
        [200, running],
        [200, done],
      ],
    });
    expect(code).toBe(2);
    expect(JSON.parse(stdout)).toEqual(done);
    expect(calls.map((c) => c.url)).toEqual([
      'http://api.test/v1/jobs/job-1',
      'http://api.test/v1/jobs/job-1',
    ]);
  });

  it('an API error is one line with its code and message, exit 1', async () => {
    const { code, stdout, stderr } = await run(['approve', 'job-1'], {
      answers: [
        [
          409,
          { error: 'self_approval', message: 'alice submitted job job-1; another approver must approve it' },
        ],
      ],
    });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(oneLine(stderr)).toBe(
      'fleetctl: self_approval: alice submitted job job-1; another approver must approve it',
    );
    const proxy = await run(['envs'], { answers: [[502, '<html>Bad Gateway</html>']] });
    expect(oneLine(proxy.stderr)).toBe(
      'fleetctl: http_502: http://api.test answered 502 Bad Gateway without a certfleet error; is it the certfleet API?',
    );
  });

  it('start-now sends the reason and exits 0; status shows a scheduled job with its start time', async () => {
    const started = makeJob({ status: 'queued', approvedBy: 'bob', startsAt: '2025-03-08T02:00:00.000Z' });
    const r = await run(['start-now', 'job-1', '--reason', 'outage'], { answers: [[202, started]] });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('job mwyu1-0123456789abcdef started now, outside its window: queued');
    expect(r.calls[0]).toMatchObject({
      method: 'POST',
      url: 'http://api.test/v1/jobs/job-1/start-now',
      body: { reason: 'outage' },
    });
    const usage = await run(['start-now', 'job-1']);
    expect(usage.code).toBe(1);
    const scheduled = makeJob({
      status: 'scheduled',
      approvedBy: 'bob',
      startsAt: '2025-03-08T02:00:00.000Z',
    });
    const s = await run(['status', 'job-1'], { answers: [[200, scheduled]] });
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/Status +scheduled/);
    expect(s.stdout).toMatch(/Starts +2025-03-08 02:00/);
    expect(s.stdout).toContain('fleetctl start-now mwyu1-0123456789abcdef --reason');
  });

  it('rollback asks the API for a rollback job and says who approves it; a refusal is one line, exit 1', async () => {
    const pending = makeJob({ action: 'rollback' });
    const r = await run(['rollback', 'acme-prd', 'acme-client'], { answers: [[201, pending]] });
    expect(r.code).toBe(0);
    expect(r.calls[0]).toMatchObject({
      method: 'POST',
      url: 'http://api.test/v1/environments/acme-prd/certificates/acme-client/rollback',
    });
    expect(r.stdout).toContain(`job ${pending.id} pending_approval: rollback of ${pending.name} in acme-prd`);
    expect(r.stdout).toContain(`fleetctl approve ${pending.id} --watch`);
    const none = await run(['rollback', 'acme-prd', 'acme-client'], {
      answers: [
        [409, { error: 'no_previous_version', message: 'acme-client in acme-prd cannot be rolled back' }],
      ],
    });
    expect(none.code).toBe(1);
    expect(oneLine(none.stderr)).toBe(
      'fleetctl: no_previous_version: acme-client in acme-prd cannot be rolled back',
    );
  });

  it('reject sends the reason and exits 0; jobs passes its filters', async () => {
    const rejected = makeJob({ status: 'rejected', rejectedBy: 'bob', rejectReason: 'wrong env' });
    const r = await run(['reject', 'job-1', '--reason', 'wrong env'], { answers: [[200, rejected]] });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('job mwyu1-0123456789abcdef rejected by bob: wrong env\n');
    expect(r.calls[0]).toMatchObject({
      method: 'POST',
      url: 'http://api.test/v1/jobs/job-1/reject',
      body: { reason: 'wrong env' },
    });

    const j = await run(['jobs', '--status', 'completed', '--ticket', 'CASE-1', '--limit', '5'], {
      answers: [[200, { items: [], nextCursor: null }]],
    });
    expect(j.stdout).toBe('no jobs\n');
    expect(j.calls[0]!.url).toBe('http://api.test/v1/jobs?limit=5&status=completed&ticket=CASE-1');

    const repairs = await run(['jobs', '--source', 'reconcile'], {
      answers: [[200, { items: [], nextCursor: null }]],
    });
    expect(repairs.calls[0]!.url).toBe('http://api.test/v1/jobs?limit=50&source=reconcile');
    expect((await run(['jobs', '--source', 'cron'], { answers: [] })).code).not.toBe(0);
  });
  it('expiry lists the certificates soonest first with whole days left, filters by --within, and --check runs the watch first', async () => {
    const cert = (name: string, notAfter: string) => ({
      name,
      fingerprintSha256: 'ab'.repeat(32),
      subject: `CN=${name}`,
      notAfter,
      path: `/srv/certs/${name}.pfx`,
      jobId: 'job-1',
      installedAt: '2025-01-01T00:00:00Z',
      ticket: 'CASE-9',
    });
    const envs = [
      {
        name: 'acme-prd',
        platform: 'linux',
        installDir: '/srv/certs',
        frontEnds: [],
        certificates: [cert('late', '2026-11-27T12:00:00Z'), cert('soon', '2025-12-07T18:00:00Z')],
      },
      {
        name: 'acme-qa',
        platform: 'linux',
        installDir: '/srv/certs',
        frontEnds: [],
        certificates: [cert('old', '2025-11-20T00:00:00Z')],
      },
    ];
    const all = await run(['expiry'], { answers: [[200, envs]] });
    expect(all.code).toBe(0);
    const rows = all.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^ENVIRONMENT\s+NAME\s+EXPIRES\s+DAYS LEFT\s+TICKET\s+PATH$/);
    expect(rows.slice(1).map((r) => r.split(/\s{2,}/).slice(0, 4))).toEqual([
      ['acme-qa', 'old', '2025-11-20 00:00:00Z', 'expired 8d ago'],
      ['acme-prd', 'soon', '2025-12-07 18:00:00Z', '10'],
      ['acme-prd', 'late', '2026-11-27 12:00:00Z', '365'],
    ]);
    expect(all.calls.map((c) => `${c.method} ${c.url}`)).toEqual(['GET http://api.test/v1/environments']);

    const within = await run(['expiry', '--within', '10'], { answers: [[200, envs]] });
    expect(within.stdout).not.toContain('late');
    expect(within.stdout).toContain('soon');
    const none = await run(['expiry', '--within', '5'], { answers: [[200, [envs[0]]]] });
    expect(none.stdout).toBe('no certificate expires within 5 days\n');

    const checked = await run(['expiry', '--check'], {
      answers: [
        [202, { id: 'expiry-watch-x' }],
        [200, envs],
      ],
    });
    expect(checked.calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'POST http://api.test/v1/expiry/check',
      'GET http://api.test/v1/environments',
    ]);
    expect(checked.stderr).toBe(
      'expiry watch expiry-watch-x queued: its reports go to the configured sinks\n',
    );
    expect((await run(['expiry', '--within', 'soon'], { answers: [] })).code).toBe(1);
  });

  it('reconcile queues a run and lists the repairs waiting for a submission; --needed only lists them', async () => {
    const needed = {
      items: [
        {
          environment: 'acme-prd',
          name: 'acme-client',
          frontEnd: 'fe-3',
          reason: 'acme-client is missing on fe-3 of acme-prd (new front-end fe-3), and …: submit it again',
          at: '2025-11-27T11:00:00Z',
        },
      ],
    };
    const r = await run(['reconcile'], {
      answers: [
        [202, { id: 'reconcile-manual-1' }],
        [200, needed],
      ],
    });
    expect(r.code).toBe(0);
    expect(r.calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'POST http://api.test/v1/reconcile',
      'GET http://api.test/v1/reconcile',
    ]);
    expect(r.stderr).toContain('reconcile reconcile-manual-1 queued');
    expect(r.stdout).toBe(
      'waiting for a new submission (no secret is kept to install again):\n' +
        `  acme-prd/fe-3 acme-client: ${needed.items[0]!.reason}\n`,
    );
    const only = await run(['reconcile', '--needed'], { answers: [[200, { items: [] }]] });
    expect(only.calls.map((c) => c.method)).toEqual(['GET']);
    expect(only.stdout).toBe('no repair waits for a new submission\n');
  });
});

describe('uninstall', () => {
  it('posts to the certificate of the environment, prints the job and how to approve it, exit 0', async () => {
    const job = makeJob({ status: 'pending_approval', action: 'uninstall', name: 'acme' });
    const { code, stdout, calls } = await run(['uninstall', 'acme-prd', 'acme'], { answers: [[201, job]] });
    expect(code).toBe(0);
    expect(calls).toMatchObject([
      { method: 'POST', url: 'http://api.test/v1/environments/acme-prd/certificates/acme/uninstall' },
    ]);
    expect(stdout).toContain(`job ${job.id} pending_approval: uninstall acme from`);
    expect(stdout).toContain(`fleetctl approve ${job.id}`);
  });

  it('a second uninstall answered 404 is one line with its code, exit 1', async () => {
    const { code, stderr } = await run(['uninstall', 'acme-prd', 'acme'], {
      answers: [[404, { error: 'not_found', message: "acme-prd holds no certificate named 'acme'" }]],
    });
    expect(code).toBe(1);
    expect(oneLine(stderr)).toBe("fleetctl: not_found: acme-prd holds no certificate named 'acme'");
  });
});
