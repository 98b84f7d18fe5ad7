/**
 * The records the store keeps. Every shape the API shows is the wire contract's
 * (`@certfleet/contract`), named here as the store has always named them; only
 * what never leaves the store (sealed key material, an audit event to write) is
 * defined here.
 */
import type { AuditEntry } from '@certfleet/contract';

export {
  JOB_STATUSES,
  TARGET_STATUSES,
  type AuditEntry,
  type EnvCertificate,
  type Job,
  type JobRecord,
  type JobStatus,
  type NotifySinks,
  type PreviousEnvCertificate,
  type TargetErrorInfo,
  type TargetStatus,
} from '@certfleet/contract';

/** One target of a job as stored (the contract's `Target`). */
export type { Target as TargetRecord } from '@certfleet/contract';

/** Key material sealed at rest; never in a record, a payload or a log. */
export interface SecretBundle {
  pfx: Buffer;
  password: string;
  caChain: Buffer[];
}

/** An audit entry to write: the store adds its id and time. */
export type AuditEvent = Pick<AuditEntry, 'actor' | 'action' | 'jobId'> & { detail?: AuditEntry['detail'] };
