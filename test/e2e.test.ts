/**
 * One certificate on every front-end, end to end: the HTTP API, real Redis,
 * BullMQ, four real sshd front-ends in two environments, and a real webhook
 * receiver. Files are read back from each host's own disk.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { verifySignature } from '@certfleet/jobs';
import { FleetKeys, keyPrefix } from '@certfleet/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  startReceiver,
  startStack,
  type HarnessEnvironment,
  type Receiver,
  type Stack,
  fleetEnvironments,
  startFleet,
  type Fleet,
} from '@certfleet/test-kit';

const WEBHOOK_SECRET = 'e2e-outbound-secret';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('a job from submit to every front-end', () => {
  let fleet: Fleet;
  let stack: Stack;
  let receiver: Receiver;
  let certs: DemoCertificates;
  let envs: HarnessEnvironment[];

  beforeAll(async () => {
    fleet = await startFleet({ count: 4 });
    receiver = await startReceiver();
    envs = fleetEnvironments(fleet, { 'acme-prd': 2, 'acme-qa': 2 });
    stack = await startStack({
      environments: envs,
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
      env: { FLEET_NOTIFY_WEBHOOK_SECRET: WEBHOOK_SECRET },
    });
    certs = makeDemoCertificates('e2e-client');
  });

  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
    await fleet?.stop();
  });

  const submitBody = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    ticket: 'CASE-100001',
    name: 'acme-payments-client',
    environments: ['acme-prd', 'acme-qa'],
    pfx: certs.pfx.toString('base64'),
    password: certs.password,
    caCertificates: [certs.caPem],
    notify: { webhookUrl: receiver.url },
    ...overrides,
  });

  it('installs on all four front-ends after a second person approves, and reports the path', async () => {
    const submitted = await stack.request('alice', 'POST', '/v1/jobs', submitBody());
    expect(submitted.status).toBe(201);
    const job = submitted.body;
    expect(job.status).toBe('pending_approval');
    expect(job.certificate.subject).toBe('CN=e2e-client');
    expect(job.certificate.normalized).toBe(false);
    expect(job.targets.map((t: { id: string }) => t.id)).toEqual([
      'acme-prd/fe-1',
      'acme-prd/fe-2',
      'acme-qa/fe-1',
      'acme-qa/fe-2',
    ]);
    expect(job.paths).toEqual({
      'acme-prd': `${fleet.installDir}/acme-payments-client.pfx`,
      'acme-qa': `${fleet.installDir}/acme-payments-client.pfx`,
    });

    // Nothing is queued and nothing touches a host before approval.
    expect(await queueSize(stack)).toBe(0);

    const self = await stack.request('alice', 'POST', `/v1/jobs/${job.id}/approve`);
    expect(self.status).toBe(409);
    expect(self.body.error).toBe('self_approval');

    const approved = await stack.request('bob', 'POST', `/v1/jobs/${job.id}/approve`);
    expect(approved.status).toBe(202);
    expect(approved.body.status).toBe('queued');
    expect(approved.body.approvedBy).toBe('bob');

    const final = await stack.waitForJob(job.id);
    expect(final.status).toBe('completed');
    const expectedSha = sha256(certs.pfx);
    for (const t of final.targets) {
      expect(t).toMatchObject({ status: 'installed', sha256: expectedSha, unchanged: false, error: null });
      expect(t.path).toBe(`${fleet.installDir}/acme-payments-client.pfx`);
      expect(t.finishedAt).toEqual(expect.any(String));
    }

    // Each host's own disk holds exactly the submitted bytes and the CA in DER.
    const caDer = new X509Certificate(certs.caPem).raw;
    for (const host of fleet.hosts) {
      const pfxPath = path.join(host.dir, 'acme-payments-client.pfx');
      expect((await readFile(pfxPath)).equals(certs.pfx)).toBe(true);
      expect((await stat(pfxPath)).mode & 0o777).toBe(0o640);
      expect((await readFile(path.join(host.dir, 'acme-payments-client.ca1.cer'))).equals(caDer)).toBe(true);
    }

    // The sealed secret is gone once the job completed.
    expect(await redisKeyExists(stack, new FleetKeys(stack.config.prefix).secret(job.id))).toBe(false);

    // The signed report reached the job's webhook.
    const [report] = await receiver.waitFor(1);
    expect(
      verifySignature([WEBHOOK_SECRET], report!.headers['x-certfleet-signature'] as string, report!.body).ok,
    ).toBe(true);
    expect(report!.headers['idempotency-key']).toBe(`${job.id}:1:completed`);
    const reported = JSON.parse(report!.body);
    expect(reported).toMatchObject({
      event: 'job.finished',
      round: 1,
      job: { id: job.id, status: 'completed' },
    });
    expect(reported.job.paths['acme-prd']).toBe(`${fleet.installDir}/acme-payments-client.pfx`);
    expect(report!.body).not.toContain(certs.password);

    // The environment registry shows the certificate by name.
    const environments = await stack.request('alice', 'GET', '/v1/environments');
    expect(environments.status).toBe(200);
    const prd = environments.body.find((e: { name: string }) => e.name === 'acme-prd');
    expect(prd.certificates).toEqual([
      expect.objectContaining({
        name: 'acme-payments-client',
        fingerprintSha256: final.certificate.fingerprintSha256,
      }),
    ]);
  });

  it('installs the same certificate again as unchanged, writing nothing', async () => {
    const before = await Promise.all(
      fleet.hosts.map((h) => stat(path.join(h.dir, 'acme-payments-client.pfx'))),
    );
    const submitted = await stack.request('alice', 'POST', '/v1/jobs', submitBody({ ticket: 'CASE-100002' }));
    expect(submitted.status).toBe(201);
    expect((await stack.request('bob', 'POST', `/v1/jobs/${submitted.body.id}/approve`)).status).toBe(202);
    const final = await stack.waitForJob(submitted.body.id);
    expect(final.status).toBe('completed');
    expect(final.targets.every((t: { unchanged: boolean }) => t.unchanged)).toBe(true);
    const after = await Promise.all(
      fleet.hosts.map((h) => stat(path.join(h.dir, 'acme-payments-client.pfx'))),
    );
    after.forEach((s, i) => expect(s.mtimeMs).toBe(before[i]!.mtimeMs));
  });

  it('refuses another certificate under the same name unless replace is true', async () => {
    const other = makeDemoCertificates('e2e-other');
    const body = submitBody({
      ticket: 'CASE-100003',
      pfx: other.pfx.toString('base64'),
      password: other.password,
      caCertificates: [other.caPem],
    });
    const refused = await stack.request('alice', 'POST', '/v1/jobs', body);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('conflict');
    expect(refused.body.message).toContain('replace: true');

    const rotated = await stack.request('alice', 'POST', '/v1/jobs', { ...body, replace: true });
    expect(rotated.status).toBe(201);
    expect((await stack.request('bob', 'POST', `/v1/jobs/${rotated.body.id}/approve`)).status).toBe(202);
    const final = await stack.waitForJob(rotated.body.id);
    expect(final.status).toBe('completed');
    for (const host of fleet.hosts) {
      expect((await readFile(path.join(host.dir, 'acme-payments-client.pfx'))).equals(other.pfx)).toBe(true);
    }
  });

  it('lists jobs by ticket and status', async () => {
    const all = await stack.request('bob', 'GET', '/v1/jobs?limit=2');
    expect(all.status).toBe(200);
    expect(all.body.items).toHaveLength(2);
    expect(all.body.nextCursor).toEqual(expect.any(String));
    const rest = await stack.request('bob', 'GET', `/v1/jobs?limit=50&cursor=${all.body.nextCursor}`);
    const ids = [...all.body.items, ...rest.body.items].map((j: { id: string }) => j.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(3);
    const byTicket = await stack.request('bob', 'GET', '/v1/jobs?ticket=CASE-100002');
    expect(byTicket.body.items.map((j: { ticket: string }) => j.ticket)).toEqual(['CASE-100002']);
    const completed = await stack.request('bob', 'GET', '/v1/jobs?status=completed');
    expect(completed.body.items.length).toBe(3);
  });

  it('answers bad requests with their codes, never a 500', async () => {
    expect((await stack.request(null, 'POST', '/v1/jobs', submitBody())).status).toBe(401);
    expect((await stack.request('not-a-token', 'GET', '/v1/jobs')).status).toBe(401);
    const wrongRole = await stack.request('bob', 'POST', '/v1/jobs', submitBody());
    expect(wrongRole.status).toBe(403);
    expect(wrongRole.body.error).toBe('forbidden');
    const unknownField = await stack.request('alice', 'POST', '/v1/jobs', submitBody({ extra: 1 }));
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.message).toContain("'extra'");
    const badName = await stack.request('alice', 'POST', '/v1/jobs', submitBody({ name: '../x' }));
    expect(badName.status).toBe(400);
    const unknownEnv = await stack.request(
      'alice',
      'POST',
      '/v1/jobs',
      submitBody({ environments: ['nope'] }),
    );
    expect(unknownEnv.status).toBe(422);
    expect(unknownEnv.body.error).toBe('unknown_environment');
    const badPassword = await stack.request('alice', 'POST', '/v1/jobs', submitBody({ password: 'wrong' }));
    expect(badPassword.status).toBe(422);
    expect(badPassword.body.error).toBe('pfx_bad_password');
    const notPfx = await stack.request('alice', 'POST', '/v1/jobs', submitBody({ pfx: 'aGVsbG8=' }));
    expect(notPfx.status).toBe(422);
    expect(notPfx.body.error).toBe('pfx_unreadable');
    const missing = await stack.request('bob', 'GET', '/v1/jobs/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('not_found');
    const notJson = await stack.request('alice', 'POST', '/v1/jobs', '{"ticket":');
    expect(notJson.status).toBe(400);
    expect(await queueSize(stack)).toBe(0);
  });

  it('fails a queued job with a malformed payload at once, without spending its retries', async () => {
    const { Queue, QueueEvents } = await import('bullmq');
    const { createRedis, duplicateRedis, QueueName } = await import('@certfleet/jobs');
    const redis = createRedis(stack.config.redisUrl);
    const options = { connection: redis, prefix: keyPrefix(stack.config.prefix) };
    const queue = new Queue(QueueName.InstallTarget, options);
    const events = new QueueEvents(QueueName.InstallTarget, {
      ...options,
      connection: duplicateRedis(redis),
    });
    try {
      await events.waitUntilReady();
      const job = await queue.add(
        QueueName.InstallTarget,
        { jobId: 'not a job id', round: 0 },
        { attempts: 5, backoff: { type: 'fixed', delay: 10 } },
      );
      await job.waitUntilFinished(events).catch(() => undefined);
      const failed = await queue.getJob(job.id!);
      expect(await failed?.getState()).toBe('failed');
      expect(failed?.attemptsMade).toBe(1);
      expect(failed?.failedReason).toContain('install-target');
    } finally {
      await events.close();
      await queue.close();
      redis.disconnect();
    }
  });
});

async function redisKeyExists(stack: Stack, key: string): Promise<boolean> {
  const { createRedis } = await import('@certfleet/jobs');
  const redis = createRedis(stack.config.redisUrl);
  try {
    return (await redis.exists(key)) === 1;
  } finally {
    redis.disconnect();
  }
}

/** Jobs waiting or delayed in the install-target queue. */
async function queueSize(stack: Stack): Promise<number> {
  const { Queue } = await import('bullmq');
  const { createRedis, QueueName } = await import('@certfleet/jobs');
  const redis = createRedis(stack.config.redisUrl);
  const queue = new Queue(QueueName.InstallTarget, {
    connection: redis,
    prefix: keyPrefix(stack.config.prefix),
  });
  try {
    const counts = await queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  } finally {
    await queue.close();
    redis.disconnect();
  }
}
