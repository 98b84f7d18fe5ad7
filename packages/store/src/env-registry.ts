import type { RedisClient } from './redis-client.js';
import type { FleetKeys } from './keys.js';
import { readJsonField, readJsonHash } from './redis-json.js';
import type { EnvCertificate } from './types.js';

/** Per environment, the certificate installed under each name: what a rotation is checked against. */
export class EnvRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
  ) {}

  /** The certificates of one environment, by name. */
  async list(env: string): Promise<EnvCertificate[]> {
    return readJsonHash<EnvCertificate>(this.redis, this.keys.environment(env), (c) => c.name);
  }

  async get(env: string, name: string): Promise<EnvCertificate | undefined> {
    return readJsonField<EnvCertificate>(this.redis, this.keys.environment(env), name);
  }

  async put(env: string, entry: EnvCertificate): Promise<void> {
    await this.redis.hset(this.keys.environment(env), entry.name, JSON.stringify(entry));
  }

  /** Forgets a certificate of an environment (an uninstall completed). */
  async delete(env: string, name: string): Promise<void> {
    await this.redis.hdel(this.keys.environment(env), name);
  }
}
