/**
 * A real Redis Sentinel for tests: one `redis-server --sentinel` on a free port watching
 * a master started by the test, with a forced failover (`SENTINEL FAILOVER`) that
 * returns once the sentinel names the promoted replica. Stopped by pid.
 *
 * No test-framework imports: this only starts, asks and stops one process.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killOnExit } from '@certfleet/test-kit';
import { Redis } from 'ioredis';
import { freePort } from './processes.js';
import { redisPing, startRedisServer, type RedisServer } from './redis-server.js';

const TIMEOUT_MS = 30_000;

export interface RedisSentinel {
  port: number;
  /** The master's name as the sentinel knows it. */
  name: string;
  /** `redis+sentinel://127.0.0.1:<port>/<name>`: the REDIS_URL through this sentinel. */
  url: string;
  /** The port of the master the sentinel names now. */
  masterPort(): Promise<number>;
  /** Forces a failover to a replica in sync; resolves once the sentinel names the new master. */
  failover(): Promise<{ from: number; to: number }>;
  stop(): Promise<void>;
}

/** Polls `check` until it answers a value, or fails with `what` after TIMEOUT_MS. */
async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${TIMEOUT_MS} ms`);
    await sleep(50);
  }
}

/** Flat `[k, v, k, v…]` replies of SENTINEL REPLICAS as objects. */
function records(reply: unknown): Record<string, string>[] {
  return (reply as string[][]).map((flat) => {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
    return out;
  });
}

/** `INFO replication` of one server as key/value pairs. */
export async function replication(port: number): Promise<Record<string, string>> {
  const direct = new Redis({ port, host: '127.0.0.1' });
  try {
    const text = await direct.info('replication');
    return Object.fromEntries(
      text
        .split(/\r?\n/)
        .filter((l) => l.includes(':'))
        .map((l) => l.split(':', 2) as [string, string]),
    );
  } finally {
    direct.disconnect();
  }
}

/** A private redis-server replicating `master`; resolves once its link to the master is up. */
export async function startReplica(master: RedisServer): Promise<RedisServer> {
  const replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
  try {
    await until('replica never linked to its master', async () =>
      (await replication(replica.port))['master_link_status'] === 'up' ? true : undefined,
    );
  } catch (err) {
    await replica.stop();
    throw err;
  }
  return replica;
}

/**
 * Starts a sentinel watching the master on `masterPort`; with `replicas`, resolves only
 * once it has found that many replicas linked to the master (a failover needs one).
 */
export async function startSentinel(
  masterPort: number,
  options: { name?: string; replicas?: number } = {},
): Promise<RedisSentinel> {
  const name = options.name ?? 'certfleet-primary';
  const dir = await mkdtemp(path.join(tmpdir(), 'certfleet-sentinel-'));
  const port = await freePort();
  const conf = path.join(dir, 'sentinel.conf');
  await writeFile(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
      `sentinel down-after-milliseconds ${name} 5000`,
      `sentinel failover-timeout ${name} 10000`,
      '',
    ].join('\n'),
  );
  const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  killOnExit(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  admin.on('error', () => undefined);
  const stop = async (): Promise<void> => {
    admin.disconnect();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const masterPortNow = async (): Promise<number> => {
    const [, p] = (await admin.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string];
    return Number(p);
  };
  const linkedReplicas = async (): Promise<Record<string, string>[]> =>
    records(await admin.call('SENTINEL', 'REPLICAS', name)).filter(
      (r) => r['master-link-status'] === 'ok' && !/s_down|disconnected/.test(r['flags'] ?? ''),
    );
  try {
    await until('sentinel did not answer', async () => ((await redisPing(port)) ? true : undefined));
    await admin.connect();
    const wanted = options.replicas ?? 0;
    await until(`sentinel did not find ${wanted} replica(s)`, async () =>
      (await linkedReplicas()).length >= wanted ? true : undefined,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port,
    name,
    url: `redis+sentinel://127.0.0.1:${port}/${name}`,
    masterPort: masterPortNow,
    async failover() {
      const from = await masterPortNow();
      await until('sentinel found no replica in sync', async () =>
        (await linkedReplicas()).length > 0 ? true : undefined,
      );
      await admin.call('SENTINEL', 'FAILOVER', name);
      const to = await until('sentinel did not switch the master', async () => {
        const now = await masterPortNow();
        return now !== from ? now : undefined;
      });
      return { from, to };
    },
    stop,
  };
}
