import type { FleetConfig } from '@certfleet/config';
import type { Running } from '@certfleet/runtime';
import { duplicateRedis, JobName } from '@certfleet/jobs';
import { openCore } from '@certfleet/runtime';
import type { Logger } from 'pino';
import { createWorkers, type FleetWorkers } from './workers.js';

export interface RunningWorker extends Running {
  workers: FleetWorkers;
}

/** What a test may give a worker instead of the system's. */
export interface WorkerOptions {
  /** The expiry watch's clock. */
  clock?: () => Date;
}

/** The id of the daily expiry watch's BullMQ job scheduler. */
export const EXPIRY_WATCH_SCHEDULER = 'expiry-watch-daily';

/** Starts the install workers; close() stops taking work and waits for running targets. */
export async function startWorker(
  config: FleetConfig,
  logger: Logger,
  options: WorkerOptions = {},
): Promise<RunningWorker> {
  const { redis, store, queues, inventory, ...core } = await openCore(config, logger);
  const workers = createWorkers({
    config,
    store,
    queues,
    connection: redis,
    inventory: () => inventory.current,
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const onHup = (): void => {
    inventory
      .reload()
      .then((inv) => logger.info({ environments: inv.environments.length }, 'inventory reloaded'))
      .catch((err: Error) =>
        logger.error(`reload refused, the old inventory stays in force: ${err.message}`),
      );
  };
  workers.start();
  // every worker sets the same daily schedule: FLEET_EXPIRY_CHECK_AT, the newest start's wins
  await queues.scheduleDaily(JobName.ExpiryWatch, EXPIRY_WATCH_SCHEDULER, config.expiryCheckAt, {});
  process.on('SIGHUP', onHup);
  const subscriber = duplicateRedis(redis);
  subscriber.on('error', (err) => logger.warn({ err: err.message }, 'redis subscriber'));
  await subscriber.subscribe(store.keys.inventoryChannel);
  subscriber.on('message', onHup);
  return {
    workers,
    async close() {
      process.off('SIGHUP', onHup);
      subscriber.disconnect();
      await workers.close();
      await core.close();
    },
  };
}
