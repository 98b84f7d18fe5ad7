import type { Static } from 'typebox';
import { StringEnum } from './string-enum.js';

/** The statuses of a job still on its way. */
export const ACTIVE_JOB_STATUSES = [
  'pending_approval',
  // approved, waiting for its environments' maintenance window (README: Maintenance windows)
  'scheduled',
  'queued',
  'running',
  // canary rollout (README: Canary rollout): the canaries are installed and verified, the rest waits
  'canary',
] as const;

/** The final statuses: the job will not change any more (until someone retries it). */
export const FINAL_JOB_STATUSES = ['completed', 'partially_failed', 'failed', 'rejected'] as const;

/** Every job status, in lifecycle order. */
export const JOB_STATUSES = [...ACTIVE_JOB_STATUSES, ...FINAL_JOB_STATUSES] as const;

/** A job's status. */
export const JobStatus = StringEnum(JOB_STATUSES);
export type JobStatus = Static<typeof JobStatus>;

/** Every target status; `unchanged` counts as installed. */
export const TARGET_STATUSES = ['pending', 'running', 'installed', 'failed'] as const;

/** A target's status. */
export const TargetStatus = StringEnum(TARGET_STATUSES);
export type TargetStatus = Static<typeof TargetStatus>;

/**
 * Every reason one front-end could not be installed, as stored on the target and
 * shown by the API: the host's (first eight), the worker's own checks (next three) and a canary
 * that stopped the job before this host (`canary_failed`).
 */
export const TARGET_ERROR_CODES = [
  'host_unreachable',
  'host_timeout',
  'host_key_mismatch',
  'auth_failed',
  'permission_denied',
  'disk_full',
  'hash_mismatch',
  'remote_command_failed',
  'inventory_changed',
  'secret_expired',
  'interrupted',
  // canary rollout: the canary of the job failed, so this host was never touched
  'canary_failed',
] as const;

/** A target error's code. */
export const TargetErrorCode = StringEnum(TARGET_ERROR_CODES);
export type TargetErrorCode = Static<typeof TargetErrorCode>;
