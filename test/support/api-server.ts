/**
 * The API alone, listening on loopback against the real Redis, for tests of the
 * HTTP layer (no worker, no notifier, no front-end is ever reached).
 */
import { randomBytes } from 'node:crypto';
import { startApi, type RunningApi } from '@certfleet/api';
import { loadConfig, type FleetConfig } from '@certfleet/config';
import { createRedis, deletePrefixKeys } from '@certfleet/jobs';
import { pino } from 'pino';
import { writeServiceFiles, type HarnessEnvironment } from '@certfleet/test-kit';

export interface ApiServer {
  url: string;
  port: number;
  config: FleetConfig;
  running: RunningApi;
  tokens: Record<string, string>;
  stop(): Promise<void>;
}

/** `http-prd`: one linux front-end that is never contacted (its host key only has the right form). */
export const HTTP_ENVIRONMENT: HarnessEnvironment = {
  name: 'http-prd',
  platform: 'linux',
  installDir: '/srv/fleet-certs',
  hosts: [
    {
      name: 'fe-1',
      address: '127.0.0.1',
      port: 9,
      hostKeyLine: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${'A'.repeat(43)}`,
    },
  ],
};

/** Starts the API with one environment, `http-prd`, whose only front-end is never contacted. */
export async function startApiServer(env: Record<string, string> = {}): Promise<ApiServer> {
  const files = await writeServiceFiles({
    environments: [HTTP_ENVIRONMENT],
    username: 'fleet',
    privateKeyPath: '/nonexistent/id_ed25519',
  });
  const config = loadConfig({
    REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    FLEET_PREFIX: `test-${randomBytes(6).toString('hex')}`,
    FLEET_MASTER_KEY: files.masterKey,
    FLEET_INVENTORY: files.inventoryPath,
    FLEET_AUTH: files.authPath,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'silent',
    ...env,
  });
  const running = await startApi(config, pino({ level: config.logLevel }));
  const { port } = new URL(running.url);
  return {
    url: running.url,
    port: Number(port),
    config,
    running,
    tokens: files.tokens,
    async stop() {
      await running.close();
      const redis = createRedis(config.redisUrl);
      await deletePrefixKeys(redis, config.prefix);
      redis.disconnect();
      await files.remove();
    },
  };
}
