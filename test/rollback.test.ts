/**
 * Previous version and rollback against real parts: real sshd front-ends, real Redis and
 * BullMQ. A rotation keeps the replaced file as `<name>.pfx.previous` on each host and the
 * replaced certificate (sealed) in the store; a rollback job puts it back on every host.
 * What lands on each host is read from that host's own disk.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { chmod, copyFile, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createRedis, type RedisClient } from '@certfleet/jobs';
import { FleetStore } from '@certfleet/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  fleetEnvironments,
  installJob,
  startFleet,
  startStack,
  until,
  type Fleet,
  type FleetHost,
  type Json,
  type Stack,
} from '@certfleet/test-kit';
import { killAllServices, spawnService, type ServiceProcess } from './support/processes.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const TEMP = /certfleet-tmp/;

const fileOn = (h: FleetHost, file: string): Promise<Buffer> => readFile(path.join(h.dir, file));

/** Submits the certificate for `env` (a rotation when `replace`), approves it and expects it completed. */
async function put(
  stack: Stack,
  env: string,
  name: string,
  certs: DemoCertificates,
  replace = false,
): Promise<Json> {
  const job = await installJob(stack, {
    ticket: `RB-${name}`,
    name,
    environments: [env],
    pfx: certs.pfx,
    password: certs.password,
    caCertificates: [certs.caPem],
    replace,
  });
  expect(job.status, JSON.stringify(job.targets)).toBe('completed');
  return job;
}

async function askRollback(
  stack: Stack,
  env: string,
  name: string,
  as = 'alice',
): Promise<{ status: number; body: Json }> {
  return stack.request(as, 'POST', `/v1/environments/${env}/certificates/${name}/rollback`);
}

async function registryEntry(stack: Stack, env: string, name: string): Promise<Json> {
  const list = await stack.request('alice', 'GET', '/v1/environments');
  return (list.body as Json[]).find((e) => e.name === env)?.certificates.find((c: Json) => c.name === name);
}

describe('previous version kept, and rollback', () => {
  const ENV = 'rb';
  const NAME = 'rb-client';
  let fleet: Fleet;
  let stack: Stack;
  let redis: RedisClient;
  let store: FleetStore;
  let older: DemoCertificates;
  let newer: DemoCertificates;
  let firstInstall: Json;
  let rotation: Json;

  beforeAll(async () => {
    fleet = await startFleet({ count: 3 });
    older = makeDemoCertificates('rb-older');
    newer = makeDemoCertificates('rb-newer');
    stack = await startStack({
      environments: [
        ...fleetEnvironments(fleet, { [ENV]: 3 }),
        ...fleetEnvironments(fleet, { 'rb-once': 1 }),
      ],
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
    });
    redis = createRedis(stack.config.redisUrl);
    store = new FleetStore(redis, { prefix: stack.config.prefix, masterKey: stack.config.masterKey! });
    firstInstall = await put(stack, ENV, NAME, older);
    rotation = await put(stack, ENV, NAME, newer, true);
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
    await fleet?.stop();
  });

  it('a rotation keeps the replaced file as <name>.pfx.previous on every host, and the new one at <name>.pfx', async () => {
    for (const h of fleet.hosts) {
      expect((await fileOn(h, `${NAME}.pfx`)).equals(newer.pfx), h.name).toBe(true);
      expect((await fileOn(h, `${NAME}.pfx.previous`)).equals(older.pfx), h.name).toBe(true);
      expect(
        (await readdir(h.dir)).filter((f) => TEMP.test(f)),
        h.name,
      ).toEqual([]);
    }
  });

  it('a rotation keeps the replaced certificate as the previous entry in the registry and its secret sealed', async () => {
    const entry = await registryEntry(stack, ENV, NAME);
    expect(entry).toMatchObject({
      fingerprintSha256: rotation.certificate.fingerprintSha256,
      jobId: rotation.id,
      previous: { fingerprintSha256: firstInstall.certificate.fingerprintSha256, jobId: firstInstall.id },
    });
    expect(entry.previous.previous).toBeUndefined();
    expect((await store.retained.open(ENV, NAME))?.pfx.equals(newer.pfx)).toBe(true);
    expect((await store.retained.open(ENV, NAME, 'previous'))?.pfx.equals(older.pfx)).toBe(true);
    // sealed, never in clear, and expiring at its own notAfter
    const sealed = await redis.getBuffer(store.keys.retainedPrevious(ENV, NAME));
    expect(sealed!.includes(older.pfx)).toBe(false);
    expect(await redis.pexpiretime(store.keys.retainedPrevious(ENV, NAME))).toBe(
      Date.parse(firstInstall.certificate.notAfter),
    );
  });

  it('a rollback is a job pending approval with action rollback; a second one is refused while it is open', async () => {
    const asked = await askRollback(stack, ENV, NAME);
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    expect(asked.body).toMatchObject({
      status: 'pending_approval',
      action: 'rollback',
      name: NAME,
      environments: [ENV],
      submittedBy: 'alice',
      certificate: { fingerprintSha256: firstInstall.certificate.fingerprintSha256 },
      pfxSha256: sha256(older.pfx),
    });
    expect(asked.body.targets).toHaveLength(3);
    const again = await askRollback(stack, ENV, NAME);
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('rollback_open');
    expect(again.body.message).toContain(asked.body.id);
    // four eyes, like any job
    const self = await stack.request('alice', 'POST', `/v1/jobs/${asked.body.id}/approve`);
    expect(self.status).toBe(409);
    expect(self.body.error).toBe('self_approval');
    const rejected = await stack.request('bob', 'POST', `/v1/jobs/${asked.body.id}/reject`, {
      reason: 'not yet',
    });
    expect(rejected.status).toBe(200);
    const audit = await stack.request('bob', 'GET', `/v1/audit?job=${asked.body.id}`);
    expect(audit.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: 'submit',
          actor: 'alice',
          detail: expect.objectContaining({ action: 'rollback' }),
        }),
      ]),
    );
  });

  it('rollback returns every host to the old bytes with the new ones as .previous, and reports a host already on the old one as unchanged', async () => {
    // fe-3 was put back on the old certificate by hand: its files are the old install's again
    const fe3 = fleet.hosts[2]!;
    await copyFile(path.join(fe3.dir, `${NAME}.pfx.previous`), path.join(fe3.dir, `${NAME}.pfx`));
    await writeFile(path.join(fe3.dir, `${NAME}.ca1.cer`), new X509Certificate(older.caPem).raw);
    for (const file of [`${NAME}.pfx`, `${NAME}.ca1.cer`]) await chmod(path.join(fe3.dir, file), 0o640);
    const asked = await askRollback(stack, ENV, NAME);
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    expect((await stack.request('bob', 'POST', `/v1/jobs/${asked.body.id}/approve`)).status).toBe(202);
    const done = await stack.waitForJob(asked.body.id);
    expect(done.status, JSON.stringify(done.targets)).toBe('completed');
    expect(done.action).toBe('rollback');
    expect(Object.fromEntries((done.targets as Json[]).map((t) => [t.frontEnd, t.unchanged]))).toEqual({
      'fe-1': false,
      'fe-2': false,
      'fe-3': true,
    });
    for (const h of fleet.hosts) {
      expect((await fileOn(h, `${NAME}.pfx`)).equals(older.pfx), h.name).toBe(true);
      expect(
        (await readdir(h.dir)).filter((f) => TEMP.test(f)),
        h.name,
      ).toEqual([]);
    }
    for (const h of fleet.hosts.slice(0, 2)) {
      expect((await fileOn(h, `${NAME}.pfx.previous`)).equals(newer.pfx), h.name).toBe(true);
    }
    const entry = await registryEntry(stack, ENV, NAME);
    expect(entry).toMatchObject({
      fingerprintSha256: firstInstall.certificate.fingerprintSha256,
      jobId: done.id,
      previous: { fingerprintSha256: rotation.certificate.fingerprintSha256, jobId: rotation.id },
    });
    expect((await store.retained.open(ENV, NAME))?.pfx.equals(older.pfx)).toBe(true);
    expect((await store.retained.open(ENV, NAME, 'previous'))?.pfx.equals(newer.pfx)).toBe(true);
  });

  it('rolling back twice returns to the newer certificate', async () => {
    const asked = await askRollback(stack, ENV, NAME);
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    expect(asked.body.certificate.fingerprintSha256).toBe(rotation.certificate.fingerprintSha256);
    expect((await stack.request('bob', 'POST', `/v1/jobs/${asked.body.id}/approve`)).status).toBe(202);
    const done = await stack.waitForJob(asked.body.id);
    expect(done.status, JSON.stringify(done.targets)).toBe('completed');
    for (const h of fleet.hosts) {
      expect((await fileOn(h, `${NAME}.pfx`)).equals(newer.pfx), h.name).toBe(true);
      expect((await fileOn(h, `${NAME}.pfx.previous`)).equals(older.pfx), h.name).toBe(true);
    }
    const entry = await registryEntry(stack, ENV, NAME);
    expect(entry.fingerprintSha256).toBe(rotation.certificate.fingerprintSha256);
    expect(entry.previous.fingerprintSha256).toBe(firstInstall.certificate.fingerprintSha256);
  });

  it('answers 409 no_previous_version for a certificate never rotated, and 404 for an unknown environment or name', async () => {
    await put(stack, 'rb-once', 'rb-once-client', older);
    const none = await askRollback(stack, 'rb-once', 'rb-once-client');
    expect(none.status).toBe(409);
    expect(none.body).toEqual({
      error: 'no_previous_version',
      message: expect.stringContaining('no previous version'),
    });
    const noEnv = await askRollback(stack, 'rb-nowhere', NAME);
    expect(noEnv.status).toBe(404);
    expect(noEnv.body.error).toBe('not_found');
    const noName = await askRollback(stack, ENV, 'rb-unknown');
    expect(noName.status).toBe(404);
    expect(noName.body.message).toContain('rb-unknown');
  });

  it('answers 403 to a principal without the operator role', async () => {
    const asked = await askRollback(stack, ENV, NAME, 'bob');
    expect(asked.status).toBe(403);
  });
});

describe('a rollback survives a worker killed with -9 mid-job', () => {
  const ENV = 'rb-crash';
  const NAME = 'rb-crash-client';
  let fleet: Fleet;
  let stack: Stack;
  let older: DemoCertificates;
  let newer: DemoCertificates;
  const workers: ServiceProcess[] = [];

  async function startWorker(): Promise<ServiceProcess> {
    // FLEET_CONCURRENCY 2: one slot hangs on the paused host while the other installs the rest
    const w = spawnService(
      'worker',
      { ...stack.env, LOG_LEVEL: 'info', FLEET_CONCURRENCY: '2' },
      { label: `rb-worker-${workers.length + 1}` },
    );
    workers.push(w);
    await w.waitForOutput(/"msg":"worker started"/, 30_000);
    return w;
  }

  /** Each host's .pfx, whole: the old bytes or the new ones, never none and never a part. */
  async function oldOrNewEverywhere(): Promise<void> {
    for (const h of fleet.hosts) {
      const pfx = await fileOn(h, `${NAME}.pfx`);
      expect(pfx.equals(older.pfx) || pfx.equals(newer.pfx), `${h.name}: ${NAME}.pfx`).toBe(true);
    }
  }

  beforeAll(async () => {
    fleet = await startFleet({ count: 4 });
    older = makeDemoCertificates('rb-crash-older');
    newer = makeDemoCertificates('rb-crash-newer');
    stack = await startStack({
      environments: fleetEnvironments(fleet, { [ENV]: 4 }),
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
      worker: false,
      env: { FLEET_LOCK_DURATION_MS: '2000', FLEET_RETRY_ATTEMPTS: '3' },
    });
    await startWorker();
    await put(stack, ENV, NAME, older);
    await put(stack, ENV, NAME, newer, true);
  });

  afterAll(async () => {
    fleet?.hosts.forEach((h) => h.resume());
    await killAllServices();
    await stack?.stop();
    await fleet?.stop();
  });

  it('finishes on the next worker: every host back on the old bytes, the new ones as .previous, nothing temporary', async () => {
    const asked = await askRollback(stack, ENV, NAME);
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    const hung = fleet.hosts[2]!;
    hung.pause();
    expect((await stack.request('bob', 'POST', `/v1/jobs/${asked.body.id}/approve`)).status).toBe(202);
    // the kill lands with three hosts rolled back and the fourth in the middle of its install
    await until('three hosts rolled back and fe-3 running', async () => {
      const job = (await stack.request('alice', 'GET', `/v1/jobs/${asked.body.id}`)).body as Json;
      const byHost = new Map((job.targets as Json[]).map((t) => [t.frontEnd, t.status]));
      return (
        byHost.get('fe-3') === 'running' && [...byHost.values()].filter((s) => s === 'installed').length === 3
      );
    });
    await oldOrNewEverywhere();
    const first = workers[0]!;
    first.kill('SIGKILL');
    expect((await first.waitExit(5_000)).signal).toBe('SIGKILL');
    await oldOrNewEverywhere();
    hung.resume();
    await startWorker();
    const done = await stack.waitForJob(asked.body.id);
    expect(done.status, JSON.stringify(done.targets)).toBe('completed');
    expect(done.action).toBe('rollback');
    for (const h of fleet.hosts) {
      expect((await fileOn(h, `${NAME}.pfx`)).equals(older.pfx), h.name).toBe(true);
      expect((await fileOn(h, `${NAME}.pfx.previous`)).equals(newer.pfx), h.name).toBe(true);
      expect(
        (await readdir(h.dir)).filter((f) => TEMP.test(f)),
        h.name,
      ).toEqual([]);
    }
    const entry = await registryEntry(stack, ENV, NAME);
    expect(entry.fingerprintSha256).toBe(done.certificate.fingerprintSha256);
    expect(entry.previous.jobId).not.toBe(done.id);
  });
});
