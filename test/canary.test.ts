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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  apiClient,
  startFleet,
  startReceiver,
  startStack,
  type Fleet,
  type FleetHost,
  type HarnessHost,
  type Receiver,
  type Stack,
} from '@certfleet/test-kit';

const execFileAsync = promisify(execFile);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function harnessHost(name: string, h: FleetHost): HarnessHost {
  return { name, address: h.address, port: h.port, hostKeyLine: h.hostKeyLine };
}

function byFrontEnd(job: Json): Record<string, Json> {
  return Object.fromEntries((job.targets as Json[]).map((t) => [t.frontEnd, t]));
}

/** Every file of `name` on a host's own disk, temporary files included. */
async function filesOf(host: FleetHost, name: string): Promise<string[]> {
  return (await readdir(host.dir)).filter((f) => f.includes(name));
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
        {
          name: 'shop',
          platform: 'linux',
          installDir: fleet.installDir,
          rollout: 'canary',
          hosts: [harnessHost('fe-1', h(1)), harnessHost('fe-2', h(2)), harnessHost('fe-3', h(3))],
        },
        {
          name: 'full',
          platform: 'linux',
          installDir: fleet.installDir,
          rollout: 'canary',
          hosts: [harnessHost('fe-1', h(4)), harnessHost('fe-2', h(5))],
        },
        {
          name: 'plain',
          platform: 'linux',
          installDir: fleet.installDir,
          canary: { continue: 'auto' },
          hosts: [harnessHost('fe-1', h(6)), harnessHost('fe-2', h(7))],
        },
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

  async function submitApproved(payload: Record<string, unknown>): Promise<Json> {
    const submitted = await stack.request('alice', 'POST', '/v1/jobs', payload);
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const approved = await stack.request('bob', 'POST', `/v1/jobs/${submitted.body.id}/approve`);
    expect(approved.status, JSON.stringify(approved.body)).toBe(202);
    return submitted.body;
  }

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
    const submitted = await submitApproved(body('shop', name, 'CASE-C1'));
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
      const { id } = await submitApproved(body('full', name, 'CASE-C2'));
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
    const submitted = await submitApproved(body('plain', name, 'CASE-C3', { rollout: 'canary' }));
    expect(submitted.canary).toMatchObject({ targets: ['plain/fe-1'], continue: 'auto' });
    const final = await stack.waitForJob(submitted.id);
    expect(final).toMatchObject({ status: 'completed', round: 2, canary: { continuedBy: 'system' } });
    expect(byFrontEnd(final)['fe-1'].round).toBe(1);
    expect(byFrontEnd(final)['fe-2'].round).toBe(2);
    const actions = (await auditActions(submitted.id)).map((e) => `${e.actor}:${e.action}`);
    expect(actions).toContain('worker:job.canary');
    expect(actions).toContain('system:continue');
    // without rollout the environment's default (all) holds: no canary at all
    const plain = await submitApproved(body('plain', 'acme-no-canary', 'CASE-C4'));
    expect(plain.canary).toBeUndefined();
    expect((await stack.waitForJob(plain.id)).round).toBe(1);
  }, 180_000);

  it('answers continue on an unknown job with 404', async () => {
    const res = await stack.request('bob', 'POST', '/v1/jobs/no-such-job/continue');
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('not_found');
  });
});
