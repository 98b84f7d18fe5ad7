import { Redis, type RedisOptions } from 'ioredis';

const SENTINEL_URL = /^(rediss?)\+sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)\/([^/?#]+)(?:\?(.*))?$/;

/**
 * ioredis options for a Redis URL. Besides `redis://` and `rediss://`, Sentinel is
 * written `redis+sentinel://[:password@]host:port[,host:port…]/<master name>[?db=N]`
 * (`rediss+sentinel://` for TLS); the password is the master's and the sentinels'.
 */
export function redisOptionsFromUrl(url: string): RedisOptions | string {
  const sentinel = SENTINEL_URL.exec(url);
  if (!sentinel) return url;
  const [, scheme, username, password, hosts, name, query] = sentinel;
  const sentinels = hosts!.split(',').map((hostPort) => {
    const at = hostPort.lastIndexOf(':');
    return at > 0
      ? { host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) }
      : { host: hostPort, port: 26379 };
  });
  const db = new URLSearchParams(query ?? '').get('db');
  const secret = password ? decodeURIComponent(password) : undefined;
  return {
    sentinels,
    name: decodeURIComponent(name!),
    ...(username ? { username: decodeURIComponent(username) } : {}),
    ...(secret ? { password: secret, sentinelPassword: secret } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(scheme === 'rediss' ? { tls: {}, enableTLSForSentinelMode: true } : {}),
  };
}

/** Whether a REDIS_URL is one certfleet can use (plain, TLS or Sentinel). */
export function isRedisUrl(url: string): boolean {
  return SENTINEL_URL.test(url) || /^rediss?:\/\/[^\s]+$/.test(url);
}

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
