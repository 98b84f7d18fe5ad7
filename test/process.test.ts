/**
 * The daemon as a process: `npm start`'s all-in-one main against real Redis,
 * a bad setting or file stopping the start with one line, and SIGHUP re-reading
 * the principals and the inventory (a bad file keeps the old one).
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { sha256Hex } from '@certfleet/api';
import { createRedis } from '@certfleet/jobs';
import { FleetKeys } from '@certfleet/store';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  fleetEnvironments,
  writeServiceFiles,
  type ServiceFiles,
  startFleet,
  type Fleet,
} from '@certfleet/test-kit';
import { apiClient, freePort, killAllServices, serviceEnv, spawnService } from './support/processes.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

describe('the certfleet process', () => {
  let fleet: Fleet;
  let files: ServiceFiles;
  const prefix = `proc-${randomBytes(5).toString('hex')}`;

  beforeAll(async () => {
    fleet = await startFleet({ count: 2 });
    files = await writeServiceFiles({
      environments: fleetEnvironments(fleet, { 'acme-prd': 2 }),
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
    });
  });

  afterEach(async () => {
    await killAllServices();
  });

  afterAll(async () => {
    await killAllServices();
    await fleet?.stop();
    await files?.remove();
    const redis = createRedis(REDIS_URL);
    const keys = await redis.keys(new FleetKeys(prefix).all);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it.each([
    [{ FLEET_MASTER_KEY: '' }, /^certfleet: FLEET_MASTER_KEY: is required/],
    [{ FLEET_CONCURRENCY: 'lots' }, /^certfleet: FLEET_CONCURRENCY: must be a whole number/],
    [
      { FLEET_INVENTORY: '/nonexistent/inventory.yaml' },
      /^certfleet: \/nonexistent\/inventory\.yaml: cannot read: ENOENT/,
    ],
  ])('refuses to start with %j in one line', async (extra, message) => {
    const env = serviceEnv(files, { redisUrl: REDIS_URL, prefix }, { PORT: '0', ...extra });
    const proc = spawnService('all', env);
    const status = await proc.waitExit(30_000);
    expect(status.code).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it('runs api, worker and notifier in one process, reloads on SIGHUP, and stops on SIGTERM', async () => {
    const port = await freePort();
    const proc = spawnService(
      'all',
      serviceEnv(files, { redisUrl: REDIS_URL, prefix }, { PORT: String(port) }),
    );
    const api = apiClient(`http://127.0.0.1:${port}`, files.tokens);
    await api.waitUntilUp(30_000);

    // A new principal's token works after SIGHUP; the old ones still do.
    const token = `cf_${randomBytes(12).toString('hex')}`;
    const principals = Object.entries(files.tokens).map(([name, t]) => ({
      name,
      roles: name === 'bob' ? ['approver'] : name === 'carol' ? ['admin'] : ['operator', 'approver'],
      tokenSha256: sha256Hex(t),
    }));
    expect((await api.request(token, 'GET', '/v1/environments')).status).toBe(401);
    await writeFile(
      files.authPath,
      stringify({
        principals: [...principals, { name: 'dave', roles: ['operator'], tokenSha256: sha256Hex(token) }],
      }),
    );
    proc.kill('SIGHUP');
    await proc.waitForOutput(/reloaded on SIGHUP/, 15_000);
    expect((await api.request(token, 'GET', '/v1/environments')).status).toBe(200);

    // The inventory too: one environment more after SIGHUP.
    await files.writeInventory(fleetEnvironments(fleet, { 'acme-prd': 1, 'acme-qa': 1 }));
    proc.kill('SIGHUP');
    await expect
      .poll(
        async () =>
          (await api.request('bob', 'GET', '/v1/environments')).body.map((e: { name: string }) => e.name),
        {
          timeout: 15_000,
        },
      )
      .toEqual(['acme-prd', 'acme-qa']);

    // A bad principals file is refused and the old one stays in force.
    await writeFile(files.authPath, 'principals: [ { name: broken } ]');
    proc.kill('SIGHUP');
    await proc.waitForOutput(/reload refused, the old files stay in force/, 15_000);
    expect((await api.request(token, 'GET', '/v1/environments')).status).toBe(200);

    proc.kill('SIGTERM');
    const status = await proc.waitExit(15_000);
    expect(status).toEqual({ code: 0, signal: null });
  });
});
