/**
 * The API's answers as the approval page reads them: every wire shape the page uses, in one file.
 *
 * Types only: the browser never loads this file, and the page's modules take their types from
 * here alone. The job, its targets and its certificate summary are re-exported from the packages
 * the API serializes them from; when the wire contract has its own package, these lines point
 * at it instead and no module of the page changes.
 */

import type { Job } from '@certfleet/store';

export type { CertificateSummary, PfxEncryption } from '@certfleet/certs';
export type {
  Job,
  JobStatus,
  TargetErrorInfo as TargetError,
  TargetRecord as Target,
  TargetStatus,
} from '@certfleet/store';

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

// Drift check (issue 16): the environments and their latest check.
export type { DriftCheck, DriftCheckStarted, DriftHost, EnvironmentView } from '@certfleet/contract';
