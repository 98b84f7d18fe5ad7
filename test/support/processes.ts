/**
 * certfleet services as separate processes, configured by environment only: from their
 * TypeScript (`node --import tsx --conditions=source services/<name>/src/main.ts`), or compiled
 * (`node services/<name>/dist/main.js`, as `npm start` runs them in production).
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
import {
  fleetEnvironments,
  killOnExit,
  startFleet,
  writeServiceFiles,
  type Fleet,
  type ServiceFiles,
} from '@certfleet/test-kit';

/** The repository root: services are started from here so that workspace imports resolve. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export type ServiceName = 'api' | 'worker' | 'notifier' | 'all';

/**
 * Node.js arguments that run a workspace's TypeScript: tsx's loader, and the `source` export
 * condition so that `@certfleet/*` imports resolve to `src/` rather than to the compiled `dist/`.
 */
export const SOURCE_NODE_ARGS = ['--import', 'tsx', '--conditions=source'] as const;

/** How spawnService starts a service. */
export interface SpawnOptions {
  /** `worker-2`, …: names it in messages. */
  label?: string;
  /** Runs `dist/main.js` under plain Node.js (as `npm start` does) instead of `src/main.ts` under tsx. */
  compiled?: boolean;
  /** More Node.js options, before the entry point. */
  nodeArgs?: string[];
}

/** The command line (after the Node.js binary) that starts `service`. */
function serviceArgs(service: ServiceName, options: SpawnOptions): string[] {
  const entry = options.compiled
    ? [`services/${service}/dist/main.js`]
    : [...SOURCE_NODE_ARGS, `services/${service}/src/main.ts`];
  return [...(options.nodeArgs ?? []), ...entry];
}

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
 * Starts `services/<service>/src/main.ts` (or, with `compiled`, `dist/main.js` under plain
 * Node.js) in a new process of this same Node.js (process.execPath) with exactly `env` (plus
 * PATH, HOME and LANG of this process): nothing of the test runner leaks into it.
 */
export function spawnService(
  service: ServiceName,
  env: Record<string, string>,
  options: SpawnOptions = {},
): ServiceProcess {
  const label = options.label ?? `${service}-${++counter}`;
  const base: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG']) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  const child = spawn(process.execPath, serviceArgs(service, options), {
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

/** One real sshd front-end, and the files a service reads with it as environment `environment`. */
export interface OneHostDeployment {
  fleet: Fleet;
  files: ServiceFiles;
  /** Stops the host and removes the files. */
  stop(): Promise<void>;
}

/** Starts one sshd front-end and writes the inventory (one environment), principals and master key. */
export async function oneHostDeployment(environment: string): Promise<OneHostDeployment> {
  const fleet = await startFleet({ count: 1 });
  const environments = fleetEnvironments(fleet, { [environment]: 1 });
  const files = await writeServiceFiles({
    environments,
    username: fleet.username,
    privateKeyPath: fleet.clientKeyPath,
  });
  return {
    fleet,
    files,
    async stop() {
      await fleet.stop();
      await files.remove();
    },
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
