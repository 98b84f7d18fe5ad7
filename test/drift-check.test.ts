/**
 * The drift check end to end: a job installs one certificate on three real sshd
 * front-ends through the API, real Redis and BullMQ; then faults are made on the hosts'
 * own disks and processes, and the check is run through the API and through the real
 * fleetctl executable, its result read back as JSON, as a grid and as metrics.
 */
import { createHash } from 'node:crypto';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRedis, type RedisClient } from '@certfleet/jobs';
import { FleetKeys } from '@certfleet/store';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  fleetEnvironments,
  installJob,
  startFleet,
  startStack,
  type Fleet,
  type Stack,
} from '@certfleet/test-kit';
import { runFleetctl } from './support/fleetctl.js';

const NAME = 'acme-payments-client';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Cell {
  name: string;
  state: string;
  detail: string;
}

describe('the drift check of an environment', () => {
  let fleet: Fleet;
  let stack: Stack;
  let certs: DemoCertificates;
  let redis: RedisClient;

  beforeAll(async () => {
    fleet = await startFleet({ count: 3 });
    stack = await startStack({
      environments: fleetEnvironments(fleet, { 'acme-prd': 3 }),
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
    });
    redis = createRedis(stack.config.redisUrl);
    certs = makeDemoCertificates('drift-client');
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
    await fleet?.stop();
  });

  /** Waits until the environment's latest check is `id` and done. */
  async function waitForCheck(
    id: string,
  ): Promise<{ status: string; hosts: { frontEnd: string; certificates: Cell[] }[] }> {
    for (;;) {
      const res = await stack.request('bob', 'GET', '/v1/environments/acme-prd/check');
      if (res.status === 200 && res.body.id === id && res.body.status === 'done') return res.body;
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  /** Starts a check as bob and waits for it: front-end → its one certificate's cell. */
  async function check(): Promise<Record<string, Cell>> {
    const started = await stack.request('bob', 'POST', '/v1/environments/acme-prd/check');
    expect(started.status).toBe(202);
    const done = await waitForCheck(started.body.id);
    return Object.fromEntries(done.hosts.map((h) => [h.frontEnd, h.certificates[0]!]));
  }

  async function driftMetrics(): Promise<Record<string, number>> {
    const text = await (await fetch(`${stack.url}/metrics`)).text();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(
      /^certfleet_drift_hosts\{environment="acme-prd",state="(\w+)"\} (\d+)$/gm,
    )) {
      out[m[1]!] = Number(m[2]);
    }
    return out;
  }

  const fleetctl = (args: string[], as: string) => runFleetctl(stack.url, stack.tokens[as]!, args);

  it('has nothing to show before the first check, and lets only approvers and admins start one', async () => {
    // the scheduled check of a new environment may already have run: an empty registry, no host touched
    const none = await stack.request('ticket-bot', 'GET', '/v1/environments/acme-prd/check');
    if (none.status === 200) {
      expect(none.body.hosts.every((h: { certificates: unknown[] }) => h.certificates.length === 0)).toBe(
        true,
      );
    } else expect(none.status).toBe(404);
    const operator = await stack.request('ticket-bot', 'POST', '/v1/environments/acme-prd/check');
    expect(operator.status).toBe(403);
    expect(operator.body.error).toBe('forbidden');
    const unknown = await stack.request('bob', 'POST', '/v1/environments/nowhere/check');
    expect(unknown.status).toBe(404);
    const admin = await stack.request('carol', 'POST', '/v1/environments/acme-prd/check');
    expect(admin.status).toBe(202);
    expect(admin.body.id).toEqual(expect.any(String));
    await waitForCheck(admin.body.id);
  });

  it('records the desired state of a finished job in the registry: hashes, sizes, CA files, requester, ticket', async () => {
    const job = await installJob(stack, {
      ticket: 'CASE-160001',
      name: NAME,
      environments: ['acme-prd'],
      pfx: certs.pfx,
      password: certs.password,
      caCertificates: [certs.caPem],
    });
    expect(job.status).toBe('completed');

    const envs = await stack.request('alice', 'GET', '/v1/environments');
    const [entry] = envs.body.find((e: { name: string }) => e.name === 'acme-prd').certificates;
    const caDer = readFileSync(path.join(fleet.hosts[0]!.dir, `${NAME}.ca1.cer`));
    expect(entry).toMatchObject({
      name: NAME,
      path: `${fleet.installDir}/${NAME}.pfx`,
      jobId: job.id,
      sha256: sha256(certs.pfx),
      size: certs.pfx.length,
      caFiles: [{ path: `${fleet.installDir}/${NAME}.ca1.cer`, sha256: sha256(caDer), size: caDer.length }],
      requester: 'alice',
      ticket: 'CASE-160001',
    });
  });

  it('reports every front-end ok right after the install, and the metrics count three ok hosts', async () => {
    const cells = await check();
    expect(Object.keys(cells)).toEqual(['fe-1', 'fe-2', 'fe-3']);
    for (const cell of Object.values(cells)) {
      expect(cell).toEqual({
        name: NAME,
        state: 'ok',
        detail: `as installed: ${fleet.installDir}/${NAME}.pfx and 1 CA file, mode 0640`,
      });
    }
    expect(await driftMetrics()).toEqual({ ok: 3, missing: 0, different: 0, unreachable: 0 });
  });

  it('waits for an install holding a host, and answers a second request with the running check', async () => {
    const fe3 = fleet.hosts[2]!;
    const lock = new FleetKeys(stack.config.prefix).hostLock(fe3.address, fe3.port);
    await redis.set(lock, 'an-install', 'PX', 120_000);
    const first = await stack.request('bob', 'POST', '/v1/environments/acme-prd/check');
    expect(first.body.alreadyRunning).toBe(false);
    for (;;) {
      const res = await stack.request('bob', 'GET', '/v1/environments/acme-prd/check');
      if (res.body.id === first.body.id && res.body.hosts.length === 2) {
        expect(res.body.status).toBe('running');
        expect(res.body.total).toBe(3);
        expect(res.body.hosts.map((h: { frontEnd: string }) => h.frontEnd)).toEqual(['fe-1', 'fe-2']);
        break;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    const second = await stack.request('carol', 'POST', '/v1/environments/acme-prd/check');
    expect(second.status).toBe(202);
    expect(second.body).toEqual({ id: first.body.id, alreadyRunning: true });
    await redis.del(lock);
    const done = await waitForCheck(first.body.id);
    expect(done.hosts.map((h) => h.certificates[0]!.state)).toEqual(['ok', 'ok', 'ok']);
  });

  it('reports a deleted file as missing on that host only', async () => {
    unlinkSync(path.join(fleet.hosts[0]!.dir, `${NAME}.pfx`));
    const cells = await check();
    expect(cells['fe-1']).toMatchObject({
      state: 'missing',
      detail: `file absent: ${fleet.installDir}/${NAME}.pfx`,
    });
    expect(cells['fe-2']!.state).toBe('ok');
    expect(cells['fe-3']!.state).toBe('ok');
    expect(await driftMetrics()).toEqual({ ok: 2, missing: 1, different: 0, unreachable: 0 });
  });

  it('reports an altered CA file as different on that host, the others as before', async () => {
    const ca = path.join(fleet.hosts[1]!.dir, `${NAME}.ca1.cer`);
    const bytes = readFileSync(ca);
    bytes[10] = bytes[10]! ^ 0xff;
    writeFileSync(ca, bytes);
    const cells = await check();
    expect(cells['fe-1']!.state).toBe('missing');
    expect(cells['fe-2']).toMatchObject({
      state: 'different',
      detail: `sha256 differs: ${fleet.installDir}/${NAME}.ca1.cer`,
    });
    expect(cells['fe-3']!.state).toBe('ok');
  });

  it('reports a stopped sshd as unreachable, not missing, through fleetctl, which exits 6', async () => {
    await fleet.hosts[2]!.stop();
    const run = await fleetctl(['check', 'acme-prd'], 'bob');
    expect(run.stderr).toMatch(/acme-prd: check \S+ done, 3\/3 hosts done\n$/);
    expect(run.code).toBe(6);
    const rows = run.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^FRONT-END\s+CERTIFICATE\s+STATE\s+DETAIL$/);
    expect(rows[1]).toMatch(
      new RegExp(`^fe-1 \\(${fleet.hosts[0]!.address}\\)\\s+${NAME}\\s+missing\\s+file absent`),
    );
    expect(rows[2]).toMatch(
      new RegExp(`^fe-2 \\(${fleet.hosts[1]!.address}\\)\\s+${NAME}\\s+different\\s+sha256 differs`),
    );
    expect(rows[3]).toMatch(
      new RegExp(`^fe-3 \\(${fleet.hosts[2]!.address}\\)\\s+${NAME}\\s+unreachable\\s+host_unreachable: `),
    );
    expect(rows.at(-1)).toBe('acme-prd: 3 not ok on 3 of 3 front-ends: fe-1, fe-2, fe-3');

    const json = await fleetctl(['check', 'acme-prd', '--json'], 'carol');
    expect(json.code).toBe(6);
    const latest = JSON.parse(json.stdout);
    expect(latest.hosts.map((h: { certificates: Cell[] }) => h.certificates[0]!.state)).toEqual([
      'missing',
      'different',
      'unreachable',
    ]);
    expect(await driftMetrics()).toEqual({ ok: 0, missing: 1, different: 1, unreachable: 1 });

    const operator = await fleetctl(['check', 'acme-prd'], 'ticket-bot');
    expect(operator.code).toBe(1);
    expect(operator.stderr).toContain('forbidden');
  });

  it('shows the grid on the page, and an approver starts a check there', async () => {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const problems: string[] = [];
      /** A new tab signed in as `who`, on the Drift view. */
      const driftAs = async (who: string) => {
        const tab = await browser.newPage();
        tab.on('pageerror', (e) => problems.push(e.message));
        await tab.goto(`${stack.url}/ui/`);
        await tab.getByLabel('API token').fill(stack.tokens[who]!);
        await tab.getByRole('button', { name: 'Sign in' }).click();
        await tab.getByRole('link', { name: 'Drift' }).click();
        return tab;
      };
      const page = await driftAs('bob');
      const env = page.locator('[data-environment="acme-prd"]');
      const states = (): Promise<(string | null)[]> =>
        env.locator('td[data-state]').evaluateAll((cells) => cells.map((c) => c.getAttribute('data-state')));
      await expect.poll(states).toEqual(['missing', 'different', 'unreachable']);
      // the registry above the grid: the certificate, its path and how long it is valid for
      const row = env.locator(`table.registry tr[data-certificate="${NAME}"]`);
      await expect
        .poll(() => row.locator('td').first().textContent())
        .toBe(`${fleet.installDir}/${NAME}.pfx`);
      expect(await row.locator('.badge').textContent()).toMatch(/^expires in \d+ days$/);
      await expect
        .poll(() => env.locator('table.drift-grid tbody th').allTextContents())
        .toEqual([
          `fe-1 ${fleet.hosts[0]!.address}`,
          `fe-2 ${fleet.hosts[1]!.address}`,
          `fe-3 ${fleet.hosts[2]!.address}`,
        ]);
      const before = (await stack.request('bob', 'GET', '/v1/environments/acme-prd/check')).body.id;
      await env.getByRole('button', { name: 'Check now' }).click();
      await expect
        .poll(async () => {
          const latest = (await stack.request('bob', 'GET', '/v1/environments/acme-prd/check')).body;
          return latest.id !== before && latest.requestedBy === 'bob';
        })
        .toBe(true);

      // the registry row's buttons: bob (approver) may not ask; alice (operator) may
      await row.getByRole('button', { name: 'Uninstall' }).click();
      await expect.poll(() => row.locator('.error').textContent()).toMatch(/^forbidden: /);
      const alice = await driftAs('alice');
      const aliceRow = alice.locator(
        `[data-environment="acme-prd"] table.registry tr[data-certificate="${NAME}"]`,
      );
      await aliceRow.getByRole('button', { name: 'Roll back' }).click();
      await expect.poll(() => aliceRow.locator('.error').textContent()).toMatch(/^no_previous_version: /);
      await aliceRow.getByRole('button', { name: 'Uninstall' }).click();
      await expect.poll(() => aliceRow.locator('a').textContent()).toMatch(/^uninstall job \S+$/);
      const id = (await aliceRow.locator('a').textContent())!.split(' ')[2]!;
      const job = (await stack.request('bob', 'GET', `/v1/jobs/${id}`)).body;
      expect(job).toMatchObject({ action: 'uninstall', status: 'pending_approval', submittedBy: 'alice' });
      // rejected: the certificate stays, and the tests below repair it as before
      const rejected = await stack.request('bob', 'POST', `/v1/jobs/${id}/reject`, { reason: 'page test' });
      expect(rejected.status).toBe(200);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('asks for a repair of what it found under repair: approve: one job per certificate, pending an approver, for the wrong hosts alone', async () => {
    const repairs = await stack.request('bob', 'GET', '/v1/jobs?source=reconcile&limit=50');
    expect(repairs.status).toBe(200);
    const open = repairs.body.items.filter(
      (j: { status: string; name: string }) => j.status === 'pending_approval' && j.name === NAME,
    );
    // the first finding (fe-1 missing) made one; fe-1 stayed under it, fe-2's CA file made the second
    const reasons = open.map((j: { reason: string }) => j.reason);
    expect(reasons).toHaveLength(2);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^drift check \S+: different on fe-2$/),
        expect.stringMatching(/^drift check \S+: missing on fe-1$/),
      ]),
    );
    for (const job of open) {
      expect(job).toMatchObject({ source: 'reconcile', submittedBy: 'system', approvedBy: null });
      expect(job.targets).toHaveLength(1);
    }
    // the unreachable fe-3 got none
    expect(
      open.flatMap((j: { targets: { frontEnd: string }[] }) => j.targets.map((t) => t.frontEnd)).sort(),
    ).toEqual(['fe-1', 'fe-2']);
  });

  it('restores the original bytes once an approver approves the repairs, and the next check finds every host ok', async () => {
    await fleet.hosts[2]!.start();
    const repairs = await stack.request(
      'bob',
      'GET',
      '/v1/jobs?source=reconcile&status=pending_approval&limit=50',
    );
    for (const job of repairs.body.items.filter((j: { name: string }) => j.name === NAME)) {
      const approved = await stack.request('bob', 'POST', `/v1/jobs/${job.id}/approve`);
      expect(approved.status).toBe(202);
      for (;;) {
        const now = await stack.request('bob', 'GET', `/v1/jobs/${job.id}`);
        if (now.body.status === 'completed') break;
        expect(['queued', 'running']).toContain(now.body.status);
        await new Promise((r) => setTimeout(r, 150));
      }
    }
    const pfx = readFileSync(path.join(fleet.hosts[0]!.dir, `${NAME}.pfx`));
    expect(sha256(pfx)).toBe(sha256(readFileSync(path.join(fleet.hosts[2]!.dir, `${NAME}.pfx`))));
    expect(readFileSync(path.join(fleet.hosts[1]!.dir, `${NAME}.ca1.cer`))).toEqual(
      readFileSync(path.join(fleet.hosts[2]!.dir, `${NAME}.ca1.cer`)),
    );
    const cells = await check();
    expect(Object.values(cells).map((c) => c.state)).toEqual(['ok', 'ok', 'ok']);
  });

  it('audits who asked for each check', async () => {
    const audit = await stack.request('bob', 'GET', '/v1/audit?limit=200');
    const checks = audit.body.items.filter((e: { action: string }) => e.action === 'drift.check');
    expect(checks.length).toBeGreaterThanOrEqual(7);
    expect(checks.map((e: { actor: string }) => e.actor)).toEqual(expect.arrayContaining(['bob', 'carol']));
    expect(checks[0].detail).toMatchObject({ environment: 'acme-prd', checkId: expect.any(String) });
  });
  it('drops the drift metrics of an environment removed from the inventory', async () => {
    expect(Object.keys(await driftMetrics())).toHaveLength(4);
    await stack.writeInventory(fleetEnvironments(fleet, { 'acme-dev': 1 }));
    expect((await stack.request('carol', 'POST', '/v1/inventory/reload')).status).toBe(200);
    expect(await driftMetrics()).toEqual({});
    const text = await (await fetch(`${stack.url}/metrics`)).text();
    expect(text).not.toMatch(/certfleet_certificate_expiry_seconds\{environment="acme-prd"/);
  });
});
