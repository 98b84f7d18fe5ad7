import type { RedisClient } from './redis-client.js';
import { AuditLog } from './audit-log.js';
import { DriftChecks } from './drift-checks.js';
import { EnvRegistry } from './env-registry.js';
import { ExpiryLedger } from './expiry-ledger.js';
import { FleetMetrics } from './fleet-metrics.js';
import { JobRepository } from './job-repository.js';
import { FleetKeys } from './keys.js';
import { NotificationLedger } from './notification-ledger.js';
import { SealedSecrets, type SealedSecretsOptions } from './sealed-secrets.js';
import type { Job, JobRecord, SecretBundle, TargetRecord } from './types.js';
import { WebhookDeliveries } from './webhook-deliveries.js';
import { InstalledHosts } from './installed-hosts.js';
import { RepairClaims } from './repair-claims.js';
import { RetainedSecrets } from './retained-secrets.js';

export interface FleetStoreOptions extends SealedSecretsOptions {
  /** Key prefix without braces: keys are written `{prefix}:…`. */
  prefix: string;
  /** Audit stream cap (approximate). */
  auditMaxLen?: number;
}

/**
 * certfleet's records in Redis, one repository per aggregate on one connection.
 * Only what spans two of them (a new job and its secret, in one transaction) is here.
 */
export class FleetStore {
  readonly keys: FleetKeys;
  /** Job records and targets, their indexes and the lifecycle. */
  readonly jobs: JobRepository;
  /** Sealed PFX, password and CA chain per job. */
  readonly secrets: SealedSecrets;
  /** The certificates installed per environment. */
  readonly registry: EnvRegistry;
  readonly audit: AuditLog;
  /** Inbound ticket-webhook delivery ids already turned into jobs. */
  readonly webhooks: WebhookDeliveries;
  /** Outbound report deliveries already done. */
  readonly deliveries: NotificationLedger;
  readonly metrics: FleetMetrics;
  /** The latest drift check per environment (issue 16). */
  readonly driftChecks: DriftChecks;
  // Retention and reconcile (README: Keeping environments right).
  /** Per environment and name, the sealed secret of the installed certificate (for repairs). */
  readonly retained: RetainedSecrets;
  /** Per environment, which front-ends each certificate is installed on. */
  readonly installedHosts: InstalledHosts;
  /** One open repair job per environment, certificate and front-end. */
  readonly repairs: RepairClaims;
  /** Expiry warnings already sent, per environment, certificate and threshold. */
  readonly expiry: ExpiryLedger;

  constructor(
    readonly redis: RedisClient,
    options: FleetStoreOptions,
  ) {
    this.keys = new FleetKeys(options.prefix);
    this.jobs = new JobRepository(redis, this.keys);
    this.secrets = new SealedSecrets(redis, this.keys, options);
    this.registry = new EnvRegistry(redis, this.keys);
    this.audit = new AuditLog(redis, this.keys, options.auditMaxLen);
    this.webhooks = new WebhookDeliveries(redis, this.keys);
    this.deliveries = new NotificationLedger(redis, this.keys);
    this.metrics = new FleetMetrics(redis, this.keys);
    this.driftChecks = new DriftChecks(redis, this.keys);
    this.retained = new RetainedSecrets(redis, this.keys, this.secrets);
    this.installedHosts = new InstalledHosts(redis, this.keys);
    this.repairs = new RepairClaims(redis, this.keys);
    this.expiry = new ExpiryLedger(redis, this.keys);
  }

  /** Stores a new job, its targets and its sealed secret in one transaction. */
  async createJob(
    record: JobRecord,
    targets: TargetRecord[],
    secret: SecretBundle,
    secretTtlMs: number,
  ): Promise<Job> {
    const multi = this.redis.multi();
    this.secrets.stagePut(multi, record.id, secret, secretTtlMs);
    this.jobs.stageCreate(multi, record, targets);
    await multi.exec();
    return { ...record, targets };
  }
}
