/**
 * Every Redis name certfleet uses, in one place. All of them sit under the hash tag
 * `{prefix}`, so Redis Cluster keeps queues and records in one slot and a Lua script
 * or MULTI may touch any two of them.
 */

/** Redis hash-tag prefix shared by queues and records (BullMQ's `prefix` option). */
export function keyPrefix(prefix: string): string {
  return `{${prefix}}`;
}

/** The key names of one `FLEET_PREFIX`. */
export class FleetKeys {
  /** The hash tag itself: BullMQ builds its queue keys under it. */
  readonly tag: string;
  /** A pattern that matches every key of this prefix (`KEYS`/`SCAN`), BullMQ's included. */
  readonly all: string;
  /** Sorted set of every job id, scored by creation time: the listing index. */
  readonly jobIndex: string;
  /** The fleet-wide audit stream. */
  readonly audit: string;
  /** Hash of fleet-wide counters and the install-duration histogram. */
  readonly metrics: string;
  /** A pattern that matches every host lock. */
  readonly hostLocks: string;
  /** Namespace of the API's per-principal rate-limit counters (the limiter appends its own key). */
  readonly rateLimit: string;
  /** Pub/sub channel on which an inventory reload is announced to every process. */
  readonly inventoryChannel: string;

  constructor(readonly prefix: string) {
    this.tag = keyPrefix(prefix);
    this.all = `${this.tag}:*`;
    this.jobIndex = `${this.tag}:jobs`;
    this.audit = `${this.tag}:audit`;
    this.metrics = `${this.tag}:metrics`;
    this.hostLocks = `${this.tag}:lock:host:*`;
    this.rateLimit = `${this.tag}:ratelimit:`;
    this.inventoryChannel = `${this.tag}:events:inventory`;
  }

  /** Hash of one job record, each field JSON-encoded. */
  job(jobId: string): string {
    return `${this.tag}:job:${jobId}`;
  }

  /** Hash of one job's targets, by target id. */
  targets(jobId: string): string {
    return `${this.tag}:job:${jobId}:targets`;
  }

  /** Set of the report deliveries of one job already done (or refused for good). */
  deliveries(jobId: string): string {
    return `${this.tag}:job:${jobId}:deliveries`;
  }

  /** Set of the job ids of one ticket. */
  ticket(ticket: string): string {
    return `${this.tag}:ticket:${ticket}`;
  }

  /** One job's sealed secret (string, with a TTL while nobody needs it). */
  secret(jobId: string): string {
    return `${this.tag}:secret:${jobId}`;
  }

  /** Hash of the certificates installed in one environment, by name. */
  environment(env: string): string {
    return `${this.tag}:env:${env}:certs`;
  }

  /** One job's own audit stream. */
  jobAudit(jobId: string): string {
    return `${this.tag}:audit:job:${jobId}`;
  }

  /** The claim of one inbound webhook delivery id. */
  webhookDelivery(deliveryId: string): string {
    return `${this.tag}:webhook:${deliveryId}`;
  }

  /** The lock that keeps installs on one front-end one at a time across workers. */
  hostLock(host: string, port: number): string {
    return `${this.tag}:lock:host:${host}:${port}`;
  }

  // --- expiry watch ---------------------------------------------------------------

  /** The claim of one expiry warning: set once per environment, certificate and threshold. */
  expiryNotice(env: string, fingerprintSha256: string, threshold: number): string {
    return `${this.tag}:expiry:${env}:${fingerprintSha256}:${threshold}`;
  }

  // ----------------------------------------------------------------------------------

  /** A key certfleet never writes, for a test's own planted data under the same hash tag. */
  scratch(name: string): string {
    return `${this.tag}:scratch:${name}`;
  }
}
