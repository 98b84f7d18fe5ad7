import type { RedisClient } from './redis-client.js';
import type { FleetKeys } from './keys.js';

/** What a claimed inbound delivery id is bound to. */
export interface WebhookClaim {
  bodySha256: string;
  jobId: string;
}

/** The ledger of inbound ticket-webhook delivery ids: a repeated delivery never makes a second job. */
export class WebhookDeliveries {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
  ) {}

  /**
   * Claims an inbound webhook delivery id for a job; answers the earlier claim when
   * the id was seen before, so a repeated delivery never makes a second job.
   */
  async claim(
    deliveryId: string,
    bodySha256: string,
    jobId: string,
    ttlMs: number,
  ): Promise<WebhookClaim | undefined> {
    const key = this.keys.webhookDelivery(deliveryId);
    const claim: WebhookClaim = { bodySha256, jobId };
    const claimed = await this.redis.set(key, JSON.stringify(claim), 'PX', ttlMs, 'NX');
    if (claimed === 'OK') return undefined;
    const raw = await this.redis.get(key);
    return raw ? (JSON.parse(raw) as WebhookClaim) : undefined;
  }

  /** Forgets a claim whose intake was refused, so a corrected delivery can be sent again. */
  async release(deliveryId: string, jobId: string): Promise<void> {
    const key = this.keys.webhookDelivery(deliveryId);
    const raw = await this.redis.get(key);
    if (raw && (JSON.parse(raw) as WebhookClaim).jobId === jobId) await this.redis.del(key);
  }
}
