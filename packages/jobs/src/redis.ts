import { keyPrefix, type RedisClient } from '@certfleet/store';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { redisConnectionFromUrl } from '@certfleet/config';

export type { RedisClient };

/** Reconnect forever with a capped backoff: Redis restarts and failovers must not kill the daemon. */
const reconnect = (times: number): number => Math.min(times * 200, 5000);

/**
 * One ioredis connection for a REDIS_URL; BullMQ workers need maxRetriesPerRequest: null.
 * `options` are a single server's; for a Cluster, `lazyConnect`, `enableReadyCheck` and
 * `retryStrategy` apply to the cluster as a whole and the rest to each node.
 */
export function createRedis(url: string, options: RedisOptions = {}): RedisClient {
  const common: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: reconnect,
    ...options,
  };
  const spec = redisConnectionFromUrl(url);
  if (!spec.cluster) {
    return typeof spec.options === 'string'
      ? new Redis(spec.options, common)
      : new Redis({ ...spec.options, ...common });
  }
  const { lazyConnect, enableReadyCheck, retryStrategy, ...perNode } = common;
  return new Cluster(spec.nodes, {
    ...spec.options,
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    ...(enableReadyCheck === undefined ? {} : { enableReadyCheck }),
    clusterRetryStrategy: retryStrategy ?? null,
    redisOptions: { ...spec.options.redisOptions, ...perNode },
  });
}

/** A second connection like `redis` (SUBSCRIBE takes a connection for itself). */
export function duplicateRedis(redis: RedisClient): RedisClient {
  return redis instanceof Cluster ? redis.duplicate() : redis.duplicate();
}

/**
 * Every key under `{prefix}`: SCAN on the one server, or on every master of a Cluster
 * (the hash tag puts them all in one slot, so one master holds them; a plain SCAN on a
 * Cluster client would read one arbitrary node). For tests and maintenance, not hot paths.
 */
export async function prefixKeys(redis: RedisClient, prefix: string): Promise<string[]> {
  // A command routed by the slot waits until a Cluster client knows its masters.
  await redis.exists(keyPrefix(prefix));
  const servers = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const keys: string[] = [];
  for (const server of servers) {
    let cursor = '0';
    do {
      const [next, batch] = await server.scan(cursor, 'MATCH', `${keyPrefix(prefix)}:*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return [...new Set(keys)];
}

/** Deletes every key under `{prefix}` (one slot, so multi-key DEL works on a Cluster too). */
export async function deletePrefixKeys(redis: RedisClient, prefix: string): Promise<number> {
  const keys = await prefixKeys(redis, prefix);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  return keys.length;
}
