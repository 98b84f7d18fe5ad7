/** Upper bounds (seconds) of the install-duration histogram. */
export const INSTALL_BUCKETS = [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

/** Prefix of every metric an API process shows, its own process metrics included. */
export const METRIC_PREFIX = 'certfleet_';

/** Prometheus names of the metrics `/metrics` shows. */
export const METRIC_NAMES = {
  /** Counter: jobs that reached a final status, label `status`. */
  jobs: `${METRIC_PREFIX}jobs_total`,
  /** Counter: targets that failed for good, label `code`. */
  targetFailures: `${METRIC_PREFIX}target_failures_total`,
  /** Counter: report deliveries, labels `sink` and `result`. */
  notifications: `${METRIC_PREFIX}notifications_total`,
  /** Histogram: seconds one successful target install took (`_bucket`, `_sum`, `_count`). */
  installDuration: `${METRIC_PREFIX}target_install_duration_seconds`,
  /** Gauge: BullMQ jobs, labels `queue` and `state`. */
  queueJobs: `${METRIC_PREFIX}queue_jobs`,
  /** Gauge: front-ends per worst state in the latest drift check, labels `environment` and `state` (issue 16). */
  driftHosts: `${METRIC_PREFIX}drift_hosts`,
  // expiry watch
  /** Gauge: seconds from now to a certificate's notAfter (negative once expired), labels `environment` and `name`. */
  certificateExpiry: `${METRIC_PREFIX}certificate_expiry_seconds`,
} as const;

/**
 * Fields of the fleet-wide metrics hash in Redis: the counters are
 * `<prefix><label>` (`jobs:completed`, `notify:slack:delivered`), written and read
 * only by `FleetMetrics`.
 */
export const METRIC_FIELDS = {
  jobs: 'jobs:',
  targetFailures: 'failures:',
  notifications: 'notify:',
  installBucket: 'install:bucket:',
  installSum: 'install:sum',
  installCount: 'install:count',
} as const;

/** What happened to one report delivery. */
export type NotificationResult = 'delivered' | 'refused' | 'retrying' | 'failed';
