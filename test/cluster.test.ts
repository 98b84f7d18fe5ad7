/**
 * Scale-out on a real Redis Cluster (REDIS_URL=redis+cluster://…): three masters
 * started here, three worker processes, one API and one notifier, a job on 30 real sshd
 * front-ends while one worker is killed with SIGKILL part-way. Every key certfleet and
 * BullMQ write carries the `{prefix}` hash tag, so the whole deployment lives in one slot.
 */
import { deletePrefixKeys, createRedis, prefixKeys } from '@certfleet/jobs';
import { keyPrefix } from '@certfleet/store';
import { startFleet, type Fleet } from '@certfleet/test-kit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates } from '../deploy/demo/demo-certs.js';
import { startRedisCluster, type RedisCluster } from './support/redis-cluster.js';
import * as scaleOut from './support/scale-out.js';

const HOSTS = 30;

/** Every key a node holds, with the slot it hashes to. */
async function keysOfNode(port: number): Promise<{ key: string; slot: number }[]> {
  const node = new Redis({ port, host: '127.0.0.1' });
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return await Promise.all(
      keys.map(async (key) => ({ key, slot: Number(await node.call('CLUSTER', 'KEYSLOT', key)) })),
    );
  } finally {
    node.disconnect();
  }
}

describe('scale-out on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  let fleet: Fleet;
  let deployment: scaleOut.Deployment;
  const prefix = `cluster-${process.pid}-${Date.now().toString(36)}`;
  const certs = makeDemoCertificates('cluster-client');

  beforeAll(async () => {
    [cluster, fleet] = await Promise.all([startRedisCluster(3), startFleet({ count: HOSTS })]);
    deployment = await scaleOut.startDeployment({ redisUrl: cluster.url, prefix, fleet, workers: 3 });
  }, 240_000);

  afterAll(async () => {
    await deployment?.stop();
    await fleet?.stop();
    await cluster?.stop();
  });

  it('installs one job on 30 hosts while a worker is killed with SIGKILL part-way: each host once, every target recorded, one report', async () => {
    const name = 'cluster-client';
    const run = await scaleOut.installThrough(deployment, certs, name, [
      scaleOut.killWorkerPartWay(deployment, 1),
    ]);
    // the kill landed part-way: some hosts were installed, others were not yet
    expect(run.at[0]!.progress['installed']).toBeGreaterThanOrEqual(3);
    expect(run.at[0]!.progress['installed']).toBeLessThan(HOSTS);
    expect(await scaleOut.installProblems(fleet, certs, name, run.job), deployment.evidence()).toEqual([]);
    expect(await scaleOut.reportProblems(deployment, run.job)).toEqual([]);
    expect(await scaleOut.operatorProblems(deployment)).toEqual([]);
    // the other two workers and the API and notifier rode on
    expect(deployment.workers.filter((w) => w.running)).toHaveLength(2);
    expect(deployment.services.every((s) => s.running)).toBe(true);
  });

  it('keeps every key of certfleet and BullMQ in the one slot of {prefix}, on one master', async () => {
    // stopped first, so that nothing writes while the keys are read
    await deployment.stop();
    const client = createRedis(cluster.url);
    try {
      const perNode = await Promise.all(cluster.nodes.map((n) => keysOfNode(n.port)));
      const slotOfPrefix = Number(await client.call('CLUSTER', 'KEYSLOT', keyPrefix(prefix)));
      const all = perNode.flat();
      // queues, jobs, targets, audit, metrics, rate limit: all were written
      expect(all.map((k) => k.key)).toEqual(
        expect.arrayContaining([
          `${keyPrefix(prefix)}:install-target:meta`,
          `${keyPrefix(prefix)}:jobs`,
          `${keyPrefix(prefix)}:audit`,
          `${keyPrefix(prefix)}:metrics`,
        ]),
      );
      expect(all.some((k) => k.key.startsWith(`${keyPrefix(prefix)}:ratelimit:`))).toBe(true);
      expect(all.filter((k) => !k.key.startsWith(`${keyPrefix(prefix)}:`))).toEqual([]);
      expect(all.filter((k) => k.slot !== slotOfPrefix)).toEqual([]);
      expect(perNode.filter((keys) => keys.length > 0)).toHaveLength(1);
      // the client-side scan finds them on that master, through the cluster client
      expect((await prefixKeys(client, prefix)).sort()).toEqual(all.map((k) => k.key).sort());
      expect(await deletePrefixKeys(client, prefix)).toBe(all.length);
      expect(await prefixKeys(client, prefix)).toEqual([]);
    } finally {
      client.disconnect();
    }
  });
});
