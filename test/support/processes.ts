/**
 * certfleet services as separate processes, the way they run in production
 * (`node --import tsx services/<name>/src/main.ts`), configured by environment only.
 * Crash tests kill them by pid (SIGKILL, SIGTERM) and start new ones.
 *
 * Also here: the files a service reads (inventory, principals, master key), a free TCP
 * port, and a small HTTP client for an API process.
 *
 * No test-framework imports: the helpers only start, watch and stop things.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { killOnExit, type ServiceFiles } from '@certfleet/test-kit';

/** The repository root: services are started from here so that workspace imports resolve. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export type ServiceName = 'api' | 'worker' | 'notifier' | 'all';

const MAINS: Record<ServiceName, string> = {
  api: 'services/api/src/main.ts',
  worker: 'services/worker/src/main.ts',
  notifier: 'services/notifier/src/main.ts',
  all: 'services/all/src/main.ts',
};

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One service running in its own process. */
export interface ServiceProcess {
  /** `worker-2`, …: names it in messages. */
  label: string;
  service: ServiceName;
  pid: number;
  /** Everything it printed so far (stdout and stderr interleaved as received). */
  output(): string;
  /** The pino JSON lines it printed so far (other lines are skipped). */
  logs(): Record<string, unknown>[];
  /** Resolves with the first output line matching `pattern`; rejects on timeout or exit. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends a signal to this process only (by pid). No-op once it has exited. */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitStatus>;
  /** Waits for the exit up to `timeoutMs`; rejects (leaving it running) when it does not exit. */
  waitExit(timeoutMs: number): Promise<ExitStatus>;
  /** True until the process has exited. */
  readonly running: boolean;
}

// ---------------------------------------------------------------------------------------
// no child outlives the test process

/** The service processes started here, for killAllServices. */
const services = new Set<ChildProcess>();

/** Kills (SIGKILL) every service process started here that is still running, and waits for them. */
export async function killAllServices(): Promise<void> {
  const children = [...services];
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

const MAX_OUTPUT = 4 * 1024 * 1024;
let counter = 0;

/**
 * Starts `services/<service>/src/main.ts` in a new Node.js process with exactly `env`
 * (plus PATH, HOME and LANG of this process): nothing of the test runner leaks into it.
 */
export function spawnService(
  service: ServiceName,
  env: Record<string, string>,
  options: { label?: string } = {},
): ServiceProcess {
  const label = options.label ?? `${service}-${++counter}`;
  const base: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG']) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', MAINS[service]], {
    cwd: REPO_ROOT,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${label}: could not be started`);
  const pid = child.pid;
  services.add(child);
  killOnExit(child);
  let text = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    if (text.length < MAX_OUTPUT) text += chunk.toString('utf8');
    for (const wake of waiters) wake();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let running = true;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      services.delete(child);
      for (const wake of waiters) wake();
      resolve({ code, signal });
    });
  });

  return {
    label,
    service,
    pid,
    exited,
    get running() {
      return running;
    },
    output: () => text,
    logs() {
      const lines: Record<string, unknown>[] = [];
      for (const line of text.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // a partial line at the end
        }
      }
      return lines;
    },
    waitForOutput(pattern, timeoutMs = 20_000) {
      return new Promise<string>((resolve, reject) => {
        const check = (): void => {
          const line = text.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) {
            done();
            resolve(line);
          } else if (!running) {
            done();
            reject(new Error(`${label} exited before printing ${pattern}: ${tail(text)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${label} did not print ${pattern} within ${timeoutMs} ms: ${tail(text)}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    kill(signal = 'SIGTERM') {
      if (!running) return;
      try {
        process.kill(pid, signal);
      } catch {
        // exited meanwhile
      }
    },
    async waitExit(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${label} (pid ${pid}) did not exit within ${timeoutMs} ms: ${tail(text)}`)),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function tail(text: string, lines = 8): string {
  return text.trim().split('\n').slice(-lines).join(' | ') || '(no output)';
}

// ---------------------------------------------------------------------------------------
// files and settings

/** The environment every service of one deployment shares. */
export function serviceEnv(
  files: ServiceFiles,
  settings: { redisUrl: string; prefix: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    REDIS_URL: settings.redisUrl,
    FLEET_PREFIX: settings.prefix,
    FLEET_MASTER_KEY: files.masterKey,
    FLEET_INVENTORY: files.inventoryPath,
    FLEET_AUTH: files.authPath,
    LOG_LEVEL: 'info',
    // The test receivers listen on loopback, which notify URLs may not reach by default.
    FLEET_NOTIFY_ALLOW: '127.0.0.0/8',
    ...extra,
  };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export { apiClient, type ApiClient, type Json } from '@certfleet/test-kit';
