/**
 * certfleet's records in Redis: `FleetStore` holds one repository per aggregate (their classes are
 * exported as types: only the store builds them), the key map, the job lifecycle and metric names.
 */
export * from './types.js';
export { FleetStore } from './fleet-store.js';
export type { FleetStoreOptions } from './fleet-store.js';
export type { RedisClient } from './redis-client.js';
export { FleetKeys, keyPrefix } from './keys.js';
export type { JobRepository } from './job-repository.js';
export type { ListQuery, ListResult, TransitionArgs, TransitionResult } from './job-repository.js';
export { isValidCursor } from './job-cursor.js';
export { canTransition, isFinalStatus } from './lifecycle.js';
export type {
  FinalStatus,
  RecordPatch,
  TransitionName,
  TransitionOutcome,
  TransitionPatch,
  TransitionSource,
} from './lifecycle.js';
export { TransitionError } from './transition-error.js';
export type { SealedSecrets } from './sealed-secrets.js';
export type { SealedSecretsOptions } from './sealed-secrets.js';
export type { EnvRegistry } from './env-registry.js';
export type { AuditLog } from './audit-log.js';
export type { WebhookDeliveries } from './webhook-deliveries.js';
export type { ExpiryLedger } from './expiry-ledger.js';
export type { ExpiryClaim } from './expiry-ledger.js';
export type { WebhookClaim } from './webhook-deliveries.js';
export type { NotificationLedger } from './notification-ledger.js';
export type { FleetMetrics } from './fleet-metrics.js';
export type { MetricsSnapshot } from './fleet-metrics.js';
export { METRIC_NAMES, METRIC_PREFIX } from './metric-names.js';
export type { NotificationResult } from './metric-names.js';
export type { DriftChecks } from './drift-checks.js';
export type { DriftCheckBegun, DriftCheckStart } from './drift-checks.js';
// Retention and reconcile (README: Keeping environments right).
export { RetainedSecrets, type RetainedSlot } from './retained-secrets.js';
export { claimForJob, releaseForJob } from './job-claim.js';
export { InstalledHosts } from './installed-hosts.js';
export type { HostInstall } from './installed-hosts.js';
export { RepairClaims } from './repair-claims.js';
export type { RepairNeeded } from './repair-claims.js';
export { unsealWithAny } from './seal.js';
// Help desks (README: Help desks).
export type { HelpdeskIntakes, IntakeFiles, PendingIntake, TicketLink } from './helpdesk-intakes.js';
export { jobIdAgeMs, newJobId } from './job-id.js';
// Uninstall (README: Uninstall).
export { uninstallHolds, type UninstallClaims } from './uninstall-claims.js';
export { pendingJobRecord, type NewJobFields } from './pending-job-record.js';
