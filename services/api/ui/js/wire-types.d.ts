/**
 * The API's answers as the approval page reads them: every wire shape the page uses, in one file.
 *
 * Types only: the browser never loads this file. The page's modules take their types from here
 * alone, and this file takes them from the wire contract (`@certfleet/contract`), the schemas the
 * API validates its answers against, so the page cannot drift from what the API sends.
 */

export type {
  CertificateSummary,
  ErrorBody,
  Job,
  JobList,
  JobStatus,
  PfxEncryption,
  RejectBody,
  Target,
  TargetErrorInfo as TargetError,
  TargetStatus,
} from '@certfleet/contract';

// Drift check (issue 16): the environments and their latest check.
export type { DriftCheck, DriftCheckStarted, DriftHost, EnvironmentView } from '@certfleet/contract';
