import { Redis, type RedisOptions } from 'ioredis';
import { redisOptionsFromUrl } from './redis-url.js';

/** One ioredis connection; BullMQ workers need maxRetriesPerRequest: null. */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    // Reconnect forever with a capped backoff: Redis restarts must not kill the daemon.
    retryStrategy: (times) => Math.min(times * 200, 5000),
    ...options,
  };
  const target = redisOptionsFromUrl(url);
  return typeof target === 'string' ? new Redis(target, common) : new Redis({ ...target, ...common });
}
