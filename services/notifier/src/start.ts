import type { FleetConfig } from '@certfleet/config';
import type { Running } from '@certfleet/runtime';
import { createRedis } from '@certfleet/jobs';
import { FleetStore } from '@certfleet/store';
import type { Logger } from 'pino';
import { createNotifier, type FleetNotifier } from './notify-worker.js';

export interface RunningNotifier extends Running {
  notifier: FleetNotifier;
}

/** Starts the notify worker; it needs no master key (reports hold no secret). */
export async function startNotifier(config: FleetConfig, logger: Logger): Promise<RunningNotifier> {
  const redis = createRedis(config.redisUrl);
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis'));
  const store = new FleetStore(redis, { prefix: config.prefix });
  const notifier = createNotifier({ config, store, connection: redis, logger });
  notifier.start();
  return {
    notifier,
    async close() {
      await notifier.close();
      redis.disconnect();
    },
  };
}
