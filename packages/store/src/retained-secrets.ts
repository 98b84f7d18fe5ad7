import type { RedisClient } from './redis-client.js';
import type { FleetKeys } from './keys.js';
import { unsealWithAny } from './seal.js';
import type { SealedSecrets } from './sealed-secrets.js';
import type { SecretBundle } from './types.js';

/** Which of the two secrets kept under a name: the certificate installed, or the one it replaced. */
export type RetainedSlot = 'current' | 'previous';

/** The additional data of a retained secret: it opens only as this environment's certificate of this name, in this slot. */
function aadOf(env: string, name: string, slot: RetainedSlot): string {
  return slot === 'current' ? `retained:${env}:${name}` : `retained-previous:${env}:${name}`;
}

function sameBundle(a: SecretBundle, b: SecretBundle): boolean {
  return (
    a.pfx.equals(b.pfx) &&
    a.password === b.password &&
    a.caChain.length === b.caChain.length &&
    a.caChain.every((c, i) => b.caChain[i]?.equals(c) === true)
  );
}

/**
 * Per environment and certificate name, the PFX, password and CA files of the
 * certificate installed there, sealed like a job's secret (AES-256-GCM under the
 * master key) and kept until its notAfter, so that a repair needs no new submission;
 * and, after a rotation, those of the certificate it replaced (the previous one, sealed
 * under its own additional data, kept until its own notAfter), which a rollback installs.
 */
export class RetainedSecrets {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
    private readonly sealing: SealedSecrets,
  ) {}

  private keyOf(env: string, name: string, slot: RetainedSlot): string {
    return slot === 'current' ? this.keys.retained(env, name) : this.keys.retainedPrevious(env, name);
  }

  /**
   * Keeps a certificate's secret until `notAfter`, replacing the one kept under that name.
   * With `replacing` (a rotation or a rollback: the name held another certificate, whose
   * notAfter it gives), the secret kept so far becomes the previous one. Doing it again
   * with the same secret changes nothing, so a finish step that ran twice after a crash
   * never makes the new certificate its own previous one.
   */
  async put(
    env: string,
    name: string,
    secret: SecretBundle,
    notAfter: string,
    replacing?: { notAfter: string },
  ): Promise<void> {
    const multi = this.redis.multi();
    if (replacing) {
      const kept = await this.open(env, name);
      const previousKey = this.keyOf(env, name, 'previous');
      const previousExpiresAt = Date.parse(replacing.notAfter);
      if (!kept || !(previousExpiresAt > Date.now())) {
        // nothing (or nothing valid) to go back to: an older previous one would be the wrong one
        multi.del(previousKey);
      } else if (!sameBundle(kept, secret)) {
        multi.set(
          previousKey,
          this.sealing.sealBundle(aadOf(env, name, 'previous'), kept),
          'PXAT',
          previousExpiresAt,
        );
      }
    }
    const expiresAt = Date.parse(notAfter);
    if (expiresAt > Date.now()) {
      multi.set(
        this.keys.retained(env, name),
        this.sealing.sealBundle(aadOf(env, name, 'current'), secret),
        'PXAT',
        expiresAt,
      );
      multi.sadd(this.keys.retainedIndex, `${env}/${name}`);
    } else {
      multi.del(this.keys.retained(env, name));
    }
    await multi.exec();
  }

  /** A retained secret; one sealed under a previous master key is sealed again under the current one. */
  async open(env: string, name: string, slot: RetainedSlot = 'current'): Promise<SecretBundle | undefined> {
    const key = this.keyOf(env, name, slot);
    const aad = aadOf(env, name, slot);
    const sealed = await this.redis.getBuffer(key);
    if (!sealed) return undefined;
    const { bundle, keyIndex } = unsealWithAny(this.sealing.keyring(), aad, sealed);
    if (keyIndex > 0) {
      // XX: never bring back a secret deleted meanwhile; KEEPTTL: it still expires at notAfter
      await this.redis.set(key, this.sealing.sealBundle(aad, bundle), 'KEEPTTL', 'XX');
    }
    return bundle;
  }

  async has(env: string, name: string, slot: RetainedSlot = 'current'): Promise<boolean> {
    return (await this.redis.exists(this.keyOf(env, name, slot))) === 1;
  }

  /** Forgets a certificate's secrets, current and previous (removed, or its environment keeps none). */
  async delete(env: string, name: string): Promise<void> {
    const multi = this.redis.multi();
    multi.del(this.keys.retained(env, name));
    multi.del(this.keys.retainedPrevious(env, name));
    multi.srem(this.keys.retainedIndex, `${env}/${name}`);
    await multi.exec();
  }

  /**
   * After a master-key rotation: seals every retained secret (current and previous) again
   * under the current key, so the previous key can be dropped. Returns how many names were
   * looked at; names whose secrets all expired leave the index.
   */
  async resealAll(): Promise<number> {
    const members = await this.redis.smembers(this.keys.retainedIndex);
    let count = 0;
    for (const member of members) {
      const [env, name] = member.split('/') as [string, string];
      // one that no key in force opens stays as it is: the next reseal, with the right key, tries again
      const opened = await Promise.all(
        (['current', 'previous'] as const).map((slot) => this.open(env, name, slot).catch(() => null)),
      );
      if (opened.every((o) => o === undefined)) await this.redis.srem(this.keys.retainedIndex, member);
      else if (opened.some((o) => o)) count++;
    }
    return count;
  }
}
