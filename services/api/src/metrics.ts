import type { FleetQueues } from '@certfleet/jobs';
import { INSTALL_BUCKETS, type FleetStore } from '@certfleet/store';
import { collectDefaultMetrics, Registry } from 'prom-client';

type MetricValue = { value: number; labels?: Record<string, string | number>; metricName?: string };

/**
 * A metric read from Redis at scrape time. Workers and notifiers on any machine
 * add to counters in Redis, so every API instance shows the whole fleet.
 */
class RedisBackedMetric {
  readonly aggregator = 'first';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly read: () => Promise<MetricValue[]>,
  ) {}

  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    values: MetricValue[];
    aggregator: string;
  }> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values: await this.read(),
      aggregator: this.aggregator,
    };
  }
}

function byPrefix(values: Record<string, number>, prefix: string, label: string): MetricValue[] {
  return Object.entries(values)
    .filter(([k]) => k.startsWith(prefix))
    .map(([k, v]) => ({ value: v, labels: { [label]: k.slice(prefix.length) } }));
}

/** The Prometheus registry of an API process: fleet-wide job metrics plus this process's own. */
export function createMetricsRegistry(store: FleetStore, queues: FleetQueues): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'certfleet_' });
  // One Redis read per scrape, shared by the metrics below.
  let snapshot: Promise<Record<string, number>> | undefined;
  const read = (): Promise<Record<string, number>> => {
    snapshot ??= store.readMetrics().finally(() => setImmediate(() => (snapshot = undefined)));
    return snapshot;
  };
  registry.registerMetric(
    new RedisBackedMetric(
      'certfleet_jobs_total',
      'Jobs that reached a final status, by status.',
      'counter',
      async () => byPrefix(await read(), 'jobs:', 'status'),
    ) as never,
  );
  registry.registerMetric(
    new RedisBackedMetric(
      'certfleet_target_failures_total',
      'Targets that failed for good, by error code.',
      'counter',
      async () => byPrefix(await read(), 'failures:', 'code'),
    ) as never,
  );
  registry.registerMetric(
    new RedisBackedMetric(
      'certfleet_notifications_total',
      'Completion report deliveries, by sink and result.',
      'counter',
      async () =>
        Object.entries(await read())
          .filter(([k]) => k.startsWith('notify:'))
          .map(([k, v]) => {
            const [, sink, result] = k.split(':');
            return { value: v, labels: { sink: sink ?? '', result: result ?? '' } };
          }),
    ) as never,
  );
  registry.registerMetric(
    new RedisBackedMetric(
      'certfleet_target_install_duration_seconds',
      'Time to install one target (connect, upload, verify, move), successful installs only.',
      'histogram',
      async () => {
        const m = await read();
        let cumulative = 0;
        const values: MetricValue[] = [];
        for (const le of [...INSTALL_BUCKETS.map(String), '+Inf']) {
          cumulative += m[`install:bucket:${le}`] ?? 0;
          values.push({
            value: cumulative,
            labels: { le },
            metricName: 'certfleet_target_install_duration_seconds_bucket',
          });
        }
        values.push({
          value: m['install:sum'] ?? 0,
          metricName: 'certfleet_target_install_duration_seconds_sum',
        });
        values.push({
          value: m['install:count'] ?? 0,
          metricName: 'certfleet_target_install_duration_seconds_count',
        });
        return values;
      },
    ) as never,
  );
  registry.registerMetric(
    new RedisBackedMetric('certfleet_queue_jobs', 'BullMQ jobs per queue and state.', 'gauge', async () => {
      const counts = await queues.counts();
      return Object.entries(counts).flatMap(([queue, states]) =>
        Object.entries(states).map(([state, value]) => ({ value, labels: { queue, state } })),
      );
    }) as never,
  );
  return registry;
}
