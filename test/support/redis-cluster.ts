/**
 * A private Redis Cluster for tests: `masters` redis-server processes with
 * `--cluster-enabled yes` on free loopback ports (client and bus port both chosen),
 * joined by `redis-cli --cluster create … --cluster-replicas 0`, ready once every node
 * reports `cluster_state:ok`. Stopped by pid; nothing is written outside its directory.
 *
 * No test-framework imports: this only starts, watches and stops processes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { killOnExit } from '@certfleet/test-kit';
import { Redis } from 'ioredis';
import { freePort } from './processes.js';
import { redisPing } from './redis-server.js';

const execFileAsync = promisify(execFile);
const START_TIMEOUT_MS = 30_000;

export interface RedisClusterNode {
  port: number;
  readonly pid: number | undefined;
}

export interface RedisCluster {
  /** `redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,…`: the REDIS_URL of this cluster. */
  url: string;
  nodes: RedisClusterNode[];
  /** `CLUSTER INFO` of one node as key/value pairs. */
  info(port: number): Promise<Record<string, string>>;
  /** Stops every node (SIGTERM, then SIGKILL) and removes the directory. */
  stop(): Promise<void>;
}

/** Asks one node a command on a short-lived connection of its own. */
async function ask(port: number, ...args: string[]): Promise<unknown> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(args[0]!, ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

async function clusterInfo(port: number): Promise<Record<string, string>> {
  const text = String(await ask(port, 'CLUSTER', 'INFO'));
  return Object.fromEntries(
    text
      .split(/\r?\n/)
      .filter((l) => l.includes(':'))
      .map((l) => l.split(':', 2) as [string, string]),
  );
}

/** Starts a cluster of `masters` nodes (no replicas) and waits until it serves every slot. */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'certfleet-cluster-'));
  const children: ChildProcess[] = [];
  const nodes: RedisClusterNode[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        if ((await Promise.race([gone.then(() => true), sleep(5_000).then(() => false)])) === false) {
          child.kill('SIGKILL');
          await gone;
        }
      }),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const [port, busPort] = [await freePort(), await freePort()];
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--cluster-port',
          String(busPort),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          path.join(dir, `nodes-${port}.conf`),
          '--dir',
          dir,
          '--appendonly',
          'no',
          '--save',
          '',
          '--maxmemory-policy',
          'noeviction',
        ],
        { stdio: 'ignore' },
      );
      killOnExit(child);
      children.push(child);
      nodes.push({
        port,
        get pid() {
          return child.exitCode === null ? child.pid : undefined;
        },
      });
    }
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (const n of nodes) {
      while (!(await redisPing(n.port))) {
        if (Date.now() > deadline) throw new Error(`cluster node ${n.port} did not answer`);
        await sleep(25);
      }
    }
    await execFileAsync('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const n of nodes) {
      while ((await clusterInfo(n.port))['cluster_state'] !== 'ok') {
        if (Date.now() > deadline) throw new Error(`cluster node ${n.port} never reported cluster_state:ok`);
        await sleep(50);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    nodes,
    info: clusterInfo,
    stop,
  };
}
