import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis-client.js';
import type { FleetKeys } from './keys.js';
import { seal, unsealWithAny } from './seal.js';
import type { SecretBundle } from './types.js';

export interface SealedSecretsOptions {
  /** 32-byte AES-256-GCM key; only processes that seal or open secrets need it. */
  masterKey?: Buffer;
  /** Keys of before a rotation: tried, in order, to open secrets the current key cannot. */
  previousMasterKeys?: Buffer[];
}

/** Each job's PFX, password and CA chain, sealed under the master key with the job id as additional data. */
export class SealedSecrets {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
    private readonly options: SealedSecretsOptions,
  ) {}

  private masterKey(): Buffer {
    if (!this.options.masterKey)
      throw new Error('this process has no FLEET_MASTER_KEY to seal or open secrets');
    return this.options.masterKey;
  }

  /** Seals a job's secret and adds its write, expiring after `ttlMs`, to a transaction the caller executes. */
  stagePut(multi: ChainableCommander, jobId: string, secret: SecretBundle, ttlMs: number): void {
    multi.set(this.keys.secret(jobId), seal(this.masterKey(), jobId, secret), 'PX', ttlMs);
  }

  /** The secret, opened with the current key or, after a rotation, a previous one. */
  async open(jobId: string): Promise<SecretBundle | undefined> {
    const sealed = await this.redis.getBuffer(this.keys.secret(jobId));
    if (!sealed) return undefined;
    return unsealWithAny(this.keyring(), jobId, sealed).bundle;
  }

  /** The current master key first, then those of before a rotation. */
  keyring(): Buffer[] {
    return [this.masterKey(), ...(this.options.previousMasterKeys ?? [])];
  }

  /** Seals a bundle under the current master key (additional data: `aad`). */
  sealBundle(aad: string, bundle: SecretBundle): Buffer {
    return seal(this.masterKey(), aad, bundle);
  }

  async has(jobId: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.secret(jobId))) === 1;
  }

  async delete(jobId: string): Promise<void> {
    await this.redis.del(this.keys.secret(jobId));
  }

  /** Keeps the secret while a job is queued or running. */
  async persist(jobId: string): Promise<void> {
    await this.redis.persist(this.keys.secret(jobId));
  }

  /** Lets the secret expire after `ttlMs` (a job that waits, or ended with failures). */
  async expire(jobId: string, ttlMs: number): Promise<void> {
    await this.redis.pexpire(this.keys.secret(jobId), ttlMs);
  }
}
