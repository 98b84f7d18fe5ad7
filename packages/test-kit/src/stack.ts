/**
 * A whole certfleet on one machine for tests and the demo: inventory and
 * principals files, configuration, the services in-process, an HTTP client and
 * a webhook receiver. Nothing here mocks Redis, BullMQ or SSH.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sha256Hex } from '@certfleet/api';
import { loadConfig, type FleetConfig } from '@certfleet/config';
import { startAll, type RunningAll } from '@certfleet/all';
import { pino, type Logger } from 'pino';
import { stringify } from 'yaml';
import { apiClient } from './api-client.js';

export interface HarnessHost {
  name: string;
  address: string;
  port: number;
  hostKeyLine: string;
}

export interface HarnessEnvironment {
  name: string;
  platform: 'linux' | 'windows';
  installDir: string;
  owner?: string;
  /** Windows: keyReaders, keyProvider as in the inventory. */
  windows?: { keyReaders?: string[]; keyProvider?: string };
  /** `retain` and `repair` as in the inventory (README: Keeping environments right). */
  retain?: boolean;
  repair?: 'auto' | 'approve';
  /** Maintenance windows as the inventory writes them (README: Maintenance windows). */
  maintenanceWindows?: Record<string, unknown>[];
  /** `rollout` and `canary` as in the inventory (README: Canary rollout). */
  rollout?: 'all' | 'canary';
  canary?: { continue: 'approve' | 'auto' };
  hosts: HarnessHost[];
}

export interface HarnessPrincipal {
  name: string;
  roles: ('operator' | 'approver' | 'admin')[];
}

export interface StackOptions {
  environments: HarnessEnvironment[];
  username: string;
  privateKeyPath: string;
  principals?: HarnessPrincipal[];
  /** Extra environment variables (FLEET_*), over the harness defaults. */
  env?: Record<string, string>;
  logger?: Logger;
  /** false: no worker in this process (run one elsewhere with `Stack.env`). Default true. */
  worker?: boolean;
  /** The clock of the expiry watch, its check route, its metric and maintenance windows (the system clock when absent). */
  clock?: () => Date;
}

export const DEFAULT_PRINCIPALS: HarnessPrincipal[] = [
  { name: 'alice', roles: ['operator', 'approver'] },
  { name: 'bob', roles: ['approver'] },
  { name: 'carol', roles: ['admin'] },
  { name: 'ticket-bot', roles: ['operator'] },
];

export interface Stack {
  dir: string;
  config: FleetConfig;
  /** The environment the services were configured from: another process with it joins this deployment. */
  env: Record<string, string>;
  running: RunningAll;
  url: string;
  tokens: Record<string, string>;
  inventoryPath: string;
  logger: Logger;
  /** Calls the API as a principal (or anonymously). */
  request(
    principal: string | null,
    method: string,
    route: string,
    body?: unknown,
  ): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Polls a job until its status is final. */
  waitForJob(id: string, timeoutMs?: number, onUpdate?: (job: any) => void): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  writeInventory(environments: HarnessEnvironment[]): Promise<void>;
  stop(): Promise<void>;
}

export function inventoryYaml(
  environments: HarnessEnvironment[],
  username: string,
  privateKeyPath: string,
): string {
  return stringify({
    defaults: { ssh: { username, port: 22, privateKeyPath } },
    environments: environments.map((e) => ({
      name: e.name,
      platform: e.platform,
      installDir: e.installDir,
      ...(e.owner ? { owner: e.owner } : {}),
      ...(e.windows ? { windows: e.windows } : {}),
      ...(e.retain === undefined ? {} : { retain: e.retain }),
      ...(e.repair ? { repair: e.repair } : {}),
      ...(e.maintenanceWindows ? { maintenanceWindows: e.maintenanceWindows } : {}),
      ...(e.rollout ? { rollout: e.rollout } : {}),
      ...(e.canary ? { canary: e.canary } : {}),
      frontEnds: e.hosts.map((h) => ({
        name: h.name,
        host: h.address,
        port: h.port,
        hostKey: h.hostKeyLine,
      })),
    })),
  });
}

/** The files a service process reads, in a temporary directory of their own. */
export interface ServiceFiles {
  dir: string;
  inventoryPath: string;
  authPath: string;
  /** Bearer token per principal name. */
  tokens: Record<string, string>;
  /** FLEET_MASTER_KEY (base64 of 32 bytes). */
  masterKey: string;
  /** Rewrites the inventory (services re-read it on SIGHUP or POST /v1/inventory/reload). */
  writeInventory(environments: HarnessEnvironment[]): Promise<void>;
  /** Removes the directory. */
  remove(): Promise<void>;
}

export interface ServiceFilesOptions {
  environments: HarnessEnvironment[];
  username: string;
  privateKeyPath: string;
  principals?: HarnessPrincipal[];
}

/** Writes inventory and principals files and makes a master key and a token per principal. */
export async function writeServiceFiles(options: ServiceFilesOptions): Promise<ServiceFiles> {
  const dir = await mkdtemp(path.join(tmpdir(), 'certfleet-files-'));
  const principals = options.principals ?? DEFAULT_PRINCIPALS;
  const tokens: Record<string, string> = {};
  for (const p of principals) tokens[p.name] = `cf_${randomBytes(18).toString('base64url')}`;
  const authPath = path.join(dir, 'auth.yaml');
  await writeFile(
    authPath,
    stringify({ principals: principals.map((p) => ({ ...p, tokenSha256: sha256Hex(tokens[p.name]!) })) }),
  );
  const inventoryPath = path.join(dir, 'inventory.yaml');
  const writeInventory = (envs: HarnessEnvironment[]): Promise<void> =>
    writeFile(inventoryPath, inventoryYaml(envs, options.username, options.privateKeyPath));
  await writeInventory(options.environments);
  return {
    dir,
    inventoryPath,
    authPath,
    tokens,
    masterKey: randomBytes(32).toString('base64'),
    writeInventory,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A fleet's hosts as environments: `{ 'acme-prd': 2, 'acme-qa': 1 }` takes the hosts in order, named fe-1, fe-2, … */
export function fleetEnvironments(
  fleet: { installDir: string; hosts: { address: string; port: number; hostKeyLine: string }[] },
  layout: Record<string, number>,
  platform: 'linux' | 'windows' = 'linux',
): HarnessEnvironment[] {
  let next = 0;
  return Object.entries(layout).map(([name, count]) => ({
    name,
    platform,
    installDir: fleet.installDir,
    hosts: fleet.hosts.slice(next, (next += count)).map((h, i) => ({
      name: `fe-${i + 1}`,
      address: h.address,
      port: h.port,
      hostKeyLine: h.hostKeyLine,
    })),
  }));
}

/** Starts api + worker + notifier in this process against real Redis and the given front-ends. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const files = await writeServiceFiles(options);
  const { dir, tokens, inventoryPath, authPath, writeInventory } = files;
  const principals = options.principals ?? DEFAULT_PRINCIPALS;
  const env: Record<string, string> = {
    REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    FLEET_PREFIX: `test-${randomBytes(6).toString('hex')}`,
    FLEET_MASTER_KEY: files.masterKey,
    FLEET_INVENTORY: inventoryPath,
    FLEET_AUTH: authPath,
    FLEET_RETRY_ATTEMPTS: '2',
    FLEET_RETRY_BACKOFF_MS: '200',
    FLEET_LOCK_DURATION_MS: '5000',
    PORT: '0',
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'silent',
    // The test receivers listen on loopback, which notify URLs may not reach by default.
    FLEET_NOTIFY_ALLOW: '127.0.0.0/8',
    ...options.env,
  };
  const config = loadConfig(env);
  const logger = options.logger ?? pino({ level: config.logLevel });
  const running = await startAll(config, logger, {
    worker: options.worker !== false,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const url = running.api.url;

  const client = apiClient(url, tokens, principals[0]!.name);
  const request: Stack['request'] = client.request;
  const waitForJob: Stack['waitForJob'] = (id, timeoutMs = 90_000, onUpdate) =>
    client.waitForJob(id, { timeoutMs, intervalMs: 150, ...(onUpdate ? { onUpdate } : {}) });

  return {
    dir,
    config,
    env,
    running,
    url,
    tokens,
    inventoryPath,
    logger,
    request,
    waitForJob,
    writeInventory,
    async stop() {
      await running.close();
      const { createRedis, deletePrefixKeys } = await import('@certfleet/jobs');
      const redis = createRedis(config.redisUrl);
      // Leave nothing of this run in the shared Redis (on a Cluster too: the master of the slot).
      await deletePrefixKeys(redis, config.prefix);
      redis.disconnect();
      await files.remove();
    },
  };
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  received: ReceivedRequest[];
  /** Answers with this status (default 200). */
  respondWith(status: number): void;
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

/** A real HTTP receiver on loopback that records what it gets. */
export async function startReceiver(): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  let status = 200;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.statusCode = status;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    respondWith(s) {
      status = s;
    },
    async waitFor(count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`receiver got ${received.length} of ${count} requests`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
