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

/** `host[:port]`; undefined when the port is not a TCP port. */
function node(hostPort: string, defaultPort: number): RedisNode | undefined {
  const at = hostPort.lastIndexOf(':');
  if (at <= 0) return { host: hostPort, port: defaultPort };
  const port = Number(hostPort.slice(at + 1));
  return Number.isInteger(port) && port > 0 && port < 65536
    ? { host: hostPort.slice(0, at), port }
    : undefined;
}

/** decodeURIComponent that answers undefined for bad percent-encoding instead of throwing. */
function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** One reader per topology after the `+`; a new form (e.g. `cluster`) is one more entry. */
const TOPOLOGIES: Record<string, (rest: string, tls: boolean) => RedisTarget | undefined> = {
  sentinel(rest, tls) {
    const m = SENTINEL.exec(rest);
    if (!m) return undefined;
    const [, username, password, hosts, name, query] = m;
    const db = new URLSearchParams(query ?? '').get('db');
    const sentinels = hosts!.split(',').map((h) => node(h, SENTINEL_PORT));
    const [master, user, secret] = [name!, username, password].map((t) => (t ? decoded(t) : ''));
    if (sentinels.some((n) => n === undefined) || master === undefined || user === undefined)
      return undefined;
    if (secret === undefined || (db !== null && !/^[0-9]{1,2}$/.test(db))) return undefined;
    return {
      kind: 'sentinel',
      tls,
      sentinels: sentinels as RedisNode[],
      name: master,
      ...(user ? { username: user } : {}),
      ...(secret ? { password: secret } : {}),
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
