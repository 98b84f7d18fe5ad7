/**
 * Crash safety of a 10-host fan-out (issue 5): the worker runs as its own process and is
 * killed (SIGKILL) at points chosen from the job's progress, stopped with SIGTERM, or
 * loses its Redis (a private redis-server with AOF, restarted). A new worker (or the same
 * one, for Redis) must finish the job: every file on every host whole with the recorded
 * SHA-256, no temporary file left, and one report per round and status.
 *
 * API and notifier run as their own processes too; everything talks to the private
 * Redis. FLEET_LOCK_DURATION_MS=2000 makes the take-over of a dead worker's targets fast,
 * and FLEET_CONCURRENCY=2 keeps most targets pending while the first ones install, so
 * "some installed, some not" is a state the test can wait for rather than guess.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedis, QueueName, verifySignature } from '@certfleet/jobs';
import { keyPrefix } from '@certfleet/store';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  fleetEnvironments,
  startReceiver,
  writeServiceFiles,
  type Receiver,
  type ServiceFiles,
  startFleet,
  type Fleet,
  type FleetHost,
} from '@certfleet/test-kit';
import {
  apiClient,
  freePort,
  killAllServices,
  serviceEnv,
  spawnService,
  type ApiClient,
  type Json,
  type ServiceProcess,
} from './support/processes.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';

const HOSTS = 10;
const ENV = 'crash';
const WEBHOOK_SECRET = 'crash-outbound-secret';
const SHUTDOWN_TIMEOUT_S = 2;
const LOCK_DURATION_MS = 2000;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const TEMP = /certfleet-tmp/;

interface Progress {
  installed: number;
  running: number;
  pending: number;
  failed: number;
}

function progress(job: Json): Progress {
  const count = (s: string): number => (job.targets as Json[]).filter((t) => t.status === s).length;
  return {
    installed: count('installed'),
    running: count('running'),
    pending: count('pending'),
    failed: count('failed'),
  };
}

describe('a 10-host fan-out survives its worker and its Redis', () => {
  let redis: RedisServer;
  let fleet: Fleet;
  let files: ServiceFiles;
  let receiver: Receiver;
  let client: ApiClient;
  let env: Record<string, string>;
  let certs: DemoCertificates;
  let worker: ServiceProcess | undefined;
  const workers: ServiceProcess[] = [];
  const services: ServiceProcess[] = [];
  const jobIds: string[] = [];
  let installQueue: Queue | undefined;

  const prefix = `crash-${process.pid}-${Date.now().toString(36)}`;

  async function startWorker(): Promise<ServiceProcess> {
    const w = spawnService('worker', env, { label: `worker-${workers.length + 1}` });
    workers.push(w);
    await w.waitForOutput(/"msg":"worker started"/, 30_000);
    return w;
  }

  /** What the workers said lately: attached to a failure. */
  function evidence(): string {
    return workers
      .map((w) => {
        const lines = w.output().trim().split('\n');
        return `--- ${w.label} (pid ${w.pid}, ${w.running ? 'running' : 'exited'}), last lines:\n${lines.slice(-15).join('\n')}`;
      })
      .join('\n');
  }

  async function queueCounts(): Promise<Record<string, Record<string, number>>> {
    const connection = createRedis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
    const result: Record<string, Record<string, number>> = {};
    try {
      for (const name of [QueueName.Install, QueueName.InstallTarget, QueueName.Notify]) {
        const q = new Queue(name, { connection, prefix: keyPrefix(prefix) });
        result[name] = await q.getJobCounts(
          'waiting',
          'active',
          'delayed',
          'waiting-children',
          'completed',
          'failed',
        );
        await q.close();
      }
    } finally {
      connection.disconnect();
    }
    return result;
  }

  /** Waits for a final status; on timeout the error carries the queue counts and the workers' output. */
  async function waitFinal(id: string, timeoutMs = 60_000): Promise<Json> {
    try {
      return await client.waitForJob(id, { timeoutMs });
    } catch (err) {
      const counts = await queueCounts().catch((e: unknown) => String(e));
      throw new Error(`${(err as Error).message}\nqueues: ${JSON.stringify(counts)}\n${evidence()}`, {
        cause: err,
      });
    }
  }

  beforeAll(async () => {
    certs = makeDemoCertificates('crash-client');
    [redis, fleet, receiver] = await Promise.all([
      startRedisServer(),
      startFleet({ count: HOSTS }),
      startReceiver(),
    ]);
    files = await writeServiceFiles({
      environments: fleetEnvironments(fleet, { [ENV]: fleet.hosts.length }),
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
    });
    env = serviceEnv(
      files,
      { redisUrl: redis.url, prefix },
      {
        FLEET_RETRY_ATTEMPTS: '3',
        FLEET_RETRY_BACKOFF_MS: '200',
        FLEET_LOCK_DURATION_MS: String(LOCK_DURATION_MS),
        FLEET_SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT_S),
        FLEET_CONCURRENCY: '2',
        FLEET_NOTIFY_WEBHOOK_SECRET: WEBHOOK_SECRET,
      },
    );
    const port = await freePort();
    const api = spawnService('api', { ...env, PORT: String(port) }, { label: 'api' });
    const notifier = spawnService('notifier', env, { label: 'notifier' });
    services.push(api, notifier);
    [worker] = await Promise.all([
      startWorker(),
      api.waitForOutput(/"msg":"api listening"/, 30_000),
      notifier.waitForOutput(/"msg":"notifier started"/, 30_000),
    ]);
    client = apiClient(`http://127.0.0.1:${port}`, files.tokens);
    await client.waitUntilUp();
  });

  afterAll(async () => {
    await installQueue?.resume().catch(() => undefined);
    await installQueue?.close().catch(() => undefined);
    fleet?.hosts.forEach((h) => h.resume());
    await killAllServices();
    await receiver?.close();
    await fleet?.stop();
    await redis?.stop();
    await files?.remove();
  });

  async function submit(name: string, ticket: string): Promise<string> {
    const res = await client.request('alice', 'POST', '/v1/jobs', {
      ticket,
      name,
      environments: [ENV],
      pfx: certs.pfx.toString('base64'),
      password: certs.password,
      caCertificates: [certs.caPem],
      notify: { webhookUrl: receiver.url },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.targets).toHaveLength(HOSTS);
    jobIds.push(res.body.id);
    return res.body.id as string;
  }

  async function approve(id: string): Promise<void> {
    const res = await client.request('bob', 'POST', `/v1/jobs/${id}/approve`);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
  }

  async function killHard(w: ServiceProcess): Promise<void> {
    w.kill('SIGKILL');
    const status = await w.waitExit(5_000);
    expect(status.signal).toBe('SIGKILL');
  }

  /** Every host holds the whole file with the recorded SHA-256, nothing temporary, one job.completed. */
  async function expectCompletedEverywhere(job: Json, name: string): Promise<void> {
    expect(job.status, JSON.stringify(progress(job))).toBe('completed');
    expect(job.round).toBe(1);
    expect(job.targets).toHaveLength(HOSTS);
    const expected = sha256(certs.pfx);
    const caDer = new X509Certificate(certs.caPem).raw;
    for (const t of job.targets as Json[]) {
      expect(t, t.id).toMatchObject({
        status: 'installed',
        sha256: expected,
        error: null,
        path: `${fleet.installDir}/${name}.pfx`,
      });
      expect(t.finishedAt).toEqual(expect.any(String));
    }
    for (const [i, h] of fleet.hosts.entries()) {
      const target = (job.targets as Json[]).find((t) => t.frontEnd === `fe-${i + 1}`);
      const pfxPath = path.join(h.dir, `${name}.pfx`);
      const pfx = await readFile(pfxPath);
      expect(pfx.equals(certs.pfx), `${h.name}: ${name}.pfx`).toBe(true);
      expect(sha256(pfx), h.name).toBe(target.sha256);
      expect((await stat(pfxPath)).mode & 0o777).toBe(0o640);
      expect((await readFile(path.join(h.dir, `${name}.ca1.cer`))).equals(caDer), h.name).toBe(true);
      expect(
        (await readdir(h.dir)).filter((f) => TEMP.test(f)),
        `${h.name}: temporary files`,
      ).toEqual([]);
    }
    const audit = await client.request('bob', 'GET', `/v1/audit?job=${job.id}`);
    expect(audit.status).toBe(200);
    expect((audit.body.items as Json[]).filter((e) => e.action === 'job.completed')).toHaveLength(1);
  }

  /** The round's report arrived, signed, and exactly once so far. */
  async function expectOneReport(id: string): Promise<void> {
    const key = `${id}:1:completed`;
    const deadline = Date.now() + 30_000;
    const matching = () => receiver.received.filter((r) => r.headers['idempotency-key'] === key);
    while (matching().length === 0) {
      if (Date.now() > deadline) throw new Error(`no report ${key}; got ${receiver.received.length} reports`);
      await sleep(100);
    }
    const reports = matching();
    expect(reports).toHaveLength(1);
    const report = reports[0]!;
    expect(
      verifySignature([WEBHOOK_SECRET], report.headers['x-certfleet-signature'] as string, report.body).ok,
    ).toBe(true);
    expect(JSON.parse(report.body)).toMatchObject({
      event: 'job.finished',
      round: 1,
      job: { id, status: 'completed' },
    });
  }

  it('kill -9 right after approval, before any target is installed: a new worker finishes the job', async () => {
    const name = 'crash-approved';
    const id = await submit(name, 'CASE-C1');
    await approve(id);
    await killHard(worker!);
    const at = await client.getJob(id);
    expect(['queued', 'running']).toContain(at.status);
    expect(progress(at).installed).toBe(0);

    worker = await startWorker();
    const final = await waitFinal(id);
    await expectCompletedEverywhere(final, name);
    await expectOneReport(id);
  });

  it('kill -9 after the first target is installed while others are pending or running', async () => {
    const name = 'crash-first';
    const id = await submit(name, 'CASE-C2');
    await approve(id);
    await client.waitForJob(id, { until: (job) => progress(job).installed >= 1, intervalMs: 20 });
    await killHard(worker!);
    const at = progress(await client.getJob(id));
    expect(at.installed).toBeGreaterThanOrEqual(1);
    expect(at.installed).toBeLessThan(HOSTS);
    expect(at.pending + at.running).toBe(HOSTS - at.installed);

    worker = await startWorker();
    const final = await waitFinal(id);
    await expectCompletedEverywhere(final, name);
    await expectOneReport(id);
  });

  it('kill -9 while a temporary upload sits on a host: the next attempt removes it', async () => {
    const name = 'crash-upload';
    const id = await submit(name, 'CASE-C3');
    const w = worker!;
    await approve(id);
    // Freeze the worker the moment a temporary file is seen; kill it only if the file is still
    // there once frozen (otherwise let it run on and try the next one).
    let leftover: { host: FleetHost; file: string } | undefined;
    const deadline = Date.now() + 30_000;
    while (leftover === undefined) {
      if (Date.now() > deadline) throw new Error(`never saw a temporary file\n${evidence()}`);
      for (const h of fleet.hosts) {
        const temp = (await readdir(h.dir)).find((f) => f.startsWith(`.${name}.`) && TEMP.test(f));
        if (temp === undefined) continue;
        w.kill('SIGSTOP');
        const still = (await readdir(h.dir)).includes(temp);
        if (still) {
          leftover = { host: h, file: temp };
        } else {
          w.kill('SIGCONT');
        }
        break;
      }
      await sleep(2);
    }
    await killHard(w);
    // the dead worker's temporary file is there, on the host's own disk
    expect((await readdir(leftover.host.dir)).includes(leftover.file)).toBe(true);
    const at = progress(await client.getJob(id));
    expect(at.installed).toBeLessThan(HOSTS);

    worker = await startWorker();
    const final = await waitFinal(id);
    await expectCompletedEverywhere(final, name);
    expect((await readdir(leftover.host.dir)).includes(leftover.file)).toBe(false);
    await expectOneReport(id);
  });

  it('kill -9 after every target is installed but before the job is final', async () => {
    const name = 'crash-parent';
    const id = await submit(name, 'CASE-C4');
    // Hold the parent `install` job back (a paused queue): the targets all finish, the job cannot.
    const connection = createRedis(redis.url);
    installQueue = new Queue(QueueName.Install, { connection, prefix: keyPrefix(prefix) });
    await installQueue.pause();
    try {
      await approve(id);
      await client.waitForJob(id, { until: (job) => progress(job).installed === HOSTS, timeoutMs: 30_000 });
      await sleep(500);
      const at = await client.getJob(id);
      expect(at.status).toBe('running');
      expect(progress(at).installed).toBe(HOSTS);
      await killHard(worker!);
    } finally {
      await installQueue.resume();
      await installQueue.close();
      installQueue = undefined;
      connection.disconnect();
    }

    worker = await startWorker();
    const final = await waitFinal(id);
    await expectCompletedEverywhere(final, name);
    await expectOneReport(id);
  });

  it('SIGTERM mid-job: the worker exits 0 within FLEET_SHUTDOWN_TIMEOUT and the next worker finishes', async () => {
    const name = 'crash-sigterm';
    const hung = fleet.hosts[0]!;
    const id = await submit(name, 'CASE-C5');
    const w = worker!;
    // fe-1 hangs: its target is still running when the deadline passes and must be handed back.
    hung.pause();
    let exitedAfter: Progress;
    try {
      await approve(id);
      const before = await client.waitForJob(id, {
        until: (job) => {
          const p = progress(job);
          const fe1 = (job.targets as Json[]).find((t) => t.frontEnd === 'fe-1');
          return p.installed >= 1 && p.pending >= 1 && fe1?.status === 'running';
        },
        intervalMs: 20,
        timeoutMs: 30_000,
      });
      const atSignal = progress(before);
      const started = Date.now();
      w.kill('SIGTERM');
      const status = await w.waitExit((SHUTDOWN_TIMEOUT_S + 8) * 1000);
      const elapsed = Date.now() - started;
      expect(status, w.output().slice(-2000)).toEqual({ code: 0, signal: null });
      expect(elapsed).toBeLessThan((SHUTDOWN_TIMEOUT_S + 3) * 1000);
      expect(w.output()).toMatch(/"msg":"stopping"/);
      exitedAfter = progress(await client.getJob(id));
      // it stopped taking work: what was pending at the signal is still pending
      expect(exitedAfter.installed).toBeLessThanOrEqual(atSignal.installed + atSignal.running);
      expect(exitedAfter.pending).toBeGreaterThanOrEqual(1);
      expect(exitedAfter.installed).toBeLessThan(HOSTS);
      // fe-1 was still connecting at the deadline: handed back, not failed
      const fe1 = ((await client.getJob(id)).targets as Json[]).find((t) => t.frontEnd === 'fe-1');
      expect(['running', 'pending']).toContain(fe1.status);
    } finally {
      hung.resume();
    }

    worker = await startWorker();
    const final = await waitFinal(id);
    await expectCompletedEverywhere(final, name);
    await expectOneReport(id);
  });

  it.each([
    { outageMs: 1_000, label: 'shorter than', ticket: 'CASE-C6' },
    { outageMs: LOCK_DURATION_MS + 1_000, label: 'longer than', ticket: 'CASE-C7' },
  ])(
    'Redis restarted (AOF) mid-job, down $outageMs ms ($label the lock): the same worker carries on',
    async ({ outageMs, ticket }) => {
      const name = `crash-redis-${outageMs}`;
      const id = await submit(name, ticket);
      const w = worker!;
      const outputBefore = w.output().length;
      await approve(id);
      const at = await client.waitForJob(id, {
        until: (job) => progress(job).installed >= 1 && progress(job).pending >= 1,
        intervalMs: 20,
      });
      expect(progress(at).installed).toBeLessThan(HOSTS);
      await redis.shutdown();
      await sleep(outageMs);
      await redis.start();

      const final = await waitFinal(id, 60_000);
      expect(w.running).toBe(true);
      // the worker did notice the outage
      expect(w.output().slice(outputBefore)).toMatch(/ECONNREFUSED|Connection is closed|redis/i);
      await expectCompletedEverywhere(final, name);
      await expectOneReport(id);
      expect((await fetch(`${client.url}/readyz`)).status).toBe(200);
    },
  );

  it("Redis down 10 s while the worker idles (BullMQ's known stall): the next job is still picked up", async () => {
    const name = 'crash-redis-idle';
    const w = worker!;
    const outputBefore = w.output().length;
    // the upstream reproduction (taskforcesh/bullmq#2964): stop Redis, wait 10 s, start it
    await redis.restart({ downMs: 10_000 });
    expect(w.output().slice(outputBefore)).toMatch(/ECONNREFUSED/);
    const id = await submit(name, 'CASE-C8');
    await approve(id);
    const final = await waitFinal(id, 45_000);
    expect(w.running).toBe(true);
    await expectCompletedEverywhere(final, name);
    await expectOneReport(id);
  });

  it('GET /readyz answers 503 at once while Redis is down', async () => {
    // an API process of its own: a request left hanging here must not affect the others
    const port = await freePort();
    const api = spawnService('api', { ...env, PORT: String(port) }, { label: 'api-readyz' });
    workers.push(api);
    try {
      await api.waitForOutput(/"msg":"api listening"/, 30_000);
      const probe = async (): Promise<number | string> => {
        const started = Date.now();
        try {
          const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(3_000) });
          return res.status;
        } catch {
          return `no answer within ${Date.now() - started} ms`;
        }
      };
      expect(await probe()).toBe(200);
      await redis.shutdown();
      let down: number | string;
      try {
        down = await probe();
      } finally {
        await redis.start();
      }
      expect(down, 'GET /readyz while Redis is down').toBe(503);
    } finally {
      api.kill('SIGKILL');
      await api.exited;
    }
  });

  it('no report was sent twice for any round and status', async () => {
    await sleep(1_500);
    const keys = receiver.received.map((r) => String(r.headers['idempotency-key']));
    const counts = new Map<string, number>();
    for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
    expect([...counts.entries()].filter(([, n]) => n > 1)).toEqual([]);
    const completedJobs = jobIds.filter((id) => counts.has(`${id}:1:completed`));
    expect(completedJobs.length).toBeGreaterThan(0);
    // every report is for a job of this run
    for (const k of keys) expect(jobIds).toContain(k.split(':')[0]);
    expect(services.every((s) => s.running)).toBe(true);
  });

  it('idle worker, API and notifier each exit 0 on SIGTERM, at once', async () => {
    // a client connection with no request in flight, as a load balancer's TCP check leaves
    const idle = connect({ host: '127.0.0.1', port: Number(new URL(client.url).port) });
    idle.on('error', () => undefined);
    await new Promise((resolve) => idle.once('connect', resolve));
    try {
      for (const s of [worker!, ...services]) {
        const started = Date.now();
        s.kill('SIGTERM');
        const status = await s.waitExit((SHUTDOWN_TIMEOUT_S + 8) * 1000);
        expect.soft(status, `${s.label}: ${s.output().slice(-1000)}`).toEqual({ code: 0, signal: null });
        expect
          .soft(Date.now() - started, `${s.label}: SIGTERM to exit, idle`)
          .toBeLessThan(SHUTDOWN_TIMEOUT_S * 1000);
      }
    } finally {
      idle.destroy();
    }
  });
});
