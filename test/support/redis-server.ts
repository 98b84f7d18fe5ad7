/**
 * A private `redis-server` for tests that restart Redis: its own port and directory,
 * append-only file on with fsync at every write, so that a restart keeps everything
 * the way a production Redis (AOF on) does. The shared Redis on 6379 is never touched.
 *
 * No test-framework imports: this only starts, restarts and stops one process, by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './processes.js';
import { killOnExit } from '@certfleet/test-kit';

const REDIS_SERVER = 'redis-server';
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Holds the append-only file; removed by stop(). */
  dir: string;
  /** Pid of the running redis-server, undefined while it is down. */
  readonly pid: number | undefined;
  /** What redis-server printed (all runs). */
  output(): string;
  /** SIGTERM (Redis flushes the AOF and exits), wait for the exit, then start again on the same port and directory. */
  restart(options?: { downMs?: number }): Promise<{ downMs: number }>;
  /** SIGTERM and wait: Redis is down until start(). */
  shutdown(): Promise<void>;
  /** Starts again on the same port and directory; resolves once it answers PING (the AOF is loaded). */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  stop(): Promise<void>;
}

/** True once `+PONG` comes back (not `-LOADING`, not refused). */
export function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('utf8');
      if (answer.includes('\r\n')) finish(answer.startsWith('+PONG'));
    });
  });
}

/** Starts a private redis-server with AOF (`appendfsync always`) on a free port; `args` add to its command line (e.g. `--replicaof`). */
export async function startRedisServer(options: { args?: string[] } = {}): Promise<RedisServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'certfleet-redis-'));
  let port = 0;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let text = '';

  const launch = async (): Promise<void> => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
      '--protected-mode',
      'no',
      '--daemonize',
      'no',
      ...(options.args ?? []),
    ];
    const proc = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(proc);
    const onData = (chunk: Buffer): void => {
      if (text.length < 1024 * 1024) text += chunk.toString('utf8');
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    let gone = false;
    exited = new Promise<void>((resolve) => {
      proc.once('exit', () => {
        gone = true;
        resolve();
      });
    });
    proc.once('error', (err) => {
      text += `\nspawn error: ${err.message}\n`;
    });
    child = proc;
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (gone)
        throw new Error(`redis-server exited at start: ${text.trim().split('\n').slice(-3).join(' | ')}`);
      if (await redisPing(port)) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`redis-server did not answer on port ${port} within ${START_TIMEOUT_MS} ms`);
      }
      await sleep(20);
    }
  };

  const shutdown = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined) return;
    proc.kill('SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), sleep(STOP_TIMEOUT_MS).then(() => false)]);
    if (!stopped) {
      proc.kill('SIGKILL');
      await exited;
    }
    child = undefined;
  };

  // A port found free can be taken before redis binds it: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      if (attempt >= 4) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get pid() {
      return child?.pid;
    },
    output: () => text,
    shutdown,
    start: launch,
    async restart(options = {}) {
      const started = Date.now();
      await shutdown();
      if (options.downMs) await sleep(options.downMs);
      await launch();
      return { downMs: Date.now() - started };
    },
    async stop() {
      await shutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
