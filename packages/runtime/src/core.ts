import type { FleetConfig } from '@certfleet/config';
import { InventoryError, InventoryHolder } from '@certfleet/inventory';
import { FleetStore } from '@certfleet/store';
import type { Logger } from 'pino';
import { createRedis, FleetQueues, JobName, type RedisClient } from '@certfleet/jobs';
import { refuseOn, StartError } from './start-error.js';

/** What the api and the worker both open: Redis, the store, the queues and the inventory. */
export interface FleetCore {
  redis: RedisClient;
  store: FleetStore;
  queues: FleetQueues;
  inventory: InventoryHolder;
  close(): Promise<void>;
}

/** Opens the shared parts of a process that seals or opens secrets. */
export async function openCore(config: FleetConfig, logger: Logger): Promise<FleetCore> {
  if (!config.masterKey) throw new StartError('config_missing', 'FLEET_MASTER_KEY: is required');
  const inventory = await InventoryHolder.open(config.inventoryPath).catch(
    refuseOn('inventory_invalid', InventoryError),
  );
  const redis = createRedis(config.redisUrl);
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis'));
  const store = new FleetStore(redis, {
    prefix: config.prefix,
    masterKey: config.masterKey,
    previousMasterKeys: config.previousMasterKeys,
  });
  const queues = new FleetQueues(redis, {
    prefix: config.prefix,
    retry: { [JobName.InstallTarget]: { attempts: config.retryAttempts, backoffMs: config.retryBackoffMs } },
    onError: (err) => logger.warn({ err: err.message }, 'queue'),
  });
  return {
    redis,
    store,
    queues,
    inventory,
    async close() {
      await queues.close();
      redis.disconnect();
    },
  };
}
