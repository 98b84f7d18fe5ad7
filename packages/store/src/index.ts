export * from './types.js';
export { FleetStore } from './fleet-store.js';
export type { FleetStoreOptions } from './fleet-store.js';
export type { RedisClient } from './redis-client.js';
export { FleetKeys, keyPrefix } from './keys.js';
export { JobRepository } from './job-repository.js';
export type { ListQuery, ListResult, TransitionArgs, TransitionResult } from './job-repository.js';
export { isValidCursor } from './job-cursor.js';
export { canTransition, FINAL_STATUSES, isFinalStatus, TRANSITIONS, transitionOutcome } from './lifecycle.js';
export type {
  FinalStatus,
  RecordPatch,
  TransitionName,
  TransitionOutcome,
  TransitionPatch,
  TransitionSource,
} from './lifecycle.js';
export { TransitionError } from './transition-error.js';
export { SealedSecrets } from './sealed-secrets.js';
export type { SealedSecretsOptions } from './sealed-secrets.js';
export { EnvRegistry } from './env-registry.js';
export { ExpiryLedger } from './expiry-ledger.js';
export type { ExpiryClaim } from './expiry-ledger.js';
export { AuditLog } from './audit-log.js';
export { WebhookDeliveries } from './webhook-deliveries.js';
export type { WebhookClaim } from './webhook-deliveries.js';
export { NotificationLedger } from './notification-ledger.js';
export { FleetMetrics } from './fleet-metrics.js';
export type { MetricsSnapshot } from './fleet-metrics.js';
export { INSTALL_BUCKETS, METRIC_NAMES, METRIC_PREFIX } from './metric-names.js';
export type { NotificationResult } from './metric-names.js';
export { seal, unseal, SealError } from './seal.js';
