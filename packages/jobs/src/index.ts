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
  JobFinishedNotice,
  ExpiryNotice,
  ExpiryWatchPayload,
  expiryWatchJobId,
  installJobId,
  notifyJobId,
  targetJobId,
} from './catalog.js';
export type { JobEntry, PayloadOf, RetryPolicy } from './catalog.js';
export { FleetQueues } from './fleet-queues.js';
export type { FleetQueuesOptions, TargetRef } from './fleet-queues.js';
export { PayloadError, parsePayload } from './payload.js';
export { createRedis, deletePrefixKeys, duplicateRedis, prefixKeys } from './redis.js';
export type { RedisClient } from './redis.js';
export {
  isRedisUrl,
  parseRedisUrl,
  redisConnectionFromUrl,
  redisUrlForm,
  REDIS_URL_FORMS,
} from './redis-url.js';
export type { RedisConnectionSpec, RedisNode, RedisTarget } from './redis-url.js';
export {
  SIGNATURE_HEADER,
  SIGNATURE_PATTERN,
  SIGNATURE_TOLERANCE_S,
  signBody,
  verifySignature,
} from './signature.js';
export type { SignatureCheck } from './signature.js';
export { createJobWorkers, MissingHandlerError, startJobWorkers } from './job-workers.js';
export type { JobHandler, JobHandlers, JobRun, JobWorkerSettings, JobWorkersOptions } from './job-workers.js';
