import type { FleetConfig } from '@certfleet/config';
import type { Running } from '@certfleet/runtime';
import { createRedis } from '@certfleet/jobs';
import { FleetStore } from '@certfleet/store';
import type { Logger } from 'pino';
import { createNotifier, type FleetNotifier } from './notify-worker.js';
import { AdaptersError, loadAdapters } from '@certfleet/helpdesk';
import { refuseOn } from '@certfleet/runtime';

export interface RunningNotifier extends Running {
  notifier: FleetNotifier;
}

/** Starts the notify worker; it needs no master key (reports hold no secret). */
export async function startNotifier(config: FleetConfig, logger: Logger): Promise<RunningNotifier> {
  // Help desks: a ticket's internal note goes through its instance (README: Help desks)
  const adapters = await loadAdapters(config.adaptersPath).catch(refuseOn('adapters_invalid', AdaptersError));
  const redis = createRedis(config.redisUrl);
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis'));
  const store = new FleetStore(redis, { prefix: config.prefix });
  const notifier = createNotifier({ config, store, connection: redis, logger, adapters });
  notifier.start();
  return {
    notifier,
    async close() {
      await notifier.close();
      redis.disconnect();
    },
  };
}
