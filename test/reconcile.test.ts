/**
 * Reconcile and retained secrets against real parts: three real sshd front-ends,
 * real Redis and BullMQ, the whole stack in-process. Two front-ends get a
 * certificate per environment; then the inventory gains a third and is reloaded.
 * What lands on each host is read from that host's own disk.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { InventoryHolder } from '@certfleet/inventory';
import { createRedis, FleetQueues, JobName, type RedisClient } from '@certfleet/jobs';
import { FleetStore, keyPrefix } from '@certfleet/store';
import { reconcileAll, type WorkerDeps } from '@certfleet/worker';
import { Queue } from 'bullmq';
import { chromium } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  startFleet,
  startReceiver,
  startStack,
  until,
  type Fleet,
  type HarnessEnvironment,
  type Receiver,
  type Stack,
} from '@certfleet/test-kit';
import { runFleetctl } from './support/fleetctl.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

describe('reconcile: a front-end added to an environment gets the certificates it lacks', () => {
  let fleet: Fleet;
  let stack: Stack;
  let receiver: Receiver;
  let redis: RedisClient;
  let certs: DemoCertificates;
  /** mtimes of each environment's file on fe-1 and fe-2 right after the install. */
  const mtimes = new Map<string, number[]>();
  /** The install job of each environment, as it finished. */
  const installs = new Map<string, Json>();

  const ENVS = [
    { name: 'rc-auto', repair: 'auto' },
    { name: 'rc-approve', repair: 'approve' },
    { name: 'rc-noretain', repair: 'auto', retain: false },
  ] as const;
  const fileOf = (env: string): string => `${env}-client.pfx`;

  function environments(frontEnds: number): HarnessEnvironment[] {
    return ENVS.map((e) => ({
      ...e,
      platform: 'linux',
      installDir: fleet.installDir,
      hosts: fleet.hosts.slice(0, frontEnds).map((h, i) => ({
        name: `fe-${i + 1}`,
        address: h.address,
        port: h.port,
        hostKeyLine: h.hostKeyLine,
      })),
    }));
  }

  async function install(
    env: string,
    { pfx, password, caPem }: DemoCertificates,
    replace = false,
  ): Promise<Json> {
    const submitted = await stack.request('alice', 'POST', '/v1/jobs', {
      ticket: `RC-${env}`,
      name: `${env}-client`,
      environments: [env],
      pfx: pfx.toString('base64'),
      password,
      caCertificates: [caPem],
      notify: { webhookUrl: receiver.url },
      ...(replace ? { replace: true } : {}),
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    expect((await stack.request('bob', 'POST', `/v1/jobs/${submitted.body.id}/approve`)).status).toBe(202);
    const final = await stack.waitForJob(submitted.body.id);
    expect(final.status, JSON.stringify(final.targets)).toBe('completed');
    return final;
  }

  const repairJobs = async (env: string): Promise<Json[]> => {
    const list = await stack.request('alice', 'GET', '/v1/jobs?source=reconcile&limit=200');
    expect(list.status).toBe(200);
    return list.body.items.filter((j: Json) => j.environments.includes(env));
  };

  const mtimesOf = async (env: string, hosts: number): Promise<number[]> =>
    Promise.all(
      fleet.hosts.slice(0, hosts).map(async (h) => (await stat(path.join(h.dir, fileOf(env)))).mtimeMs),
    );

  /** Runs a reconcile through the API and waits until a worker has finished it. */
  async function reconcileNow(): Promise<void> {
    const asked = await stack.request('carol', 'POST', '/v1/reconcile');
    expect(asked.status).toBe(202);
    const queue = new Queue(JobName.Reconcile, { connection: redis, prefix: keyPrefix(stack.config.prefix) });
    try {
      await until('the reconcile run', async () => (await queue.getJob(asked.body.id))?.finishedOn);
    } finally {
      await queue.close();
    }
  }

  /** What a worker process is built from, on this stack's Redis, inventory file and master key. */
  async function workerDeps(): Promise<WorkerDeps> {
    const inventory = await InventoryHolder.open(stack.inventoryPath);
    return {
      config: stack.config,
      store: new FleetStore(redis, { prefix: stack.config.prefix, masterKey: stack.config.masterKey! }),
      queues: new FleetQueues(redis, { prefix: stack.config.prefix }),
      connection: redis,
      inventory: () => inventory.current,
      logger: pino({ level: 'silent' }),
    };
  }

  beforeAll(async () => {
    fleet = await startFleet({ count: 3 });
    receiver = await startReceiver();
    certs = makeDemoCertificates('rc-client');
    stack = await startStack({
      environments: environments(2),
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
      // only the reloads and the explicit runs below reconcile
      env: { FLEET_RECONCILE_INTERVAL: '24h' },
    });
    redis = createRedis(stack.config.redisUrl);
    for (const { name } of ENVS) {
      installs.set(name, await install(name, certs));
      mtimes.set(name, await mtimesOf(name, 2));
    }
    await stack.writeInventory(environments(3));
    const reloaded = await stack.request('carol', 'POST', '/v1/inventory/reload');
    expect(reloaded.status).toBe(200);
    // the reload's reconcile has run once each environment shows its outcome
    await until('the repair jobs and the note of rc-noretain', async () => {
      const needed = (await stack.request('alice', 'GET', '/v1/reconcile')).body.items as Json[];
      return (
        (await repairJobs('rc-auto')).length > 0 &&
        (await repairJobs('rc-approve')).length > 0 &&
        needed.some((n) => n.environment === 'rc-noretain')
      );
    });
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
    await receiver?.close();
    await fleet?.stop();
  });

  it('with repair: auto, queues a repair job for the new front-end alone, submitted and approved by system', async () => {
    const [repair, ...more] = await repairJobs('rc-auto');
    expect(more).toEqual([]);
    expect(repair).toMatchObject({
      source: 'reconcile',
      reason: 'new front-end fe-3',
      name: 'rc-auto-client',
      ticket: 'RC-rc-auto',
      submittedBy: 'system',
      approvedBy: 'system',
      environments: ['rc-auto'],
    });
    expect(repair.targets.map((t: Json) => t.id)).toEqual(['rc-auto/fe-3']);
    const final = await stack.waitForJob(repair.id);
    expect(final.status).toBe('completed');
    const audit = await stack.request('bob', 'GET', `/v1/audit?job=${repair.id}`);
    const actions = audit.body.items.map((e: Json) => `${e.action} ${e.actor}`);
    expect(actions).toEqual(expect.arrayContaining(['submit system', 'approve system']));
  });

  it('installs the same bytes on the new front-end and leaves the two others untouched (mtimes unchanged)', async () => {
    const [repair] = await repairJobs('rc-auto');
    await stack.waitForJob(repair.id);
    expect((await readFile(path.join(fleet.hosts[2]!.dir, fileOf('rc-auto')))).equals(certs.pfx)).toBe(true);
    expect(await mtimesOf('rc-auto', 2)).toEqual(mtimes.get('rc-auto'));
  });

  it('reports the repair job like any job, with its source and reason', async () => {
    const [repair] = await repairJobs('rc-auto');
    const reports = await until('the repair report', async () => {
      const found = receiver.received.filter((r) => r.body.includes(repair.id));
      return found.length > 0 ? found : undefined;
    });
    const body = JSON.parse(reports[0]!.body);
    expect(body).toMatchObject({ source: 'reconcile', reason: 'new front-end fe-3', job: { id: repair.id } });
  });

  it('with repair: approve, keeps the repair job pending approval; two more reconciles, even at once, make no second one', async () => {
    const [repair, ...more] = await repairJobs('rc-approve');
    expect(more).toEqual([]);
    expect(repair).toMatchObject({ status: 'pending_approval', submittedBy: 'system', approvedBy: null });
    expect(repair.targets.map((t: Json) => t.id)).toEqual(['rc-approve/fe-3']);

    await reconcileNow();
    // two workers reconciling at the same moment
    const [one, two] = [await workerDeps(), await workerDeps()];
    try {
      await Promise.all([reconcileAll(one), reconcileAll(two)]);
    } finally {
      await Promise.all([one.queues.close(), two.queues.close()]);
    }
    expect((await repairJobs('rc-approve')).map((j) => j.id)).toEqual([repair.id]);
    // nothing reached the new host while it waits
    await expect(stat(path.join(fleet.hosts[2]!.dir, fileOf('rc-approve')))).rejects.toThrow();
  });

  it('shows the pending repair job on the page with a repair badge, and its reason on the job card', async () => {
    const [repair] = await repairJobs('rc-approve');
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${stack.url}/ui/`);
      await page.getByLabel('API token').fill(stack.tokens['bob']!);
      await page.getByRole('button', { name: 'Sign in' }).click();
      const row = page.locator(`#pending-jobs tr[data-job-id="${repair.id}"]`);
      await expect.poll(() => row.count()).toBe(1);
      const badge = row.locator('.badge', { hasText: 'repair' });
      expect(await badge.getAttribute('title')).toBe('new front-end fe-3');
      await row.getByRole('link', { name: 'rc-approve-client' }).click();
      await expect
        .poll(() => page.locator('#job-overview .repair-reason').textContent())
        .toBe('new front-end fe-3');
      expect(await page.locator('#job-overview').textContent()).toContain('reconcile');
    } finally {
      await browser.close();
    }
  });

  it('installs the pending repair once an approver approves it (the requester is system, so any approver may)', async () => {
    const [repair] = await repairJobs('rc-approve');
    const approved = await stack.request('alice', 'POST', `/v1/jobs/${repair.id}/approve`);
    expect(approved.status, JSON.stringify(approved.body)).toBe(202);
    const final = await stack.waitForJob(repair.id);
    expect(final.status).toBe('completed');
    expect((await readFile(path.join(fleet.hosts[2]!.dir, fileOf('rc-approve')))).equals(certs.pfx)).toBe(
      true,
    );
    expect(await mtimesOf('rc-approve', 2)).toEqual(mtimes.get('rc-approve'));
    // installed now: another reconcile asks for nothing more
    await reconcileNow();
    expect((await repairJobs('rc-approve')).map((j) => j.id)).toEqual([repair.id]);
  });

  it('with retain: false, keeps no secret, makes no job and says a new submission is needed, naming the certificate and the host', async () => {
    const keys = new FleetStore(redis, { prefix: stack.config.prefix }).keys;
    expect(await redis.exists(keys.retained('rc-noretain', 'rc-noretain-client'))).toBe(0);
    expect(await repairJobs('rc-noretain')).toEqual([]);
    const needed = (await stack.request('alice', 'GET', '/v1/reconcile')).body.items as Json[];
    expect(needed.filter((n) => n.environment === 'rc-noretain')).toEqual([
      expect.objectContaining({ name: 'rc-noretain-client', frontEnd: 'fe-3' }),
    ]);
    expect(needed[0].reason).toMatch(/retain: false.*submit rc-noretain-client for rc-noretain again/);
    const audit = await stack.request('bob', 'GET', '/v1/audit?limit=1000');
    const noted = audit.body.items.filter((e: Json) => e.action === 'repair.submission_needed');
    expect(noted).toEqual([
      expect.objectContaining({
        actor: 'system',
        detail: expect.objectContaining({
          environment: 'rc-noretain',
          name: 'rc-noretain-client',
          frontEnds: ['fe-3'],
        }),
      }),
    ]);
    await expect(stat(path.join(fleet.hosts[2]!.dir, fileOf('rc-noretain')))).rejects.toThrow();

    // the same through the real fleetctl: an operator lists it; only an admin starts a run
    const listed = await runFleetctl(stack.url, stack.tokens['alice']!, ['reconcile', '--needed']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`  rc-noretain/fe-3 rc-noretain-client: ${needed[0].reason}`);
    const refused = await runFleetctl(stack.url, stack.tokens['alice']!, ['reconcile']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('forbidden');
    const ran = await runFleetctl(stack.url, stack.tokens['carol']!, ['reconcile', '--json']);
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({
      reconcile: { id: expect.stringMatching(/^reconcile-manual-/) },
      items: [expect.objectContaining({ environment: 'rc-noretain', frontEnd: 'fe-3' })],
    });
  });

  it('keeps the retained secret until the certificate’s notAfter and replaces it when a new certificate of that name is installed', async () => {
    const store = new FleetStore(redis, { prefix: stack.config.prefix, masterKey: stack.config.masterKey! });
    const key = store.keys.retained('rc-approve', 'rc-approve-client');
    expect(Number(await redis.call('PEXPIRETIME', key))).toBe(
      Date.parse(installs.get('rc-approve').certificate.notAfter),
    );
    expect((await store.retained.open('rc-approve', 'rc-approve-client'))?.pfx.equals(certs.pfx)).toBe(true);

    const renewed = makeDemoCertificates('rc-client-renewed');
    const final = await install('rc-approve', renewed, true);
    const kept = await store.retained.open('rc-approve', 'rc-approve-client');
    expect(kept?.pfx.equals(renewed.pfx)).toBe(true);
    expect(kept?.password).toBe(renewed.password);
    expect(Number(await redis.call('PEXPIRETIME', key))).toBe(Date.parse(final.certificate.notAfter));
  });

  it('holds retained secrets sealed: neither the password nor a slice of the PFX is in any retained key', async () => {
    const keys = new FleetStore(redis, { prefix: stack.config.prefix }).keys;
    const members = await redis.smembers(keys.retainedIndex);
    expect(members.sort()).toEqual(['rc-approve/rc-approve-client', 'rc-auto/rc-auto-client']);
    for (const member of members) {
      const [env, name] = member.split('/') as [string, string];
      const sealed = (await redis.getBuffer(keys.retained(env, name)))!;
      expect(sealed.includes(Buffer.from(certs.password))).toBe(false);
      for (let at = 0; at + 16 <= certs.pfx.length; at += 16) {
        expect(sealed.includes(certs.pfx.subarray(at, at + 16))).toBe(false);
      }
    }
  });

  it('seals retained secrets again under a new master key, after which the previous key can be dropped', async () => {
    const oldKey = stack.config.masterKey!;
    const newKey = randomBytes(32);
    const prefix = stack.config.prefix;
    const rotated = new FleetStore(redis, { prefix, masterKey: newKey, previousMasterKeys: [oldKey] });
    expect(await rotated.retained.resealAll()).toBe(2);
    const newOnly = new FleetStore(redis, { prefix, masterKey: newKey });
    expect((await newOnly.retained.open('rc-auto', 'rc-auto-client'))?.pfx.equals(certs.pfx)).toBe(true);
    const oldOnly = new FleetStore(redis, { prefix, masterKey: oldKey });
    await expect(oldOnly.retained.open('rc-auto', 'rc-auto-client')).rejects.toThrow(/FLEET_MASTER_KEY/);
    // the expiry at notAfter survives the re-seal
    expect(Number(await redis.call('PEXPIRETIME', newOnly.keys.retained('rc-auto', 'rc-auto-client')))).toBe(
      Date.parse(installs.get('rc-auto').certificate.notAfter),
    );
  });
});
