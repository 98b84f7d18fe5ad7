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

  // Drift check (issue 16): the latest check per environment and who is running one.

  /** Hash of one drift check: `meta` and one `host:<front-end>` field per host looked at. */
  driftCheck(checkId: string): string {
    return `${this.tag}:drift:check:${checkId}`;
  }

  /** Hash: per environment, the id of its latest drift check. */
  driftLatest(): string {
    return `${this.tag}:drift:latest`;
  }

  /** The id of the drift check running in one environment (expires when its worker stops renewing it). */
  driftRunning(env: string): string {
    return `${this.tag}:drift:running:${env}`;
  }

  // Retained secrets, installed hosts and repair claims (README: Keeping environments right).

  /** Set of `<environment>/<name>` whose secret is retained: what a master-key rotation re-seals. */
  get retainedIndex(): string {
    return `${this.tag}:retained`;
  }

  /** The sealed PFX, password and CA files of the certificate installed under a name (expires at notAfter). */
  retained(env: string, name: string): string {
    return `${this.tag}:retained:${env}:${name}`;
  }

  /** The sealed secret of the certificate a rotation replaced under a name: what a rollback installs (expires at its notAfter). */
  retainedPrevious(env: string, name: string): string {
    return `${this.tag}:retained:${env}:${name}:previous`;
  }

  /** Hash `<name>/<front-end>` → where a certificate of an environment is installed, by which job. */
  installedHosts(env: string): string {
    return `${this.tag}:env:${env}:hosts`;
  }

  /** The open repair job of one certificate on one front-end: at most one at a time. */
  repairClaim(env: string, name: string, frontEnd: string): string {
    return `${this.tag}:repair:${env}:${name}:${frontEnd}`;
  }

  /** Hash `<name>/<front-end>` → why a repair needs a new submission (the environment keeps no secret). */
  repairNeeded(env: string): string {
    return `${this.tag}:env:${env}:repair-needed`;
  }

  // --- rollback (README: Previous version and rollback) ----------------------------

  /** The open rollback job of one certificate of an environment: at most one at a time. */
  rollbackClaim(env: string, name: string): string {
    return `${this.tag}:rollback:${env}:${name}`;
  }

  // --- expiry watch ---------------------------------------------------------------

  /** The claim of one expiry warning: set once per environment, certificate and threshold. */
  expiryNotice(env: string, fingerprintSha256: string, threshold: number): string {
    return `${this.tag}:expiry:${env}:${fingerprintSha256}:${threshold}`;
  }

  // --- uninstall (README: Uninstall) ---------------------------------------------------

  /** The uninstall job that holds one certificate of an environment until it completes. */
  uninstall(env: string, name: string): string {
    return `${this.tag}:uninstall:${env}:${name}`;
  }

  // ----------------------------------------------------------------------------------

  // Help desks (README: Help desks).

  /** Hash of one pending help desk intake (its sealed attachments), by the SHA-256 of its link's token. */
  helpdeskIntake(tokenSha256: string): string {
    return `${this.tag}:helpdesk:intake:${tokenSha256}`;
  }

  /** One attachment of one ticket was offered a password link (or made its job): not again while it lives. */
  helpdeskOffer(offerSha256: string): string {
    return `${this.tag}:helpdesk:offer:${offerSha256}`;
  }

  /** A password a desk sent inside its signed webhook, sealed until its intake job takes it. */
  helpdeskDoorbell(deliverySha256: string): string {
    return `${this.tag}:helpdesk:doorbell:${deliverySha256}`;
  }

  /** The ticket a help desk job reports to. */
  helpdeskJob(jobId: string): string {
    return `${this.tag}:helpdesk:job:${jobId}`;
  }

  /** A key certfleet never writes, for a test's own planted data under the same hash tag. */
  scratch(name: string): string {
    return `${this.tag}:scratch:${name}`;
  }
}
