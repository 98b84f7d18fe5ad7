import type { Cluster, Redis } from 'ioredis';

/** A connection to a single Redis (standalone or through Sentinel) or to a Redis Cluster. */
export type RedisClient = Redis | Cluster;
