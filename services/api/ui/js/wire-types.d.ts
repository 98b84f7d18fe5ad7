/**
 * The API's answers as the approval page reads them: every wire shape the page uses, in one file.
 *
 * These mirror the response schemas in `services/api/src/schemas.ts` (the answers are serialized
 * through them, so every field not marked optional is present). When the wire contract has its
 * own package, each declaration here becomes a re-export of it, e.g.
 * `export type { Job } from '@certfleet/contract';`, and the page's modules stay as they are:
 * they import their types from this file only. Types only: the browser never loads this file.
 */

/** A job's place in its lifecycle (`JOB_STATUSES`). */
export type JobStatus =
  'pending_approval' | 'queued' | 'running' | 'completed' | 'partially_failed' | 'failed' | 'rejected';

/** One target's state (`TARGET_STATUSES`). */
export type TargetStatus = 'pending' | 'running' | 'installed' | 'failed';

/** How a PFX file is protected. */
export interface PfxEncryption {
  /** The private key's encryption: 3des, aes-256-cbc, rc2-40, … */
  key: string;
  /** The certificates' encryption; none when in clear. */
  certificates: string;
  /** The MAC hash: sha1, sha256, … */
  mac: string;
  /** The highest KDF iteration count in the file. */
  iterations: number;
}

/** What intake read from the submitted PFX. */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  serialNumber: string;
  /** Lowercase hex, no separators. */
  fingerprintSha256: string;
  /** ISO 8601. */
  notBefore: string;
  /** ISO 8601. */
  notAfter: string;
  pfxEncryption: PfxEncryption;
  /** True when the PFX was re-encoded to TripleDES-SHA1. */
  normalized: boolean;
  /** The submitted file's protection, when it was re-encoded. */
  normalizedFrom?: PfxEncryption;
  /** Subjects from the leaf to the root. */
  chain: string[];
  warnings: string[];
}

/** Why one target failed. */
export interface TargetError {
  code: string;
  message: string;
}

/** One front-end of one environment, and what happened there. */
export interface Target {
  /** `<environment>/<front-end>`. */
  id: string;
  environment: string;
  frontEnd: string;
  host: string;
  port: number;
  status: TargetStatus;
  path: string;
  sha256: string | null;
  unchanged: boolean;
  attempts: number;
  error: TargetError | null;
  /** ISO 8601, once the target is done. */
  finishedAt: string | null;
  /** Windows: the certificate thumbprint in the store. */
  thumbprint?: string;
  /** Windows: the store it was imported into. */
  store?: string;
}

/** A job as `GET /v1/jobs/:id` answers it. */
export interface Job {
  id: string;
  ticket: string;
  name: string;
  environments: string[];
  status: JobStatus;
  /** api or webhook. */
  source: string;
  submittedBy: string;
  approvedBy: string | null;
  rejectedBy: string | null;
  rejectReason: string | null;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601. */
  updatedAt: string;
  /** Binds an approval to the certificate, hosts, host keys and paths. */
  planHash: string;
  replace: boolean;
  certificate: CertificateSummary;
  /** The installed path per environment. */
  paths: Record<string, string>;
  targets: Target[];
}

/** A page of jobs as `GET /v1/jobs` answers it. */
export interface JobList {
  items: Job[];
  nextCursor: string | null;
}

/** The body of every error answer. */
export interface ErrorBody {
  error: string;
  message: string;
}

/** The body of `POST /v1/jobs/:id/reject`. */
export interface RejectBody {
  reason: string;
}
