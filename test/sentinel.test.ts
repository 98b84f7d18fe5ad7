/**
 * REDIS_URL in its Sentinel form: a real redis-server as master, a real replica, a real
 * Redis Sentinel watching them, and real front-ends. First a whole job through an
 * in-process stack; then the scale-out scenario as processes (three workers, API,
 * notifier) on 30 hosts with a forced failover (`SENTINEL FAILOVER`) and a worker
 * killed with SIGKILL while the job runs.
 */
import { Redis } from 'ioredis';
import { FleetKeys } from '@certfleet/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates } from '../deploy/demo/demo-certs.js';
import { fleetEnvironments, startStack, startFleet, type Fleet, type Stack } from '@certfleet/test-kit';
import { startRedisServer, type RedisServer } from './support/redis-server.js';
import { replication, startReplica, startSentinel, type RedisSentinel } from './support/redis-sentinel.js';
import * as scaleOut from './support/scale-out.js';

const HOSTS = 30;

describe('Redis through Sentinel', () => {
  let servers: RedisServer[] = [];
  let sentinel: RedisSentinel;
  let fleet: Fleet;
  let stack: Stack;
  let deployment: scaleOut.Deployment;
  const prefix = `sentinel-${process.pid}-${Date.now().toString(36)}`;

  beforeAll(async () => {
    let master: RedisServer;
    [master, fleet] = await Promise.all([startRedisServer(), startFleet({ count: HOSTS })]);
    servers = [master, await startReplica(master)];
    // started after the replica, so its first look at the master finds the replica
    sentinel = await startSentinel(master.port, { replicas: 1 });
    [stack, deployment] = await Promise.all([
      startStack({
        environments: fleetEnvironments(fleet, { 'acme-prd': 2 }),
        username: fleet.username,
        privateKeyPath: fleet.clientKeyPath,
        env: { REDIS_URL: sentinel.url },
      }),
      scaleOut.startDeployment({ redisUrl: sentinel.url, prefix, fleet, workers: 3 }),
    ]);
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
    await deployment?.stop();
    await sentinel?.stop();
    await Promise.all(servers.map((s) => s.stop()));
    await fleet?.stop();
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
    const direct = new Redis({ port: await sentinel.masterPort(), host: '127.0.0.1' });
    try {
      expect(await direct.exists(new FleetKeys(stack.config.prefix).job(submitted.body.id))).toBe(1);
    } finally {
      direct.disconnect();
    }
  });

  it('rides over a failover mid-job on 30 hosts, with a worker killed too: each host once, every target recorded, one report', async () => {
    const name = 'failover-client';
    const certs = makeDemoCertificates(name);
    let switched: { from: number; to: number } | undefined;
    // first the kill (its targets wait for their locks to expire), then at once the failover
    const run = await scaleOut.installThrough(deployment, certs, name, [
      scaleOut.killWorkerPartWay(deployment, 1),
      {
        label: 'SENTINEL FAILOVER',
        when: () => true,
        act: async () => {
          switched = await sentinel.failover();
        },
      },
    ]);
    // the kill and the failover both happened while hosts were still to do
    for (const at of run.at) expect(at.progress['installed'], at.label).toBeLessThan(HOSTS);
    expect(switched!.to).not.toBe(switched!.from);
    expect(await scaleOut.installProblems(fleet, certs, name, run.job), deployment.evidence()).toEqual([]);
    expect(await scaleOut.reportProblems(deployment, run.job)).toEqual([]);
    expect(deployment.workers.filter((w) => w.running)).toHaveLength(2);
    expect(deployment.services.every((s) => s.running)).toBe(true);
    // Once Sentinel has demoted the old master (which drops whatever it took after the
    // promotion), the record read again, now from the new master, still says the same.
    await expect
      .poll(async () => (await replication(switched!.from))['role'], { timeout: 60_000, interval: 200 })
      .toBe('slave');
    const reread = await deployment.client.getJob(run.job.id);
    expect(await scaleOut.installProblems(fleet, certs, name, reread)).toEqual([]);
    expect(await scaleOut.operatorProblems(deployment)).toEqual([]);
    const promoted = new Redis({ port: switched!.to, host: '127.0.0.1' });
    try {
      expect(await promoted.exists(`{${prefix}}:job:${run.job.id}`)).toBe(1);
    } finally {
      promoted.disconnect();
    }
  });
});
