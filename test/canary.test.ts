/**
 * Canary rollout (README: Canary rollout), through the HTTP API with real Redis, BullMQ
 * and real sshd front-ends: the canary (an environment's first front-end) is installed and
 * verified alone; the job rests in `canary` until an approver other than the submitter
 * continues it, or goes on by itself with `canary.continue: auto`; a canary that fails
 * (a full disk) ends the job before any other host is touched.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { createRedis, deletePrefixKeys } from '@certfleet/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  apiClient,
  startFleet,
  startReceiver,
  startStack,
  type Fleet,
  type FleetHost,
  type HarnessEnvironment,
  type HarnessHost,
  type Receiver,
  type ServiceFiles,
  type Stack,
  writeServiceFiles,
} from '@certfleet/test-kit';
import {
  freePort,
  killAllServices,
  serviceEnv,
  spawnService,
  type ServiceProcess,
} from './support/processes.js';

const execFileAsync = promisify(execFile);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function harnessHost(name: string, h: FleetHost): HarnessHost {
  return { name, address: h.address, port: h.port, hostKeyLine: h.hostKeyLine };
}

/** A Linux environment of `hosts` (fe-1, fe-2, … in that order) with its rollout settings. */
function linuxEnvironment(
  name: string,
  fleet: Fleet,
  hosts: FleetHost[],
  rollout: Pick<HarnessEnvironment, 'rollout' | 'canary'>,
): HarnessEnvironment {
  return {
    name,
    platform: 'linux',
    installDir: fleet.installDir,
    ...rollout,
    hosts: hosts.map((host, i) => harnessHost(`fe-${i + 1}`, host)),
  };
}

function byFrontEnd(job: Json): Record<string, Json> {
  return Object.fromEntries((job.targets as Json[]).map((t) => [t.frontEnd, t]));
}

/** Every file of `name` on a host's own disk, temporary files included. */
async function filesOf(host: FleetHost, name: string): Promise<string[]> {
  return (await readdir(host.dir)).filter((f) => f.includes(name));
}

/** A submit body for `certs` in one environment; `extra` adds or overrides fields. */
function submitBody(
  certs: DemoCertificates,
  environment: string,
  name: string,
  ticket: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const certificate = { pfx: certs.pfx.toString('base64'), password: certs.password };
  return {
    ticket,
    name,
    environments: [environment],
    ...certificate,
    caCertificates: [certs.caPem],
    ...extra,
  };
}

/** Submits as alice and approves as bob (four eyes); answers the submitted job. */
async function submitApproved(request: Stack['request'], payload: Record<string, unknown>): Promise<Json> {
  const submitted = await request('alice', 'POST', '/v1/jobs', payload);
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
  const approved = await request('bob', 'POST', `/v1/jobs/${submitted.body.id}/approve`);
  expect(approved.status, JSON.stringify(approved.body)).toBe(202);
  return submitted.body;
}

describe('canary rollout', () => {
  let fleet: Fleet;
  let stack: Stack;
  let receiver: Receiver;
  let certs: DemoCertificates;
  const h = (i: number): FleetHost => fleet.hosts[i - 1]!;

  beforeAll(async () => {
    fleet = await startFleet({ count: 7 });
    receiver = await startReceiver();
    certs = makeDemoCertificates('canary-client');
    stack = await startStack({
      environments: [
        linuxEnvironment('shop', fleet, [h(1), h(2), h(3)], { rollout: 'canary' }),
        linuxEnvironment('full', fleet, [h(4), h(5)], { rollout: 'canary' }),
        linuxEnvironment('plain', fleet, [h(6), h(7)], { canary: { continue: 'auto' } }),
      ],
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
    await fleet?.stop();
  });

  const body = (environment: string, name: string, ticket: string, extra: Record<string, unknown> = {}) =>
    submitBody(certs, environment, name, ticket, { notify: { webhookUrl: receiver.url }, ...extra });

  /** Waits until the receiver got the report with this Idempotency-Key. */
  async function waitForReport(key: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!receiver.received.some((r) => r.headers['idempotency-key'] === key)) {
      if (Date.now() > deadline) throw new Error(`no report ${key}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const client = () => apiClient(stack.url, stack.tokens, 'bob');

  const inCanaryOrFinal = (job: Json): boolean =>
    job.status === 'canary' || ['completed', 'partially_failed', 'failed'].includes(job.status);

  async function auditActions(jobId: string): Promise<Json[]> {
    const res = await stack.request('bob', 'GET', `/v1/audit?job=${jobId}`);
    expect(res.status).toBe(200);
    return res.body.items;
  }

  it('installs and verifies the canary alone, rests in canary, and installs the others once an approver continues', async () => {
    const name = 'acme-canary';
    const submitted = await submitApproved(stack.request, body('shop', name, 'CASE-C1'));
    expect(submitted.canary).toEqual({
      targets: ['shop/fe-1'],
      continue: 'approve',
      round: 1,
      continuedBy: null,
    });
    const id = submitted.id as string;

    const resting = await client().waitForJob(id, { until: inCanaryOrFinal, timeoutMs: 60_000 });
    expect(resting.status).toBe('canary');
    const t = byFrontEnd(resting);
    expect(t['fe-1']).toMatchObject({ status: 'installed', round: 1, sha256: sha256(certs.pfx) });
    expect(t['fe-2']).toMatchObject({ status: 'pending', attempts: 0 });
    expect(t['fe-3']).toMatchObject({ status: 'pending', attempts: 0 });
    expect((await readFile(path.join(h(1).dir, `${name}.pfx`))).equals(certs.pfx)).toBe(true);
    expect(await filesOf(h(2), name)).toEqual([]);
    expect(await filesOf(h(3), name)).toEqual([]);
    // the pause sends no report: only the job's end does
    expect(
      receiver.received.filter((r) => String(r.headers['idempotency-key']).startsWith(`${id}:`)),
    ).toEqual([]);
    const audit = await auditActions(id);
    expect(audit.map((e) => e.action)).toContain('job.canary');
    const installed = audit.filter((e) => e.action === 'target.installed');
    expect(installed.map((e) => [e.detail.target, e.detail.canary])).toEqual([['shop/fe-1', 'verified']]);

    // four eyes: alice submitted it (and is an approver too); ticket-bot is no approver
    const self = await stack.request('alice', 'POST', `/v1/jobs/${id}/continue`);
    expect(self.status).toBe(409);
    expect(self.body.error).toBe('self_approval');
    const operator = await stack.request('ticket-bot', 'POST', `/v1/jobs/${id}/continue`);
    expect(operator.status).toBe(403);
    expect((await stack.request('bob', 'GET', `/v1/jobs/${id}`)).body.status).toBe('canary');

    const continued = await stack.request('bob', 'POST', `/v1/jobs/${id}/continue`);
    expect(continued.status, JSON.stringify(continued.body)).toBe(202);
    expect(continued.body).toMatchObject({ status: 'queued', round: 2, canary: { continuedBy: 'bob' } });
    const final = await stack.waitForJob(id);
    expect(final.status).toBe('completed');
    for (const fe of ['fe-1', 'fe-2', 'fe-3']) {
      expect(byFrontEnd(final)[fe], fe).toMatchObject({ status: 'installed', sha256: sha256(certs.pfx) });
    }
    expect(byFrontEnd(final)['fe-1'].round).toBe(1);
    expect(byFrontEnd(final)['fe-2'].round).toBe(2);
    for (const host of [h(1), h(2), h(3)]) {
      expect((await readFile(path.join(host.dir, `${name}.pfx`))).equals(certs.pfx), host.name).toBe(true);
      expect(
        (await readdir(host.dir)).filter((f) => /certfleet-tmp/.test(f)),
        host.name,
      ).toEqual([]);
    }
    const continues = (await auditActions(id)).filter((e) => e.action === 'continue');
    expect(continues.map((e) => [e.actor, e.detail.round, e.detail.targets])).toEqual([
      ['bob', 2, ['shop/fe-2', 'shop/fe-3']],
    ]);
    await waitForReport(`${id}:2:completed`);

    // a completed job is not in canary any more
    const again = await stack.request('bob', 'POST', `/v1/jobs/${id}/continue`);
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('conflict');
  }, 180_000);

  it('a canary that fails (its disk full) ends the job failed before any other host is touched', async () => {
    const name = 'acme-canary-full';
    const canaryHost = h(4);
    await canaryHost.stop();
    await execFileAsync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', canaryHost.dir]);
    try {
      // dd stops with ENOSPC once the file system is full
      await execFileAsync('dd', ['if=/dev/zero', `of=${path.join(canaryHost.dir, 'fill')}`, 'bs=4k']).catch(
        () => undefined,
      );
      await canaryHost.start();
      const { id } = await submitApproved(stack.request, body('full', name, 'CASE-C2'));
      const final = await stack.waitForJob(id);
      expect(final.status).toBe('failed');
      const t = byFrontEnd(final);
      expect(t['fe-1']).toMatchObject({ status: 'failed', error: { code: 'disk_full' } });
      expect(t['fe-2']).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'canary_failed' } });
      expect(t['fe-2'].error.message).toContain('full/fe-1 (disk_full)');
      // the other host: no file, no temporary file; the canary: only what filled it
      expect(await readdir(h(5).dir)).toEqual([]);
      expect(await readdir(canaryHost.dir)).toEqual(['fill']);
      await waitForReport(`${id}:1:failed`);
    } finally {
      await canaryHost.stop();
      await execFileAsync('umount', [canaryHost.dir]);
      await canaryHost.start();
    }
  }, 180_000);

  it('a job may ask for a canary itself, and canary.continue: auto goes on at once, as system', async () => {
    const name = 'acme-canary-auto';
    const submitted = await submitApproved(
      stack.request,
      body('plain', name, 'CASE-C3', { rollout: 'canary' }),
    );
    expect(submitted.canary).toMatchObject({ targets: ['plain/fe-1'], continue: 'auto' });
    const final = await stack.waitForJob(submitted.id);
    expect(final).toMatchObject({ status: 'completed', round: 2, canary: { continuedBy: 'system' } });
    expect(byFrontEnd(final)['fe-1'].round).toBe(1);
    expect(byFrontEnd(final)['fe-2'].round).toBe(2);
    const actions = (await auditActions(submitted.id)).map((e) => `${e.actor}:${e.action}`);
    expect(actions).toContain('worker:job.canary');
    expect(actions).toContain('system:continue');
    // without rollout the environment's default (all) holds: no canary at all
    const plain = await submitApproved(stack.request, body('plain', 'acme-no-canary', 'CASE-C4'));
    expect(plain.canary).toBeUndefined();
    expect((await stack.waitForJob(plain.id)).round).toBe(1);
  }, 180_000);

  it('answers continue on an unknown job with 404', async () => {
    const res = await stack.request('bob', 'POST', '/v1/jobs/no-such-job/continue');
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('not_found');
  });
});

describe('canary rollout when the worker is killed (SIGKILL) while the canary installs', () => {
  const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const prefix = `canary-crash-${process.pid}-${Date.now().toString(36)}`;
  let fleet: Fleet;
  let files: ServiceFiles;
  let env: Record<string, string>;
  let api: ReturnType<typeof apiClient>;
  const workers: ServiceProcess[] = [];
  let oldCerts: DemoCertificates;
  let newCerts: DemoCertificates;
  const h = (i: number): FleetHost => fleet.hosts[i - 1]!;

  async function startWorker(): Promise<ServiceProcess> {
    const w = spawnService('worker', env, { label: `worker-${workers.length + 1}` });
    workers.push(w);
    await w.waitForOutput(/"msg":"worker started"/, 30_000);
    return w;
  }

  beforeAll(async () => {
    fleet = await startFleet({ count: 3 });
    oldCerts = makeDemoCertificates('canary-crash-old');
    newCerts = makeDemoCertificates('canary-crash-new');
    files = await writeServiceFiles({
      environments: [linuxEnvironment('crashy', fleet, fleet.hosts, { rollout: 'canary' })],
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
    });
    env = serviceEnv(
      files,
      { redisUrl: REDIS_URL, prefix },
      { FLEET_RETRY_ATTEMPTS: '3', FLEET_RETRY_BACKOFF_MS: '200', FLEET_LOCK_DURATION_MS: '2000' },
    );
    const port = await freePort();
    const apiProcess = spawnService('api', { ...env, PORT: String(port) }, { label: 'api' });
    await Promise.all([startWorker(), apiProcess.waitForOutput(/"msg":"api listening"/, 30_000)]);
    api = apiClient(`http://127.0.0.1:${port}`, files.tokens, 'bob');
    await api.waitUntilUp();
  }, 120_000);

  afterAll(async () => {
    fleet?.hosts.forEach((host) => host.resume());
    await killAllServices();
    await fleet?.stop();
    await files?.remove();
    const redis = createRedis(REDIS_URL);
    await deletePrefixKeys(redis, prefix);
    redis.disconnect();
  });

  const body = (certs: DemoCertificates, ticket: string, extra: Record<string, unknown>) =>
    submitBody(certs, 'crashy', 'acme-crashy', ticket, extra);

  /** The host's `<name>.pfx`: exactly the old bytes or exactly the new ones, never absent or partial. */
  async function oldOrNew(host: FleetHost): Promise<'old' | 'new'> {
    const pfx = await readFile(path.join(host.dir, 'acme-crashy.pfx'));
    if (pfx.equals(oldCerts.pfx)) return 'old';
    expect(sha256(pfx), host.name).toBe(sha256(newCerts.pfx));
    return 'new';
  }

  it('leaves the canary with the old file or the new one, and the next worker verifies it and rests in canary', async () => {
    // the old certificate everywhere first, without a canary
    const first = await submitApproved(api.request, body(oldCerts, 'CASE-K1', { rollout: 'all' }));
    expect((await api.waitForJob(first.id, { timeoutMs: 60_000 })).status).toBe('completed');

    const { id } = await submitApproved(api.request, body(newCerts, 'CASE-K2', { replace: true }));
    // the kill point comes from the job's progress: the canary has begun (or already finished)
    await api.waitForJob(id, {
      until: (job: Json) =>
        (job.targets as Json[]).some((t) => t.frontEnd === 'fe-1' && t.status !== 'pending'),
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    h(1).pause();
    const killed = workers[0]!;
    killed.kill('SIGKILL');
    expect((await killed.waitExit(5_000)).signal).toBe('SIGKILL');
    const atKill = await oldOrNew(h(1));
    h(1).resume();
    expect(await oldOrNew(h(2))).toBe('old');
    expect(await oldOrNew(h(3))).toBe('old');

    await startWorker();
    const resting = await api.waitForJob(id, {
      until: (job: Json) => job.status !== 'queued' && job.status !== 'running',
      timeoutMs: 90_000,
    });
    expect(resting.status, `canary was ${atKill} at the kill`).toBe('canary');
    expect(byFrontEnd(resting)['fe-1']).toMatchObject({ status: 'installed', sha256: sha256(newCerts.pfx) });
    expect(await oldOrNew(h(1))).toBe('new');
    expect(await oldOrNew(h(2))).toBe('old');
    expect(await oldOrNew(h(3))).toBe('old');

    const continued = await api.request('bob', 'POST', `/v1/jobs/${id}/continue`);
    expect(continued.status, JSON.stringify(continued.body)).toBe(202);
    expect((await api.waitForJob(id, { timeoutMs: 60_000 })).status).toBe('completed');
    for (const host of fleet.hosts) {
      expect(await oldOrNew(host)).toBe('new');
      expect(
        (await readdir(host.dir)).filter((f) => /certfleet-tmp/.test(f)),
        host.name,
      ).toEqual([]);
    }
  }, 240_000);
});
