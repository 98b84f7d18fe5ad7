/**
 * FLEET_SECRET_TTL: a job that is never approved, or that ended with failures,
 * keeps its sealed certificate only that long; after it, approve and retry say
 * to submit again, and the sealed secret is gone from Redis.
 */
import { createRedis } from '@certfleet/jobs';
import { FleetKeys } from '@certfleet/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import { fleetEnvironments, startStack, type Stack, startFleet, type Fleet } from '@certfleet/test-kit';

const TTL_MS = 2000;

describe('sealed secrets expire after FLEET_SECRET_TTL', () => {
  let fleet: Fleet;
  let stack: Stack;
  let certs: DemoCertificates;
  let ticket = 0;

  beforeAll(async () => {
    fleet = await startFleet({ count: 2 });
    stack = await startStack({
      environments: fleetEnvironments(fleet, { 'acme-prd': 2 }),
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
      env: { FLEET_SECRET_TTL: `${TTL_MS}ms`, FLEET_RETRY_ATTEMPTS: '1' },
    });
    certs = makeDemoCertificates('ttl-client');
  });

  afterAll(async () => {
    await stack?.stop();
    await fleet?.stop();
  });

  async function submit(): Promise<string> {
    ticket += 1;
    const res = await stack.request('alice', 'POST', '/v1/jobs', {
      ticket: `CASE-TTL-${ticket}`,
      name: 'ttl-client',
      environments: ['acme-prd'],
      pfx: certs.pfx.toString('base64'),
      password: certs.password,
      caCertificates: [certs.caPem],
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  async function sealed(id: string): Promise<boolean> {
    const redis = createRedis(stack.config.redisUrl);
    try {
      return (await redis.exists(new FleetKeys(stack.config.prefix).secret(id))) === 1;
    } finally {
      redis.disconnect();
    }
  }

  const pastTtl = (): Promise<void> => new Promise((r) => setTimeout(r, TTL_MS + 500));

  it('refuses to approve a job whose certificate expired while it waited', async () => {
    const id = await submit();
    expect(await sealed(id)).toBe(true);
    await pastTtl();
    expect(await sealed(id)).toBe(false);
    const res = await stack.request('bob', 'POST', `/v1/jobs/${id}/approve`);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: 'conflict' });
    expect(res.body.message).toMatch(/expired; submit it again/);
    expect((await stack.request('bob', 'GET', `/v1/jobs/${id}`)).body.status).toBe('pending_approval');
  });

  it('keeps a failed job retryable for the TTL only, and says to resubmit after it', async () => {
    await fleet.hosts[1]!.stop();
    try {
      const id = await submit();
      expect((await stack.request('bob', 'POST', `/v1/jobs/${id}/approve`)).status).toBe(202);
      const first = await stack.waitForJob(id);
      expect(first.status).toBe('partially_failed');
      // approval keeps the secret while the job runs; failures start the TTL again
      expect(await sealed(id)).toBe(true);
      await pastTtl();
      expect(await sealed(id)).toBe(false);
      const retry = await stack.request('alice', 'POST', `/v1/jobs/${id}/retry`);
      expect(retry.status).toBe(409);
      expect(retry.body.message).toMatch(/expired \(FLEET_SECRET_TTL\); submit the job again/);
    } finally {
      await fleet.hosts[1]!.start();
    }
  });
});
