import type { RedisOptions } from 'ioredis';

/** One Redis host as `host:port`. */
export interface RedisNode {
  host: string;
  port: number;
}

/** What a REDIS_URL names: one server (plain or TLS) or a Sentinel-watched master. */
export type RedisTarget =
  | { kind: 'plain' | 'tls'; url: string }
  | {
      kind: 'sentinel';
      tls: boolean;
      sentinels: RedisNode[];
      /** The master's name as the sentinels know it. */
      name: string;
      username?: string;
      /** The master's and the sentinels' password. */
      password?: string;
      db?: number;
    };

/** `redis` or `rediss` (TLS), then an optional `+<topology>`, then what that topology reads. */
const SCHEME = /^(rediss?)(?:\+([a-z]+))?:\/\/(.*)$/;
const SERVER = /^[^\s]+$/;
const SENTINEL = /^(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)\/([^/?#]+)(?:\?(.*))?$/;
const SENTINEL_PORT = 26379;

function node(hostPort: string, defaultPort: number): RedisNode {
  const at = hostPort.lastIndexOf(':');
  return at > 0
    ? { host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) }
    : { host: hostPort, port: defaultPort };
}

/** One reader per topology after the `+`; a new form (e.g. `cluster`) is one more entry. */
const TOPOLOGIES: Record<string, (rest: string, tls: boolean) => RedisTarget | undefined> = {
  sentinel(rest, tls) {
    const m = SENTINEL.exec(rest);
    if (!m) return undefined;
    const [, username, password, hosts, name, query] = m;
    const db = new URLSearchParams(query ?? '').get('db');
    return {
      kind: 'sentinel',
      tls,
      sentinels: hosts!.split(',').map((h) => node(h, SENTINEL_PORT)),
      name: decodeURIComponent(name!),
      ...(username ? { username: decodeURIComponent(username) } : {}),
      ...(password ? { password: decodeURIComponent(password) } : {}),
      ...(db ? { db: Number(db) } : {}),
    };
  },
};

/**
 * Reads a Redis URL: `redis://` and `rediss://` as ioredis takes them, and Sentinel
 * written `redis+sentinel://[:password@]host:port[,host:port…]/<master name>[?db=N]`
 * (`rediss+sentinel://` for TLS). Undefined when it is none of these.
 */
export function parseRedisUrl(url: string): RedisTarget | undefined {
  const m = SCHEME.exec(url);
  if (!m) return undefined;
  const [, scheme, topology, rest] = m;
  const tls = scheme === 'rediss';
  if (topology === undefined) {
    return SERVER.test(rest!) ? { kind: tls ? 'tls' : 'plain', url } : undefined;
  }
  return Object.hasOwn(TOPOLOGIES, topology) ? TOPOLOGIES[topology]!(rest!, tls) : undefined;
}

/** Whether a REDIS_URL is one certfleet can use (plain, TLS or Sentinel). */
export function isRedisUrl(url: string): boolean {
  return parseRedisUrl(url) !== undefined;
}

/** ioredis options for a Redis URL: the URL itself for one server, options for Sentinel. */
export function redisOptionsFromUrl(url: string): RedisOptions | string {
  const target = parseRedisUrl(url);
  if (target?.kind !== 'sentinel') return url;
  const { sentinels, name, username, password, db, tls } = target;
  return {
    sentinels,
    name,
    ...(username ? { username } : {}),
    ...(password ? { password, sentinelPassword: password } : {}),
    ...(db === undefined ? {} : { db }),
    ...(tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
  };
}
