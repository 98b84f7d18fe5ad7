/**
 * The API's JSON as fleetctl reads it: the wire contract's types (`@certfleet/contract`),
 * under the names fleetctl has always used, and the CLI's own query options.
 */
import type { JobSource, JobStatus, SubmitBody } from '@certfleet/contract';

export type {
  AuditEntry,
  DoctorReport,
  DriftCheck,
  DriftCheckStarted,
  EnvCertificate,
  EnvironmentView,
  ExpiryCheckAccepted,
  Job,
  JobList,
  JobSource,
  JobStatus,
  ReconcileAccepted,
  RepairsNeeded,
  Target as TargetRecord,
} from '@certfleet/contract';
export { JOB_SOURCES, JOB_STATUSES } from '@certfleet/contract';

/** `POST /v1/jobs` body. */
export type SubmitRequest = SubmitBody;

/** What `GET /v1/jobs` is asked for; `limit` is sent as text. */
export interface ListJobsQuery {
  status?: JobStatus;
  ticket?: string;
  /** `reconcile`: the repair jobs. */
  source?: JobSource;
  limit?: number;
  cursor?: string;
}
