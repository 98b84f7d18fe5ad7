/**
 * The only place that names queues, job names and payloads: the job catalog, the
 * queues that add jobs from it, and the Redis connection they share.
 */
export {
  JOBS,
  JobName,
  QueueName,
  InstallPayload,
  InstallTargetPayload,
  NotifyPayload,
  DriftCheckPayload,
  driftCheckJobId,
  driftSchedulerId,
  ReconcilePayload,
  reconcileJobId,
  JobFinishedNotice,
  ExpiryNotice,
  ExpiryWatchPayload,
  expiryWatchJobId,
  HelpdeskIntakePayload,
  helpdeskIntakeJobId,
  WindowStartPayload,
  windowStartJobId,
} from './catalog.js';
export type { JobEntry, PayloadOf, RetryPolicy } from './catalog.js';
export { FleetQueues } from './fleet-queues.js';
export { approveAndStart } from './start-approved.js';
export type { ApproveOutcome } from './start-approved.js';
export { queueWakeUp, roundOpening, startScheduled, windowGate } from './scheduled-start.js';
export type { StartScheduledOutcome, WindowGate } from './scheduled-start.js';
// canary rollout (README: Canary rollout)
export { continueAfterCanary } from './continue-canary.js';
export type { ContinueOutcome } from './continue-canary.js';
export type { FleetQueuesOptions, TargetRef } from './fleet-queues.js';
export { createRedis, deletePrefixKeys, duplicateRedis, prefixKeys } from './redis.js';
export type { RedisClient } from './redis.js';
export { SIGNATURE_HEADER, SIGNATURE_PATTERN, signBody, verifySignature } from './signature.js';
export type { SignatureCheck } from './signature.js';
export { createJobWorkers, MissingHandlerError, startJobWorkers } from './job-workers.js';
export type { JobHandler, JobHandlers, JobRun, JobWorkerSettings, JobWorkersOptions } from './job-workers.js';
