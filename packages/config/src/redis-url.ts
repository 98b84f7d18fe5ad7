import type { ClusterOptions, RedisOptions } from 'ioredis';

/** One Redis host as `host:port`. */
export interface RedisNode {
  host: string;
  port: number;
}

/** What a REDIS_URL names: one server (plain or TLS), a Sentinel-watched master or a Cluster. */
export type RedisTarget =
  | { kind: 'plain' | 'tls'; url: string }
  | {
      kind: 'cluster';
      tls: boolean;
      /** Seed nodes: any reachable one tells the client the whole cluster's layout. */
      nodes: RedisNode[];
      username?: string;
      /** Every node's password. */
      password?: string;
    }
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
const CLUSTER = /^(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#\s]+)\/?$/;
const REDIS_PORT = 6379;

/** The written form of each topology, for the one-line error of a bad REDIS_URL. */
export const REDIS_URL_FORMS = {
  sentinel: 'redis+sentinel://[:password@]host:port[,host:port…]/<master name>[?db=N]',
  cluster: 'redis+cluster://[:password@]host:port[,host:port…]',
} as const;

/** `host[:port]`; undefined when the host is blank or the port is not a TCP port. */
function node(hostPort: string, defaultPort: number): RedisNode | undefined {
  // `[v6]:port` or `[v6]`: the brackets are URL syntax, ioredis wants the bare address
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::([0-9]{1,5}))?$/.exec(hostPort);
  const plain = bracketed ? undefined : /^([^\s,:[\]]+)(?::([0-9]{1,5}))?$/.exec(hostPort);
  const match = bracketed ?? plain;
  if (!match) return undefined;
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  return port > 0 && port < 65536 ? { host: match[1]!, port } : undefined;
}

/** decodeURIComponent that answers undefined for bad percent-encoding instead of throwing. */
function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** The `user:password@` and `host:port,…` parts both multi-host forms share; undefined when one is bad. */
function hostsAndCredentials(
  username: string | undefined,
  password: string | undefined,
  hosts: string,
  defaultPort: number,
): { nodes: RedisNode[]; username?: string; password?: string } | undefined {
  const nodes = hosts.split(',').map((h) => node(h, defaultPort));
  const [user, secret] = [username, password].map((t) => (t ? decoded(t) : ''));
  if (nodes.some((n) => n === undefined) || user === undefined || secret === undefined) return undefined;
  return {
    nodes: nodes as RedisNode[],
    ...(user ? { username: user } : {}),
    ...(secret ? { password: secret } : {}),
  };
}

/** One reader per topology after the `+`; a new form is one more entry. */
const TOPOLOGIES: Record<string, (rest: string, tls: boolean) => RedisTarget | undefined> = {
  sentinel(rest, tls) {
    const m = SENTINEL.exec(rest);
    if (!m) return undefined;
    const [, username, password, hosts, name, query] = m;
    const db = new URLSearchParams(query ?? '').get('db');
    const read = hostsAndCredentials(username, password, hosts!, SENTINEL_PORT);
    const master = decoded(name!);
    if (read === undefined || master === undefined) return undefined;
    if (db !== null && !/^[0-9]{1,2}$/.test(db)) return undefined;
    const { nodes, ...credentials } = read;
    return {
      kind: 'sentinel',
      tls,
      sentinels: nodes,
      name: master,
      ...credentials,
      ...(db ? { db: Number(db) } : {}),
    };
  },
  // A cluster has one database only, so there is no `/db` and no query.
  cluster(rest, tls) {
    const m = CLUSTER.exec(rest);
    if (!m) return undefined;
    const [, username, password, hosts] = m;
    const read = hostsAndCredentials(username, password, hosts!, REDIS_PORT);
    return read && { kind: 'cluster', tls, ...read };
  },
};

/**
 * Reads a Redis URL: `redis://` and `rediss://` as ioredis takes them, Sentinel
 * written `redis+sentinel://[:password@]host:port[,host:port…]/<master name>[?db=N]`
 * and Cluster written `redis+cluster://[:password@]host:port[,host:port…]`
 * (`rediss+…` for TLS). Undefined when it is none of these.
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

/** Whether a REDIS_URL is one certfleet can use (plain, TLS, Sentinel or Cluster). */
export function isRedisUrl(url: string): boolean {
  return parseRedisUrl(url) !== undefined;
}

/** The form a `rediss?+<topology>://` URL must have, or undefined when the topology is unknown. */
export function redisUrlForm(url: string): string | undefined {
  const topology = SCHEME.exec(url)?.[2];
  return topology !== undefined && Object.hasOwn(REDIS_URL_FORMS, topology)
    ? REDIS_URL_FORMS[topology as keyof typeof REDIS_URL_FORMS]
    : undefined;
}

/** How to connect: ioredis options (or the URL itself) for one server or Sentinel, seed nodes and options for a Cluster. */
export type RedisConnectionSpec =
  | { cluster: false; options: RedisOptions | string }
  | { cluster: true; nodes: RedisNode[]; options: ClusterOptions };

/** Reads a REDIS_URL into what ioredis's `Redis` or `Cluster` constructor takes. */
export function redisConnectionFromUrl(url: string): RedisConnectionSpec {
  const target = parseRedisUrl(url);
  if (target?.kind === 'cluster') {
    const { nodes, username, password, tls } = target;
    return {
      cluster: true,
      nodes,
      options: {
        redisOptions: {
          ...(username ? { username } : {}),
          ...(password ? { password } : {}),
          ...(tls ? { tls: {} } : {}),
        },
      },
    };
  }
  if (target?.kind !== 'sentinel') return { cluster: false, options: url };
  const { sentinels, name, username, password, db, tls } = target;
  return {
    cluster: false,
    options: {
      sentinels,
      name,
      ...(username ? { username } : {}),
      ...(password ? { password, sentinelPassword: password } : {}),
      ...(db === undefined ? {} : { db }),
      ...(tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
      // A forced failover leaves the old master writable until Sentinel demotes it, seconds
      // later, and what it took then is lost: move on the sentinels' +switch-master at once.
      failoverDetector: true,
      // A write that still reaches the demoted master is sent again to the new one.
      reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
    },
  };
}
