import type { RedisClient } from './redis-client.js';
import type { FleetKeys } from './keys.js';

/** Per job, the report deliveries done (or refused for good), so a retried notify skips them. */
export class NotificationLedger {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
  ) {}

  /** Records that a report reached (or was refused for good by) a sink, so a retry skips it. */
  async markDelivered(jobId: string, deliveryKey: string): Promise<void> {
    await this.redis.sadd(this.keys.deliveries(jobId), deliveryKey);
  }

  async isDelivered(jobId: string, deliveryKey: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys.deliveries(jobId), deliveryKey)) === 1;
  }
}
