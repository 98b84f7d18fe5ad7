import type { RedisClient } from './redis-client.js';
import type { FleetKeys } from './keys.js';
import { unsealWithAny } from './seal.js';
import type { SealedSecrets } from './sealed-secrets.js';
import type { SecretBundle } from './types.js';

/** The additional data of a retained secret: it opens only as this environment's certificate of this name. */
function aadOf(env: string, name: string): string {
  return `retained:${env}:${name}`;
}

/**
 * Per environment and certificate name, the PFX, password and CA files of the
 * certificate installed there, sealed like a job's secret (AES-256-GCM under the
 * master key) and kept until its notAfter, so that a repair needs no new submission.
 */
export class RetainedSecrets {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
    private readonly sealing: SealedSecrets,
  ) {}

  /** Keeps a certificate's secret until `notAfter`, replacing the one kept under that name. */
  async put(env: string, name: string, secret: SecretBundle, notAfter: string): Promise<void> {
    const expiresAt = Date.parse(notAfter);
    if (!(expiresAt > Date.now())) {
      await this.delete(env, name);
      return;
    }
    const multi = this.redis.multi();
    multi.set(
      this.keys.retained(env, name),
      this.sealing.sealBundle(aadOf(env, name), secret),
      'PXAT',
      expiresAt,
    );
    multi.sadd(this.keys.retainedIndex, `${env}/${name}`);
    await multi.exec();
  }

  /** The retained secret; one sealed under a previous master key is sealed again under the current one. */
  async open(env: string, name: string): Promise<SecretBundle | undefined> {
    const key = this.keys.retained(env, name);
    const sealed = await this.redis.getBuffer(key);
    if (!sealed) return undefined;
    const { bundle, keyIndex } = unsealWithAny(this.sealing.keyring(), aadOf(env, name), sealed);
    if (keyIndex > 0) {
      // XX: never bring back a secret deleted meanwhile; KEEPTTL: it still expires at notAfter
      await this.redis.set(key, this.sealing.sealBundle(aadOf(env, name), bundle), 'KEEPTTL', 'XX');
    }
    return bundle;
  }

  async has(env: string, name: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.retained(env, name))) === 1;
  }

  /** Forgets a certificate's secret (removed, or its environment keeps none). */
  async delete(env: string, name: string): Promise<void> {
    const multi = this.redis.multi();
    multi.del(this.keys.retained(env, name));
    multi.srem(this.keys.retainedIndex, `${env}/${name}`);
    await multi.exec();
  }

  /**
   * After a master-key rotation: seals every retained secret again under the current
   * key, so the previous key can be dropped. Returns how many were looked at; entries
   * whose secret expired leave the index.
   */
  async resealAll(): Promise<number> {
    const members = await this.redis.smembers(this.keys.retainedIndex);
    let count = 0;
    for (const member of members) {
      const [env, name] = member.split('/') as [string, string];
      // one that no key in force opens stays as it is: the next reseal, with the right key, tries again
      const opened = await this.open(env, name).catch(() => null);
      if (opened === undefined) await this.redis.srem(this.keys.retainedIndex, member);
      else if (opened) count++;
    }
    return count;
  }
}
