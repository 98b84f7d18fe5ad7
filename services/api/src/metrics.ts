import type { FleetQueues } from '@certfleet/jobs';
import { DRIFT_STATES, worstDriftState } from '@certfleet/contract';
import { METRIC_NAMES, METRIC_PREFIX, type FleetStore, type MetricsSnapshot } from '@certfleet/store';
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

/**
 * The inventory and clock the per-environment metrics read: expiry and drift show only
 * the environments of the inventory now (a removed environment's series disappear).
 */
export interface ExpirySource {
  /** The environments of the inventory now. */
  environments: () => string[];
  clock: () => Date;
}

/** Seconds to notAfter of every certificate in every environment, read from the registry at scrape time. */
async function expiryValues(store: FleetStore, source: ExpirySource): Promise<MetricValue[]> {
  const now = source.clock().getTime();
  const perEnv = await Promise.all(
    source.environments().map(async (environment) =>
      (await store.registry.list(environment)).map((c) => ({
        value: Math.round((Date.parse(c.notAfter) - now) / 1000),
        labels: { environment, name: c.name },
      })),
    ),
  );
  return perEnv.flat();
}

/** The Prometheus registry of an API process: fleet-wide job metrics plus this process's own. */
export function createMetricsRegistry(
  store: FleetStore,
  queues: FleetQueues,
  expiry: ExpirySource,
): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  // One Redis read per scrape, shared by the metrics below.
  let snapshot: Promise<MetricsSnapshot> | undefined;
  const read = (): Promise<MetricsSnapshot> => {
    snapshot ??= store.metrics.read().finally(() => setImmediate(() => (snapshot = undefined)));
    return snapshot;
  };
  registry.registerMetric(
    new RedisBackedMetric(
      METRIC_NAMES.jobs,
      'Jobs that reached a final status, by status.',
      'counter',
      async () => (await read()).jobs.map(({ status, value }) => ({ value, labels: { status } })),
    ) as never,
  );
  registry.registerMetric(
    new RedisBackedMetric(
      METRIC_NAMES.targetFailures,
      'Targets that failed for good, by error code.',
      'counter',
      async () => (await read()).targetFailures.map(({ code, value }) => ({ value, labels: { code } })),
    ) as never,
  );
  registry.registerMetric(
    new RedisBackedMetric(
      METRIC_NAMES.notifications,
      'Completion report deliveries, by sink and result.',
      'counter',
      async () =>
        (await read()).notifications.map(({ sink, result, value }) => ({ value, labels: { sink, result } })),
    ) as never,
  );
  registry.registerMetric(
    new RedisBackedMetric(
      METRIC_NAMES.installDuration,
      'Time to install one target (connect, upload, verify, move), successful installs only.',
      'histogram',
      async () => {
        const m = await read();
        let cumulative = 0;
        const values: MetricValue[] = [];
        for (const { le, value } of m.installBuckets) {
          cumulative += value;
          values.push({
            value: cumulative,
            labels: { le },
            metricName: `${METRIC_NAMES.installDuration}_bucket`,
          });
        }
        values.push({ value: m.installSum, metricName: `${METRIC_NAMES.installDuration}_sum` });
        values.push({ value: m.installCount, metricName: `${METRIC_NAMES.installDuration}_count` });
        return values;
      },
    ) as never,
  );
  registry.registerMetric(
    new RedisBackedMetric(METRIC_NAMES.queueJobs, 'BullMQ jobs per queue and state.', 'gauge', async () => {
      const counts = await queues.counts();
      return Object.entries(counts).flatMap(([queue, states]) =>
        Object.entries(states).map(([state, value]) => ({ value, labels: { queue, state } })),
      );
    }) as never,
  );
  registry.registerMetric(
    new RedisBackedMetric(
      METRIC_NAMES.driftHosts,
      'Front-ends per worst certificate state in the latest drift check of each environment.',
      'gauge',
      async () => {
        const current = new Set(expiry.environments());
        return (await store.driftChecks.latestAll())
          .filter((check) => current.has(check.environment))
          .flatMap(driftHostCounts);
      },
    ) as never,
  );
  registry.registerMetric(
    new RedisBackedMetric(
      METRIC_NAMES.certificateExpiry,
      'Seconds from now to the notAfter of each installed certificate (negative once expired).',
      'gauge',
      () => expiryValues(store, expiry),
    ) as never,
  );
  return registry;
}

/** One gauge value per state (zeros included) from one environment's latest check. */
function driftHostCounts(check: {
  environment: string;
  hosts: Parameters<typeof worstDriftState>[0][];
}): MetricValue[] {
  const worst = check.hosts.map(worstDriftState);
  return DRIFT_STATES.map((state) => ({
    value: worst.filter((w) => w === state).length,
    labels: { environment: check.environment, state },
  }));
}
