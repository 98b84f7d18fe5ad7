import type { RedisClient } from './redis-client.js';

/** Hash fields from an object: each value JSON-encoded in its own field, `undefined` left out. */
export function encodeFields(patch: object): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (v !== undefined) out.push(k, JSON.stringify(v));
  }
  return out;
}

/** The object `encodeFields` wrote; undefined when the hash has no `id` (the record does not exist). */
export function decodeFields<T>(hash: Record<string, string>): T | undefined {
  if (!hash['id']) return undefined;
  const rec: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(hash)) rec[k] = JSON.parse(v);
  return rec as T;
}

/** Every JSON value of a hash of entries, sorted by the text `by` picks from each. */
export async function readJsonHash<T>(
  redis: RedisClient,
  key: string,
  by: (entry: T) => string,
): Promise<T[]> {
  const hash = await redis.hgetall(key);
  return Object.values(hash)
    .map((v) => JSON.parse(v) as T)
    .sort((a, b) => by(a).localeCompare(by(b)));
}

/** One JSON value of a hash of entries. */
export async function readJsonField<T>(
  redis: RedisClient,
  key: string,
  field: string,
): Promise<T | undefined> {
  const raw = await redis.hget(key, field);
  return raw ? (JSON.parse(raw) as T) : undefined;
}
