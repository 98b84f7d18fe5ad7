/**
 * Front-ends that fail, through the HTTP API with real Redis, BullMQ and real sshd
 * front-ends (TESTING.md "Faults"): a host that refuses, one that hangs (SIGSTOP), one
 * rebuilt with a new host key, one with a full disk (a filled tmpfs), one whose install
 * directory the login user may not write, two jobs for the same hosts at once, and a
 * webhook receiver that is down, then up, or refuses. Every test checks the final job
 * record, each host's own disk and the reports the receiver got.
 */
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { chown, readFile, readdir, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createRedis, verifySignature } from '@certfleet/jobs';
import { FleetKeys } from '@certfleet/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  startReceiver,
  startStack,
  type HarnessEnvironment,
  type HarnessHost,
  type Receiver,
  type Stack,
  ensureUser,
  startFleet,
  type Fleet,
  type FleetHost,
} from '@certfleet/test-kit';

const execFileAsync = promisify(execFile);
const WEBHOOK_SECRET = 'faults-outbound-secret';
const UNPRIVILEGED = 'certfleet-test';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------------------------------
// what is on a host's own disk

const TEMP = /certfleet-tmp/;

async function tempFiles(host: FleetHost): Promise<string[]> {
  return (await readdir(host.dir)).filter((f) => TEMP.test(f));
}

/** `<name>.pfx` and `<name>.ca1.cer` hold exactly the submitted bytes, mode 0640, no temporary file. */
async function expectInstalledOn(host: FleetHost, name: string, certs: DemoCertificates): Promise<void> {
  const pfxPath = path.join(host.dir, `${name}.pfx`);
  const pfx = await readFile(pfxPath);
  expect(pfx.equals(certs.pfx), `${host.name}: ${name}.pfx`).toBe(true);
  expect(sha256(pfx)).toBe(sha256(certs.pfx));
  expect((await stat(pfxPath)).mode & 0o777).toBe(0o640);
  const ca = await readFile(path.join(host.dir, `${name}.ca1.cer`));
  expect(ca.equals(new X509Certificate(certs.caPem).raw), `${host.name}: ${name}.ca1.cer`).toBe(true);
  expect(await tempFiles(host), `${host.name}: temporary files`).toEqual([]);
}

/** Nothing of `name` (not even a temporary file) is on the host. */
async function expectNothingOn(host: FleetHost, name: string): Promise<void> {
  const files = (await readdir(host.dir)).filter((f) => f.startsWith(name) || f.startsWith(`.${name}`));
  expect(files, `${host.name}: files of ${name}`).toEqual([]);
}

// ---------------------------------------------------------------------------------------
// what the hosts' sshd logs show

/** One authenticated SSH connection, as line numbers of the host's sshd log. */
interface Session {
  port: string;
  accepted: number;
  /** First line that shows it ending; Infinity while it is open. */
  ended: number;
}

async function logLines(host: FleetHost): Promise<string[]> {
  return (await readFile(host.logFile, 'utf8')).split('\n');
}

/**
 * Authenticated connections in log lines `from…`. sshd logs "Received disconnect" before it
 * closes the socket, so a client that waits for the close before releasing its host lock
 * can never make the next connection's "Accepted publickey" come before it.
 */
function sessions(lines: string[], from = 0): Session[] {
  const found = new Map<string, Session>();
  lines.forEach((line, i) => {
    if (i < from) return;
    const accepted = /^Accepted publickey for \S+ from \S+ port (\d+)/.exec(line);
    if (accepted) {
      found.set(accepted[1]!, { port: accepted[1]!, accepted: i, ended: Infinity });
      return;
    }
    const end =
      /^(?:Received disconnect from|Disconnected from user \S+|Connection closed by|Connection reset by) \S+ port (\d+)/.exec(
        line,
      );
    const open = end ? found.get(end[1]!) : undefined;
    if (open && open.ended === Infinity) open.ended = i;
  });
  return [...found.values()];
}

/** Largest number of authenticated connections open at once. */
function maxOverlap(list: Session[]): number {
  let max = 0;
  for (const s of list) {
    const open = list.filter((o) => o.accepted <= s.accepted && o.ended > s.accepted).length;
    max = Math.max(max, open);
  }
  return max;
}

// ---------------------------------------------------------------------------------------
// a receiver that can be down (closed) and come back on the same port

interface Delivery {
  key: string;
  answered: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface SwitchableReceiver {
  url: string;
  deliveries: Delivery[];
  respondWith(status: number): void;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

async function startSwitchableReceiver(): Promise<SwitchableReceiver> {
  const deliveries: Delivery[] = [];
  let status = 200;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // recorded and answered in one tick: `answered` is what the notifier saw
      deliveries.push({
        key: String(req.headers['idempotency-key'] ?? ''),
        answered: status,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.statusCode = status;
      res.end(status < 300 ? 'ok' : 'unavailable');
    });
  });
  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  await listen(0);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveries,
    respondWith(s) {
      status = s;
    },
    down: stop,
    up: () => listen(port),
    close: stop,
  };
}

// ---------------------------------------------------------------------------------------

async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

function harnessHost(name: string, h: FleetHost): HarnessHost {
  return { name, address: h.address, port: h.port, hostKeyLine: h.hostKeyLine };
}

function byFrontEnd(job: Json): Record<string, Json> {
  return Object.fromEntries((job.targets as Json[]).map((t) => [t.frontEnd, t]));
}

async function auditOf(stack: Stack, jobId?: string): Promise<Json[]> {
  const res = await stack.request('bob', 'GET', jobId ? `/v1/audit?job=${jobId}` : '/v1/audit');
  expect(res.status).toBe(200);
  return res.body.items;
}

/** Stream ids (`<ms>-<seq>`) in order. */
function streamOrder(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
}

describe('front-ends that fail', () => {
  /** Root logins: refused, rebuilt key, full disk, two jobs at once, receivers. */
  let fleet: Fleet;
  /** An unprivileged login: no permission, and a host that hangs. */
  let userFleet: Fleet;
  let stack: Stack;
  let userStack: Stack;
  let receiver: Receiver;
  let certs: DemoCertificates;
  let otherCerts: DemoCertificates;
  let userUid: number;
  const mounted = new Set<string>();

  const r = (i: number): FleetHost => fleet.hosts[i - 1]!;
  const u = (i: number): FleetHost => userFleet.hosts[i - 1]!;

  beforeAll(async () => {
    const login = await ensureUser(UNPRIVILEGED);
    userUid = login.uid;
    [fleet, userFleet] = await Promise.all([
      startFleet({ count: 7 }),
      startFleet({ count: 3, username: UNPRIVILEGED }),
    ]);
    // u2's disk belongs to the login user; u1's and u3's stay root 0755
    await chown(u(2).dir, login.uid, login.gid);
    receiver = await startReceiver();
    certs = makeDemoCertificates('faults-client');
    otherCerts = makeDemoCertificates('faults-other');

    const envs: HarnessEnvironment[] = [
      {
        name: 'retail',
        platform: 'linux',
        installDir: fleet.installDir,
        hosts: [harnessHost('fe-1', r(1)), harnessHost('fe-2', r(2)), harnessHost('fe-3', r(3))],
      },
      {
        name: 'rekeyed',
        platform: 'linux',
        installDir: fleet.installDir,
        hosts: [harnessHost('fe-1', r(4)), harnessHost('fe-2', r(5))],
      },
      {
        name: 'full',
        platform: 'linux',
        installDir: fleet.installDir,
        hosts: [harnessHost('fe-1', r(6)), harnessHost('fe-2', r(7))],
      },
    ];
    stack = await startStack({
      environments: envs,
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
      env: {
        FLEET_NOTIFY_WEBHOOK_SECRET: WEBHOOK_SECRET,
        FLEET_RETRY_ATTEMPTS: '2',
        FLEET_RETRY_BACKOFF_MS: '200',
      },
    });
    userStack = await startStack({
      environments: [
        {
          name: 'locked',
          platform: 'linux',
          installDir: userFleet.installDir,
          hosts: [harnessHost('fe-1', u(1)), harnessHost('fe-2', u(2))],
        },
        {
          name: 'hung',
          platform: 'linux',
          installDir: userFleet.installDir,
          hosts: [harnessHost('fe-1', u(3)), harnessHost('fe-2', u(2))],
        },
      ],
      username: userFleet.username,
      privateKeyPath: userFleet.clientKeyPath,
      // one attempt: a hung host costs one SSH ready timeout (10 s), not five
      env: { FLEET_NOTIFY_WEBHOOK_SECRET: WEBHOOK_SECRET, FLEET_RETRY_ATTEMPTS: '1' },
    });
  });

  afterAll(async () => {
    userFleet?.hosts.forEach((h) => h.resume());
    await stack?.stop();
    await userStack?.stop();
    await receiver?.close();
    for (const dir of mounted) await execFileAsync('umount', ['-l', dir]).catch(() => undefined);
    await fleet?.stop();
    await userFleet?.stop();
  });

  const body = (environment: string, name: string, ticket: string, extra: Record<string, unknown> = {}) => ({
    ticket,
    name,
    environments: [environment],
    pfx: certs.pfx.toString('base64'),
    password: certs.password,
    caCertificates: [certs.caPem],
    notify: { webhookUrl: receiver.url },
    ...extra,
  });

  async function submitApproved(s: Stack, payload: Record<string, unknown>): Promise<string> {
    const submitted = await s.request('alice', 'POST', '/v1/jobs', payload);
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const approved = await s.request('bob', 'POST', `/v1/jobs/${submitted.body.id}/approve`);
    expect(approved.status, JSON.stringify(approved.body)).toBe(202);
    return submitted.body.id as string;
  }

  /** The signed reports for `jobId` so far, by Idempotency-Key. */
  function reportsFor(received: { headers: IncomingHttpHeaders; body: string }[], jobId: string) {
    return received
      .filter((d) => String(d.headers['idempotency-key'] ?? '').startsWith(`${jobId}:`))
      .map((d) => {
        expect(
          verifySignature([WEBHOOK_SECRET], d.headers['x-certfleet-signature'] as string, d.body).ok,
        ).toBe(true);
        expect(d.body).not.toContain(certs.password);
        return { key: String(d.headers['idempotency-key']), report: JSON.parse(d.body) as Json };
      });
  }

  async function waitForReports(jobId: string, keys: string[]): Promise<Json[]> {
    return waitUntil(`reports ${keys.join(', ')}`, async () => {
      const got = reportsFor(receiver.received, jobId);
      return keys.every((k) => got.some((g) => g.key === k)) ? got : undefined;
    });
  }

  it('a refused host ends partially_failed after its retries; a retry round sends only that host', async () => {
    const name = 'acme-refused';
    await r(2).stop();
    try {
      const id = await submitApproved(stack, body('retail', name, 'CASE-F1'));
      const first = await stack.waitForJob(id);
      expect(first.status).toBe('partially_failed');
      expect(first.round).toBe(1);
      const t1 = byFrontEnd(first);
      expect(t1['fe-2']).toMatchObject({
        status: 'failed',
        attempts: 2,
        round: 1,
        error: { code: 'host_unreachable' },
      });
      expect(t1['fe-2'].error.message).toContain('ECONNREFUSED');
      expect(t1['fe-2'].error.message).toContain(`${r(2).address}:${r(2).port}`);
      expect(t1['fe-2'].finishedAt).toEqual(expect.any(String));
      for (const fe of ['fe-1', 'fe-3']) {
        expect(t1[fe]).toMatchObject({
          status: 'installed',
          sha256: sha256(certs.pfx),
          attempts: 1,
          round: 1,
          error: null,
          path: `${fleet.installDir}/${name}.pfx`,
        });
      }
      await expectInstalledOn(r(1), name, certs);
      await expectInstalledOn(r(3), name, certs);
      await expectNothingOn(r(2), name);
      const failedAudit = (await auditOf(stack, id)).filter((e) => e.action === 'target.failed');
      expect(failedAudit.map((e) => [e.detail.target, e.detail.code, e.detail.attempt])).toEqual([
        ['retail/fe-2', 'host_unreachable', 2],
      ]);
      const [round1] = await waitForReports(id, [`${id}:1:partially_failed`]);
      expect(round1.report).toMatchObject({
        event: 'job.finished',
        round: 1,
        job: { id, status: 'partially_failed' },
      });

      // The host comes back; the operator retries: only fe-2 is sent again.
      await r(2).start();
      const before = await Promise.all([r(1), r(3)].map((h) => stat(path.join(h.dir, `${name}.pfx`))));
      const logsBefore = await Promise.all([r(1), r(3)].map(logLines));
      const retried = await stack.request('alice', 'POST', `/v1/jobs/${id}/retry`);
      expect(retried.status, JSON.stringify(retried.body)).toBe(202);
      expect(retried.body).toMatchObject({ status: 'queued', round: 2 });
      expect(byFrontEnd(retried.body)['fe-2']).toMatchObject({ status: 'pending', round: 2, error: null });
      const final = await stack.waitForJob(id);
      expect(final.status).toBe('completed');
      expect(final.round).toBe(2);
      const t2 = byFrontEnd(final);
      expect(t2['fe-2']).toMatchObject({
        status: 'installed',
        round: 2,
        attempts: 1,
        sha256: sha256(certs.pfx),
        error: null,
      });
      for (const fe of ['fe-1', 'fe-3']) {
        // untouched by round 2: same record, same file, no SSH login at all
        expect(t2[fe]).toEqual(t1[fe]);
      }
      for (const h of [r(1), r(2), r(3)]) await expectInstalledOn(h, name, certs);
      const after = await Promise.all([r(1), r(3)].map((h) => stat(path.join(h.dir, `${name}.pfx`))));
      after.forEach((s, i) => expect([s.ino, s.mtimeMs]).toEqual([before[i]!.ino, before[i]!.mtimeMs]));
      const logsAfter = await Promise.all([r(1), r(3)].map(logLines));
      logsAfter.forEach((lines, i) => expect(sessions(lines, logsBefore[i]!.length - 1)).toEqual([]));

      const entries = await auditOf(stack, id);
      const retry = entries.find((e) => e.action === 'retry');
      expect(retry).toMatchObject({ actor: 'alice', detail: { round: 2, targets: ['retail/fe-2'] } });
      const installedAfterRetry = entries
        .filter((e) => e.action === 'target.installed' && streamOrder(e.id, retry.id) > 0)
        .map((e) => e.detail.target);
      expect(installedAfterRetry).toEqual(['retail/fe-2']);

      const reports = await waitForReports(id, [`${id}:1:partially_failed`, `${id}:2:completed`]);
      expect(reports.map((x) => x.key).sort()).toEqual([`${id}:1:partially_failed`, `${id}:2:completed`]);
      const round2 = reports.find((x) => x.key === `${id}:2:completed`)!;
      expect(round2.report).toMatchObject({ round: 2, job: { id, status: 'completed', round: 2 } });
    } finally {
      if (!r(2).running) await r(2).start();
    }
  });

  it('a hung host (SIGSTOP) fails with host_timeout within the SSH ready timeout; the others install', async () => {
    const name = 'acme-hung';
    u(3).pause();
    const started = Date.now();
    let final: Json;
    try {
      const id = await submitApproved(userStack, body('hung', name, 'CASE-F2'));
      final = await userStack.waitForJob(id, 60_000);
      const elapsed = Date.now() - started;
      // one attempt of the 10 s SSH ready timeout, plus the rest of the job
      expect(elapsed).toBeGreaterThan(9_000);
      expect(elapsed).toBeLessThan(25_000);
    } finally {
      u(3).resume();
    }
    expect(final.status).toBe('partially_failed');
    const t = byFrontEnd(final);
    expect(t['fe-1']).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'host_timeout' } });
    expect(t['fe-1'].host).toBe(u(3).address);
    expect(t['fe-1'].error.message).toMatch(/did not finish within \d+ ms/);
    expect(t['fe-2']).toMatchObject({ status: 'installed', sha256: sha256(certs.pfx), error: null });
    await expectInstalledOn(u(2), name, certs);
    expect((await stat(path.join(u(2).dir, `${name}.pfx`))).uid).toBe(userUid);
    await expectNothingOn(u(3), name);
    const reports = await waitForReports(final.id, [`${final.id}:1:partially_failed`]);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.report.job.targets.find((x: Json) => x.frontEnd === 'fe-1').error.code).toBe(
      'host_timeout',
    );
  });

  it('a host rebuilt with another host key fails host_key_mismatch at once, and nothing is sent to it', async () => {
    const name = 'acme-rekeyed';
    const h = r(4);
    const pinned = h.hostKeyLine;
    // The front-end is "rebuilt": a new host key; the inventory still pins the old one.
    await h.stop();
    const keyFile = path.join(h.configDir, 'ssh_host_ed25519_key');
    await rm(keyFile, { force: true });
    await rm(`${keyFile}.pub`, { force: true });
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', h.name, '-f', keyFile]);
    h.hostKeyLine = (await readFile(`${keyFile}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    expect(h.hostKeyLine).not.toBe(pinned);
    await h.start();
    const logFrom = (await logLines(h)).length - 1;

    const id = await submitApproved(stack, body('rekeyed', name, 'CASE-F3'));
    const final = await stack.waitForJob(id);
    expect(final.status).toBe('partially_failed');
    const t = byFrontEnd(final);
    // permanent: one attempt although FLEET_RETRY_ATTEMPTS is 2
    expect(t['fe-1']).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'host_key_mismatch' } });
    expect(t['fe-1'].error.message).toContain('not the pinned');
    expect(t['fe-1'].error.message).toContain('update hostKey in the inventory');
    expect(t['fe-2']).toMatchObject({ status: 'installed', sha256: sha256(certs.pfx) });
    await expectNothingOn(h, name);
    expect(await readdir(h.dir)).toEqual([]);
    await expectInstalledOn(r(5), name, certs);
    // certfleet reached the host but offered no credential: no public key was ever tried
    const lines = (await logLines(h)).slice(logFrom);
    expect(lines.some((l) => l.startsWith('Connection from'))).toBe(true);
    expect(lines.filter((l) => /publickey|Accepted/.test(l))).toEqual([]);
    const failed = (await auditOf(stack, id)).filter((e) => e.action === 'target.failed');
    expect(failed.map((e) => [e.detail.target, e.detail.code, e.detail.attempt])).toEqual([
      ['rekeyed/fe-1', 'host_key_mismatch', 1],
    ]);
    expect(await waitForReports(id, [`${id}:1:partially_failed`])).toHaveLength(1);
  });

  it('a full disk (a filled tmpfs) fails disk_full at once and leaves no temporary file', async () => {
    const name = 'acme-full';
    const h = r(6);
    await h.stop();
    await execFileAsync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', h.dir]);
    mounted.add(h.dir);
    try {
      // dd stops with ENOSPC once the file system is full
      await execFileAsync('dd', ['if=/dev/zero', `of=${path.join(h.dir, 'fill')}`, 'bs=4k']).catch(
        () => undefined,
      );
      await h.start();
      const id = await submitApproved(stack, body('full', name, 'CASE-F4'));
      const final = await stack.waitForJob(id);
      expect(final.status).toBe('partially_failed');
      const t = byFrontEnd(final);
      expect(t['fe-1']).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'disk_full' } });
      expect(t['fe-1'].error.message).toContain('no space left');
      expect(t['fe-2']).toMatchObject({ status: 'installed', sha256: sha256(certs.pfx) });
      expect(await readdir(h.dir)).toEqual(['fill']);
      await expectInstalledOn(r(7), name, certs);
      expect(await waitForReports(id, [`${id}:1:partially_failed`])).toHaveLength(1);
    } finally {
      await h.stop();
      await execFileAsync('umount', [h.dir]);
      mounted.delete(h.dir);
      await h.start();
    }
  });

  it('an install directory the login user may not write fails permission_denied at once', async () => {
    const name = 'acme-locked';
    const denied = u(1);
    const dirStat = await stat(denied.dir);
    expect([dirStat.uid, dirStat.mode & 0o777]).toEqual([0, 0o755]);
    const id = await submitApproved(userStack, body('locked', name, 'CASE-F5'));
    const final = await userStack.waitForJob(id);
    expect(final.status).toBe('partially_failed');
    const t = byFrontEnd(final);
    expect(t['fe-1']).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'permission_denied' } });
    expect(t['fe-1'].error.message).toContain(`'${UNPRIVILEGED}'`);
    expect(t['fe-2']).toMatchObject({ status: 'installed', sha256: sha256(certs.pfx) });
    expect(await readdir(denied.dir)).toEqual([]);
    await expectInstalledOn(u(2), name, certs);
    expect((await stat(path.join(u(2).dir, `${name}.pfx`))).uid).toBe(userUid);
    expect(await waitForReports(id, [`${id}:1:partially_failed`])).toHaveLength(1);
  });

  it('two jobs for the same hosts at once both complete, one install per host at a time on one connection at a time', async () => {
    const hosts = [r(1), r(2), r(3)];
    const logFrom = await Promise.all(hosts.map(async (h) => (await logLines(h)).length - 1));
    const submit = (name: string, c: DemoCertificates, ticket: string) =>
      stack.request('alice', 'POST', '/v1/jobs', {
        ...body('retail', name, ticket),
        pfx: c.pfx.toString('base64'),
        password: c.password,
        caCertificates: [c.caPem],
      });
    const [a, b] = await Promise.all([
      submit('acme-one', certs, 'CASE-F6A'),
      submit('acme-two', otherCerts, 'CASE-F6B'),
    ]);
    expect([a.status, b.status]).toEqual([201, 201]);
    const approvals = await Promise.all(
      [a, b].map((x) => stack.request('bob', 'POST', `/v1/jobs/${x.body.id}/approve`)),
    );
    expect(approvals.map((x) => x.status)).toEqual([202, 202]);
    const [finalA, finalB] = await Promise.all([a, b].map((x) => stack.waitForJob(x.body.id)));
    expect(finalA.status).toBe('completed');
    expect(finalB.status).toBe('completed');
    for (const t of finalA.targets)
      expect(t).toMatchObject({ status: 'installed', sha256: sha256(certs.pfx) });
    for (const t of finalB.targets)
      expect(t).toMatchObject({ status: 'installed', sha256: sha256(otherCerts.pfx) });

    // Both jobs were in flight together: each was approved before the other finished.
    const all = await auditOf(stack);
    const at = (job: string, action: string): string =>
      all.find((e) => e.jobId === job && e.action === action)!.id;
    expect(streamOrder(at(finalB.id, 'approve'), at(finalA.id, 'job.completed'))).toBeLessThan(0);
    expect(streamOrder(at(finalA.id, 'approve'), at(finalB.id, 'job.completed'))).toBeLessThan(0);

    for (const [i, h] of hosts.entries()) {
      await expectInstalledOn(h, 'acme-one', certs);
      await expectInstalledOn(h, 'acme-two', otherCerts);
      // the worker keeps a host's connection for its next target a moment, then closes it
      const list = await waitUntil(`${h.name}: every SSH connection closed`, async () => {
        const found = sessions(await logLines(h), logFrom[i]);
        return found.every((s) => s.ended !== Infinity) ? found : undefined;
      });
      // both installs on this host, one after the other: never two SSH connections at once
      expect(list.length, `${h.name} connections`).toBeGreaterThanOrEqual(1);
      expect(maxOverlap(list), `${h.name}: SSH connections open at once`).toBe(1);
    }
    // No host lock is left behind.
    const redis = createRedis(stack.config.redisUrl);
    try {
      expect(await redis.keys(new FleetKeys(stack.config.prefix).hostLocks)).toEqual([]);
    } finally {
      redis.disconnect();
    }
    for (const job of [finalA, finalB]) {
      expect(await waitForReports(job.id, [`${job.id}:1:completed`])).toHaveLength(1);
    }
  });

  it('a receiver that is down (503, then closed) gets each round’s report once it is up again', async () => {
    const name = 'acme-hooked';
    const hook = await startSwitchableReceiver();
    try {
      hook.respondWith(503);
      await r(3).stop();
      const id = await submitApproved(stack, {
        ...body('retail', name, 'CASE-F7'),
        notify: { webhookUrl: hook.url },
      });
      const first = await stack.waitForJob(id);
      expect(first.status).toBe('partially_failed');
      // the report is tried and refused with 503 at least once, then the receiver is fixed
      await waitUntil('a first delivery attempt', async () =>
        hook.deliveries.length > 0 ? true : undefined,
      );
      hook.respondWith(200);
      await waitUntil('round 1 delivered', async () =>
        hook.deliveries.some((d) => d.answered === 200) ? true : undefined,
      );

      // Round 2 while the receiver is down altogether (connection refused), then up.
      await r(3).start();
      await hook.down();
      const retried = await stack.request('alice', 'POST', `/v1/jobs/${id}/retry`);
      expect(retried.status).toBe(202);
      const final = await stack.waitForJob(id);
      expect(final.status).toBe('completed');
      await waitUntil('a refused round-2 attempt in the audit', async () =>
        (await auditOf(stack, id)).some((e) => e.action === 'notify.failed' && e.detail.round === 2)
          ? true
          : undefined,
      );
      await hook.up();
      await waitUntil('round 2 delivered', async () =>
        hook.deliveries.some((d) => d.key === `${id}:2:completed` && d.answered === 200) ? true : undefined,
      );
      // longer than the next backoff step: nothing else may arrive
      await sleep(4_500);

      const ok = hook.deliveries.filter((d) => d.answered === 200).map((d) => d.key);
      expect(ok).toEqual([`${id}:1:partially_failed`, `${id}:2:completed`]);
      const refused = hook.deliveries.filter((d) => d.answered !== 200);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(new Set(refused.map((d) => d.key))).toEqual(new Set([`${id}:1:partially_failed`]));
      for (const d of hook.deliveries) {
        expect(
          verifySignature([WEBHOOK_SECRET], d.headers['x-certfleet-signature'] as string, d.body).ok,
        ).toBe(true);
        const report = JSON.parse(d.body);
        expect(`${id}:${report.round}:${report.job.status}`).toBe(d.key);
      }

      // every attempt is audited
      const entries = (await auditOf(stack, id)).filter((e) => e.action.startsWith('notify.'));
      const failedR1 = entries.filter((e) => e.action === 'notify.failed' && e.detail.round === 1);
      expect(failedR1).toHaveLength(refused.length);
      expect(failedR1.every((e) => /answered 503/.test(e.detail.reason))).toBe(true);
      const failedR2 = entries.filter((e) => e.action === 'notify.failed' && e.detail.round === 2);
      expect(failedR2.length).toBeGreaterThanOrEqual(1);
      expect(failedR2.every((e) => /cannot reach/.test(e.detail.reason))).toBe(true);
      const delivered = entries.filter((e) => e.action === 'notify.delivered');
      expect(delivered.map((e) => [e.detail.sink, e.detail.round, e.detail.status])).toEqual([
        ['webhook', 1, 'partially_failed'],
        ['webhook', 2, 'completed'],
      ]);
      expect(entries.filter((e) => e.action === 'notify.refused')).toEqual([]);
      for (const h of [r(1), r(2), r(3)]) await expectInstalledOn(h, name, certs);
    } finally {
      if (!r(3).running) await r(3).start();
      await hook.close();
    }
  });

  it('a receiver that answers 4xx is reported and not retried', async () => {
    const name = 'acme-refusing';
    const refusing = await startReceiver();
    refusing.respondWith(422);
    try {
      const id = await submitApproved(stack, {
        ...body('retail', name, 'CASE-F8'),
        notify: { webhookUrl: refusing.url },
      });
      const final = await stack.waitForJob(id);
      expect(final.status).toBe('completed');
      await refusing.waitFor(1);
      // the first retry would come after 1–2 s
      await sleep(3_500);
      expect(refusing.received.map((d) => d.headers['idempotency-key'])).toEqual([`${id}:1:completed`]);
      const entries = (await auditOf(stack, id)).filter((e) => e.action.startsWith('notify.'));
      expect(entries.map((e) => e.action)).toEqual(['notify.refused']);
      expect(entries[0].detail).toMatchObject({ round: 1, status: 'completed' });
      expect(entries[0].detail.reason).toContain('answered 422');
      for (const h of [r(1), r(2), r(3)]) await expectInstalledOn(h, name, certs);
    } finally {
      await refusing.close();
    }
  });
});
