import { FINAL_JOB_STATUSES, type JobStatus } from '@certfleet/contract';

/** fleetctl's exit codes: scripts branch on them. */
export const ExitCode = {
  Ok: 0,
  /** Usage, connection or API error. */
  Error: 1,
  PartiallyFailed: 2,
  Failed: 3,
  Rejected: 4,
  /** fleetctl doctor: at least one check failed. */
  DoctorFailed: 5,
  /** fleetctl check: a certificate is missing or different on at least one front-end. */
  DriftFound: 6,
  /** fleetctl check: nothing missing or different seen, but at least one front-end could not be looked at. */
  DriftUnreachable: 7,
} as const;

/** True once a job will not change any more (until someone retries it). */
export function isFinal(status: JobStatus): boolean {
  return (FINAL_JOB_STATUSES as readonly JobStatus[]).includes(status);
}

/** Whether `--watch` stops here: a final status, or a canary job resting until someone continues it. */
export function isResting(status: JobStatus): boolean {
  return isFinal(status) || status === 'canary';
}

/** The exit code a job's status maps to; a job still on its way counts as success. */
export function exitCodeForStatus(status: JobStatus): number {
  switch (status) {
    case 'partially_failed':
      return ExitCode.PartiallyFailed;
    case 'failed':
      return ExitCode.Failed;
    case 'rejected':
      return ExitCode.Rejected;
    default:
      return ExitCode.Ok;
  }
}
