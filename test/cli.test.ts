/**
 * fleetctl as operators run it: the real executable (bin/fleetctl.js) in a child
 * process, against the real API, worker, Redis and three sshd front-ends; once
 * under a real pseudo-terminal (util-linux `script`) for the live table.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The package's public entry; by path, so that the test does not wait for npm to link the new workspace.
import { runCli, type TextInput } from '@certfleet/cli';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  startStack,
  type HarnessEnvironment,
  type Stack,
  fleetEnvironments,
  startFleet,
  type Fleet,
} from '@certfleet/test-kit';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'packages/cli/bin/fleetctl.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a child: this one without any CERTFLEET_* of the machine running the tests. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const own = Object.entries(process.env).filter(([key]) => !key.startsWith('CERTFLEET_'));
  return { ...Object.fromEntries(own), ...extra };
}

/** Single quotes for sh. */
const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function collect(child: ReturnType<typeof spawn>, outputs: string[], input?: string | null): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  // `null`: the caller writes to stdin itself (a terminal's keyboard).
  if (input !== null) child.stdin!.end(input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      outputs.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const lines = (text: string): string[] => text.trimEnd().split('\n');

describe('fleetctl against the running services', () => {
  let fleet: Fleet;
  let stack: Stack;
  let certs: DemoCertificates;
  let dir: string;
  let pfxFile: string;
  let caFile: string;
  let passwordFile: string;
  /** Every stdout and stderr of every run, checked for the password at the end. */
  const outputs: string[] = [];

  /** Runs the real fleetctl executable as a principal (or with a literal token). */
  const fleetctl = (
    args: string[],
    options: { as?: string; input?: string; env?: Record<string, string> } = {},
  ): Promise<Run> => {
    const token = stack.tokens[options.as ?? 'alice'] ?? options.as ?? '';
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: childEnv({ CERTFLEET_URL: stack.url, CERTFLEET_TOKEN: token, ...options.env }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return collect(child, outputs, options.input);
  };

  const submitArgs = (ticket: string, name: string): string[] => [
    'submit',
    '--pfx',
    pfxFile,
    '--ca',
    caFile,
    '--env',
    'acme-prd',
    '--env',
    'acme-qa',
    '--name',
    name,
    '--ticket',
    ticket,
  ];

  beforeAll(async () => {
    fleet = await startFleet({ count: 3 });
    const envs: HarnessEnvironment[] = fleetEnvironments(fleet, { 'acme-prd': 2, 'acme-qa': 1 });
    stack = await startStack({
      environments: envs,
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
    });
    certs = makeDemoCertificates('cli-client');
    dir = await mkdtemp(path.join(tmpdir(), 'fleetctl-test-'));
    pfxFile = path.join(dir, 'client.pfx');
    caFile = path.join(dir, 'root.cer');
    passwordFile = path.join(dir, 'password.txt');
    await writeFile(pfxFile, certs.pfx);
    await writeFile(caFile, certs.caPem);
    await writeFile(passwordFile, `${certs.password}\n`, { mode: 0o600 });
  });

  afterAll(async () => {
    await stack?.stop();
    await fleet?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('submits as alice, approves as bob, and follows the job to the path on every front-end', async () => {
    const submitted = await fleetctl(
      [...submitArgs('CASE-300001', 'cli-payments'), '--password-stdin', '--json'],
      { as: 'alice', input: `${certs.password}\n` },
    );
    expect(submitted.stderr).toBe('');
    expect(submitted.code).toBe(0);
    const job = JSON.parse(submitted.stdout);
    expect(job).toMatchObject({ status: 'pending_approval', submittedBy: 'alice', ticket: 'CASE-300001' });
    expect(job.certificate.subject).toBe('CN=cli-client');

    const self = await fleetctl(['approve', job.id], { as: 'alice' });
    expect(self.code).toBe(1);
    expect(self.stdout).toBe('');
    expect(lines(self.stderr)).toEqual([
      expect.stringMatching(/^fleetctl: self_approval: .*another approver/),
    ]);

    const approved = await fleetctl(['approve', job.id], { as: 'bob' });
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`job ${job.id} approved by bob: queued, 3 targets`);

    const watched = await fleetctl(['status', job.id, '--watch'], { as: 'bob' });
    expect(watched.stderr).toBe('');
    expect(watched.code).toBe(0);
    const pfxPath = `${fleet.installDir}/cli-payments.pfx`;
    const out = lines(watched.stdout);
    for (const target of ['acme-prd/fe-1', 'acme-prd/fe-2', 'acme-qa/fe-1']) {
      expect(out).toContain(`${target} installed ${pfxPath}`);
    }
    expect(out).toContain(`job ${job.id} completed: 3 of 3 targets installed, 0 failed`);
    expect(out).toContainEqual(expect.stringMatching(new RegExp(`^  acme-prd +${pfxPath} +2/2 front-ends$`)));
    expect(out).toContainEqual(expect.stringMatching(new RegExp(`^  acme-qa +${pfxPath} +1/1 front-ends$`)));
    expect(watched.stdout).not.toContain('\x1b');
    for (const host of fleet.hosts) {
      expect((await readFile(path.join(host.dir, 'cli-payments.pfx'))).equals(certs.pfx)).toBe(true);
    }

    const status = await fleetctl(['status', job.id]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Status        completed');
    expect(status.stdout).toContain('Approved by   bob');
    expect(status.stdout).toContain('Subject      CN=cli-client');
    expect(status.stdout).toContain('Issuer       CN=certfleet demo root CA');
    expect(status.stdout).toContain('Chain        CN=cli-client → CN=certfleet demo root CA');
    expect(status.stdout).toContain(`acme-prd  ${pfxPath}`);
    expect(status.stdout).toContain('Targets: 3/3 installed, 0 failed');
  });

  it('lists jobs by ticket, the environments and the audit trail', async () => {
    const list = await fleetctl(['jobs', '--ticket', 'CASE-300001'], { as: 'bob' });
    expect(list.code).toBe(0);
    const [header, row, ...rest] = lines(list.stdout);
    expect(header).toMatch(/^ID +STATUS +TICKET +NAME +ENVIRONMENTS +INSTALLED +SUBMITTED +BY +APPROVED BY$/);
    expect(row).toMatch(/ completed +CASE-300001 +cli-payments +acme-prd,acme-qa +3\/3 .* alice +bob$/);
    expect(rest).toEqual([]);
    const json = JSON.parse((await fleetctl(['jobs', '--ticket', 'CASE-300001', '--json'])).stdout);
    expect(json.items).toHaveLength(1);
    const id = json.items[0].id as string;

    const envs = await fleetctl(['envs']);
    expect(envs.code).toBe(0);
    expect(envs.stdout).toMatch(
      /^acme-prd +linux +\/srv\/fleet-certs +fe-1 \(127\.[\d.]+:\d+\), fe-2 .* 1$/m,
    );
    expect(envs.stdout).toMatch(
      new RegExp(
        `^acme-qa +cli-payments +CN=cli-client .* ${id} +${fleet.installDir}/cli-payments.pfx$`,
        'm',
      ),
    );

    const audit = await fleetctl(['audit', id], { as: 'bob' });
    expect(audit.code).toBe(0);
    const actions = lines(audit.stdout)
      .slice(1)
      .map((l) => l.split(/ {2,}/).slice(1, 3).join(' '));
    expect(actions).toEqual([
      'alice submit',
      'bob approve',
      'worker target.installed',
      'worker target.installed',
      'worker target.installed',
      'worker job.completed',
    ]);
  });

  it('rejects: reject exits 0, status of the rejected job exits 4', async () => {
    const submitted = await fleetctl([
      ...submitArgs('CASE-300002', 'cli-rejected'),
      '--password-file',
      passwordFile,
      '--json',
    ]);
    expect(submitted.code).toBe(0);
    const id = JSON.parse(submitted.stdout).id as string;

    const rejected = await fleetctl(['reject', id, '--reason', 'wrong customer'], { as: 'bob' });
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toBe(`job ${id} rejected by bob: wrong customer\n`);

    const status = await fleetctl(['status', id]);
    expect(status.code).toBe(4);
    expect(status.stdout).toContain('Rejected by   bob: wrong customer');
    const watched = await fleetctl(['status', id, '--watch', '--json']);
    expect(watched.code).toBe(4);
    expect(JSON.parse(watched.stdout)).toMatchObject({
      id,
      status: 'rejected',
      rejectReason: 'wrong customer',
    });
  });

  it('says what went wrong in one line and exits 1: token, server, usage, API refusals', async () => {
    const wrongToken = await fleetctl(['jobs'], { as: 'cf_not-a-token' });
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stdout).toBe('');
    expect(lines(wrongToken.stderr)).toEqual([expect.stringMatching(/^fleetctl: unauthorized: \S.*$/)]);

    const port = await closedPort();
    const down = await fleetctl(['status', 'x'], { env: { CERTFLEET_URL: `http://127.0.0.1:${port}` } });
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`fleetctl: cannot reach http://127.0.0.1:${port}: ECONNREFUSED\n`);

    const usage = await fleetctl(['submit', '--env', 'acme-prd', '--name', 'x', '--ticket', 'T-1']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toBe(
      "fleetctl: usage: required option '--pfx <file>' not specified (see fleetctl submit --help)\n",
    );

    // No option takes the password itself: it would be visible in ps.
    const inArgv = await fleetctl([...submitArgs('CASE-300009', 'x'), '--password', 'guessable']);
    expect(inArgv.code).toBe(1);
    expect(inArgv.stderr).toBe("fleetctl: usage: unknown option '--password' (see fleetctl submit --help)\n");

    const badPassword = await fleetctl([...submitArgs('CASE-300010', 'x'), '--password-stdin'], {
      input: 'not-the-password\n',
    });
    expect(badPassword.code).toBe(1);
    expect(lines(badPassword.stderr)).toEqual([expect.stringMatching(/^fleetctl: pfx_bad_password: /)]);

    const wrongRole = await fleetctl([...submitArgs('CASE-300011', 'x'), '--password-file', passwordFile], {
      as: 'bob',
    });
    expect(wrongRole.code).toBe(1);
    expect(lines(wrongRole.stderr)).toEqual([expect.stringMatching(/^fleetctl: forbidden: /)]);

    const missing = await fleetctl(['status', 'no-such-job']);
    expect(missing.code).toBe(1);
    expect(lines(missing.stderr)).toEqual(['fleetctl: not_found: no job no-such-job']);
  });

  it('runs in-process as well, against the same API', async () => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['jobs', '--status', 'completed', '--json'], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      stdin: new PassThrough() as unknown as TextInput,
      env: { CERTFLEET_URL: stack.url, CERTFLEET_TOKEN: stack.tokens['carol']! },
      isTTY: false,
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).items.map((j: { ticket: string }) => j.ticket)).toEqual(['CASE-300001']);
  });

  it('on a terminal, --watch redraws a table of targets in place with a progress bar', async () => {
    const command = [
      'stty cols 160 rows 40;',
      'exec',
      shq(process.execPath),
      shq(BIN),
      ...submitArgs('CASE-300003', 'cli-tty').map(shq),
      '--password-file',
      shq(passwordFile),
      '--watch',
    ].join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: ROOT,
      env: childEnv({ CERTFLEET_URL: stack.url, CERTFLEET_TOKEN: stack.tokens['alice']!, TERM: 'xterm' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const done = collect(child, outputs);

    // Approve once the job is waiting, while fleetctl is watching it.
    let id: string | undefined;
    for (let i = 0; i < 200 && !id; i++) {
      const { body } = await stack.request('bob', 'GET', '/v1/jobs?ticket=CASE-300003');
      id = body.items?.[0]?.id;
      if (!id) await new Promise((r) => setTimeout(r, 100));
    }
    expect(id).toBeDefined();
    await new Promise((r) => setTimeout(r, 1200)); // a few frames while pending
    expect((await stack.request('bob', 'POST', `/v1/jobs/${id}/approve`)).status).toBe(202);

    const run = await done;
    expect(run.code).toBe(0);
    const screen = run.stdout;
    // eslint-disable-next-line no-control-regex
    const redraws = screen.match(/\r\x1b\[\d+A\x1b\[J/g) ?? [];
    expect(redraws.length).toBeGreaterThanOrEqual(2);
    expect(screen).toMatch(/ENVIRONMENT {2}FRONT-END {2}HOST +STATE +ATTEMPTS {2}PATH \/ ERROR/);
    expect(screen).toContain('pending_approval');
    expect(screen).toContain(`waiting for approval by someone other than alice: fleetctl approve ${id}`);
    expect(screen).toContain('[░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░]  0/3  0%');
    expect(screen).toContain('[██████████████████████████████]  3/3  100%  installed 3, failed 0');
    expect(screen).toMatch(
      new RegExp(`acme-qa +fe-1 +127\\.[\\d.]+ +installed +1 +${fleet.installDir}/cli-tty.pfx`),
    );
    expect(screen).toContain(`job ${id} completed: 3 of 3 targets installed, 0 failed`);
  });

  it('on a terminal, asks for the password without echoing it', async () => {
    const command = [
      'exec',
      shq(process.execPath),
      shq(BIN),
      ...submitArgs('CASE-300004', 'cli-prompt').map(shq),
      '--json',
    ].join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: ROOT,
      env: childEnv({ CERTFLEET_URL: stack.url, CERTFLEET_TOKEN: stack.tokens['alice']! }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const done = collect(child, outputs, null);
    // Type only once the prompt is up: the terminal is in raw mode by then, so nothing echoes.
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`no prompt; got ${JSON.stringify(seen)}`)), 30_000);
      child.stdout!.on('data', (c: Buffer) => {
        seen += c.toString();
        if (seen.includes('PFX password: ')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.stdin!.write(`${certs.password}\r`);
    const run = await done.finally(() => child.stdin!.end());
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^PFX password: \r?\n/);
    expect(run.stdout).not.toContain(certs.password);
    const job = JSON.parse(run.stdout.slice(run.stdout.indexOf('{')));
    expect(job).toMatchObject({ status: 'pending_approval', name: 'cli-prompt' });
  });

  it('never shows the password, in any output', () => {
    expect(outputs.length).toBeGreaterThan(20);
    for (const text of outputs) expect(text).not.toContain(certs.password);
  });
});
