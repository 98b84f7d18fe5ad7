import type { FleetKeys } from './keys.js';
import type { RedisClient } from './redis-client.js';

/** One expiry warning: which certificate of which environment, at which threshold. */
export interface ExpiryClaim {
  environment: string;
  fingerprintSha256: string;
  threshold: number;
  /** The certificate's notAfter: the claim is kept until then (and a day longer). */
  notAfter: string;
}

const DAY_MS = 86_400_000;

/**
 * The expiry warnings already sent: a `SET NX` per (environment, fingerprint,
 * threshold), so that of every worker process and every run, across restarts, exactly
 * one sends each warning. A claim expires a day after the certificate does.
 */
export class ExpiryLedger {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
  ) {}

  private key(c: ExpiryClaim): string {
    return this.keys.expiryNotice(c.environment, c.fingerprintSha256, c.threshold);
  }

  /** True for the one caller that claims this warning first; false when it was sent (or is being sent). */
  async claim(c: ExpiryClaim, at: Date): Promise<boolean> {
    const expiresAt = Math.max(Date.parse(c.notAfter), at.getTime(), Date.now()) + DAY_MS;
    return (await this.redis.set(this.key(c), at.toISOString(), 'PXAT', expiresAt, 'NX')) === 'OK';
  }

  /** Gives a claim back when its report could not be queued, so the next run tries again. */
  async release(c: ExpiryClaim): Promise<void> {
    await this.redis.del(this.key(c));
  }
}
