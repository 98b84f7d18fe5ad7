import type { FleetConfig } from '@certfleet/config';
import type { Running } from '@certfleet/runtime';
import { duplicateRedis, JobName } from '@certfleet/jobs';
import { openCore } from '@certfleet/runtime';
import type { Logger } from 'pino';
import { scheduleDriftChecks } from './drift-schedule.js';
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
  const schedule = (): Promise<void> =>
    scheduleDriftChecks(queues, inventory.current, config.driftIntervalMs).catch((err: Error) =>
      logger.error({ err: err.message }, 'drift check schedules not updated'),
    );
  const onHup = (): void => {
    inventory
      .reload()
      .then(async (inv) => {
        logger.info({ environments: inv.environments.length }, 'inventory reloaded');
        await schedule();
        // reconcile: a front-end the reload added gets the certificates it lacks
        await queues
          .add(JobName.Reconcile, { trigger: 'reload', requestedAt: new Date().toISOString() })
          .catch((err: Error) => logger.warn({ err: err.message }, 'reconcile after the reload not queued'));
      })
      .catch((err: Error) =>
        logger.error(`reload refused, the old inventory stays in force: ${err.message}`),
      );
  };
  workers.start();
  await schedule();
  await queues.scheduleReconcile(config.reconcileIntervalMs);
  if (config.previousMasterKeys.length > 0) {
    // a master-key rotation: retained secrets move to the new key now, not at the next reconcile
    store.retained
      .resealAll()
      .then((n) => logger.info({ resealed: n }, 'retained secrets sealed under the current master key'))
      .catch((err: Error) => logger.warn({ err: err.message }, 'retained secrets not re-sealed'));
  }
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
