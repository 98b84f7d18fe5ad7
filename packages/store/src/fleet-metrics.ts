import type { RedisClient } from './redis-client.js';
import type { FleetKeys } from './keys.js';
import { INSTALL_BUCKETS, METRIC_FIELDS, type NotificationResult } from './metric-names.js';
import type { JobStatus } from './types.js';

/** The fleet-wide metrics as read at one scrape, in the order Redis holds them. */
export interface MetricsSnapshot {
  jobs: { status: string; value: number }[];
  targetFailures: { code: string; value: number }[];
  notifications: { sink: string; result: string; value: number }[];
  /** Successful installs per histogram bucket (not cumulative), `le` as text, `+Inf` last. */
  installBuckets: { le: string; value: number }[];
  installSum: number;
  installCount: number;
}

/**
 * Fleet-wide counters and the install-duration histogram: every process adds to
 * them in Redis, any API instance reads them. Writing one never fails the caller.
 */
export class FleetMetrics {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
  ) {}

  private async count(field: string): Promise<void> {
    await this.redis.hincrby(this.keys.metrics, field, 1).catch(() => undefined);
  }

  /** A job reached a final status. */
  async countJob(status: JobStatus): Promise<void> {
    await this.count(`${METRIC_FIELDS.jobs}${status}`);
  }

  /** A target failed for good with this error code. */
  async countTargetFailure(code: string): Promise<void> {
    await this.count(`${METRIC_FIELDS.targetFailures}${code}`);
  }

  /** A report delivery to a sink of this kind ended so. */
  async countNotification(sink: string, result: NotificationResult): Promise<void> {
    await this.count(`${METRIC_FIELDS.notifications}${sink}:${result}`);
  }

  /** Records one target install's duration into the fleet-wide histogram. */
  async observeInstallSeconds(seconds: number): Promise<void> {
    const bucket = INSTALL_BUCKETS.find((b) => seconds <= b);
    await this.redis
      .multi()
      .hincrby(this.keys.metrics, `${METRIC_FIELDS.installBucket}${bucket ?? '+Inf'}`, 1)
      .hincrbyfloat(this.keys.metrics, METRIC_FIELDS.installSum, seconds)
      .hincrby(this.keys.metrics, METRIC_FIELDS.installCount, 1)
      .exec()
      .catch(() => undefined);
  }

  /** Every counter at once, parsed. */
  async read(): Promise<MetricsSnapshot> {
    const raw = await this.redis.hgetall(this.keys.metrics);
    const m: MetricsSnapshot = {
      jobs: [],
      targetFailures: [],
      notifications: [],
      installBuckets: [...INSTALL_BUCKETS.map(String), '+Inf'].map((le) => ({
        le,
        value: Number(raw[`${METRIC_FIELDS.installBucket}${le}`] ?? 0),
      })),
      installSum: Number(raw[METRIC_FIELDS.installSum] ?? 0),
      installCount: Number(raw[METRIC_FIELDS.installCount] ?? 0),
    };
    for (const [field, text] of Object.entries(raw)) {
      const value = Number(text);
      const label = (prefix: string): string | undefined =>
        field.startsWith(prefix) ? field.slice(prefix.length) : undefined;
      const status = label(METRIC_FIELDS.jobs);
      const code = label(METRIC_FIELDS.targetFailures);
      const notification = label(METRIC_FIELDS.notifications);
      if (status !== undefined) m.jobs.push({ status, value });
      else if (code !== undefined) m.targetFailures.push({ code, value });
      else if (notification !== undefined) {
        const [sink = '', result = ''] = notification.split(':');
        m.notifications.push({ sink, result, value });
      }
    }
    return m;
  }
}
