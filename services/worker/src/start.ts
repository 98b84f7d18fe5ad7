import { StartError, type FleetConfig, type Running } from '@certfleet/config';
import { InventoryHolder } from '@certfleet/inventory';
import { FleetQueues, createRedis, inventoryChannel } from '@certfleet/jobs';
import { FleetStore } from '@certfleet/store';
import type { Logger } from 'pino';
import { createWorkers, type FleetWorkers } from './app.js';

export interface RunningWorker extends Running {
  workers: FleetWorkers;
}

/** Starts the install workers; close() stops taking work and waits for running targets. */
export async function startWorker(config: FleetConfig, logger: Logger): Promise<RunningWorker> {
  if (!config.masterKey) throw new StartError('FLEET_MASTER_KEY: is required');
  const inventory = await InventoryHolder.open(config.inventoryPath);
  const redis = createRedis(config.redisUrl);
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis'));
  const store = new FleetStore(redis, {
    prefix: config.prefix,
    masterKey: config.masterKey,
    previousMasterKeys: config.previousMasterKeys,
  });
  const queues = new FleetQueues(redis, {
    prefix: config.prefix,
    attempts: config.retryAttempts,
    backoffMs: config.retryBackoffMs,
    onError: (err) => logger.warn({ err: err.message }, 'queue'),
  });
  const workers = createWorkers({
    config,
    store,
    queues,
    connection: redis,
    inventory: () => inventory.current,
    logger,
  });
  const onHup = (): void => {
    inventory
      .reload()
      .then((inv) => logger.info({ environments: inv.environments.length }, 'inventory reloaded'))
      .catch((err: Error) =>
        logger.error(`reload refused, the old inventory stays in force: ${err.message}`),
      );
  };
  process.on('SIGHUP', onHup);
  const subscriber = redis.duplicate();
  subscriber.on('error', (err) => logger.warn({ err: err.message }, 'redis subscriber'));
  await subscriber.subscribe(inventoryChannel(config.prefix));
  subscriber.on('message', onHup);
  return {
    workers,
    async close() {
      process.off('SIGHUP', onHup);
      subscriber.disconnect();
      await workers.close();
      await queues.close();
      redis.disconnect();
    },
  };
}
