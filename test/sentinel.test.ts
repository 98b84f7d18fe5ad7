/**
 * REDIS_URL in its Sentinel form: a real redis-server as master, a real Redis
 * Sentinel watching it, and a whole job through the API on real front-ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { FleetKeys } from '@certfleet/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  fleetEnvironments,
  startStack,
  type Stack,
  killOnExit,
  startFleet,
  type Fleet,
} from '@certfleet/test-kit';
import { freePort } from './support/processes.js';
import { redisPing, startRedisServer, type RedisServer } from './support/redis-server.js';

describe('Redis through Sentinel', () => {
  let master: RedisServer;
  let sentinel: ChildProcess | undefined;
  let sentinelDir: string;
  let fleet: Fleet;
  let stack: Stack;

  beforeAll(async () => {
    [master, fleet] = await Promise.all([startRedisServer(), startFleet({ count: 2 })]);
    sentinelDir = await mkdtemp(path.join(tmpdir(), 'certfleet-sentinel-'));
    const port = await freePort();
    const conf = path.join(sentinelDir, 'sentinel.conf');
    await writeFile(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${sentinelDir}`,
        `sentinel monitor certfleet-primary 127.0.0.1 ${master.port} 1`,
        'sentinel down-after-milliseconds certfleet-primary 5000',
        '',
      ].join('\n'),
    );
    sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    killOnExit(sentinel);
    const deadline = Date.now() + 15_000;
    while (!(await redisPing(port))) {
      if (Date.now() > deadline) throw new Error('redis sentinel did not answer');
      await new Promise((r) => setTimeout(r, 50));
    }
    stack = await startStack({
      environments: fleetEnvironments(fleet, { 'acme-prd': 2 }),
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
      env: { REDIS_URL: `redis+sentinel://127.0.0.1:${port}/certfleet-primary` },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    sentinel?.kill();
    await master?.stop();
    await fleet?.stop();
    await rm(sentinelDir, { recursive: true, force: true });
  });

  it('finds the master through the sentinel and runs a job to completion on it', async () => {
    // ready once the client has asked the sentinel for the master and connected to it
    await expect.poll(async () => (await fetch(`${stack.url}/readyz`)).status, { timeout: 15_000 }).toBe(200);
    const certs = makeDemoCertificates('sentinel-client');
    const submitted = await stack.request('alice', 'POST', '/v1/jobs', {
      ticket: 'CASE-SENTINEL',
      name: 'sentinel-client',
      environments: ['acme-prd'],
      pfx: certs.pfx.toString('base64'),
      password: certs.password,
      caCertificates: [certs.caPem],
    });
    expect(submitted.status).toBe(201);
    expect((await stack.request('bob', 'POST', `/v1/jobs/${submitted.body.id}/approve`)).status).toBe(202);
    expect((await stack.waitForJob(submitted.body.id)).status).toBe('completed');
    // The records are in the master the sentinel named, not in the machine's default Redis.
    const direct = new Redis(master.url);
    try {
      expect(await direct.exists(new FleetKeys(stack.config.prefix).job(submitted.body.id))).toBe(1);
    } finally {
      direct.disconnect();
    }
  });
});
