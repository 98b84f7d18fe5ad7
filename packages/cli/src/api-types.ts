/**
 * The API's JSON as fleetctl reads it (API.md). Job, target and audit shapes are
 * the store's own types (and its list of statuses); the rest is the HTTP contract.
 */
import type { AuditEntry, EnvCertificate, Job, JobStatus, TargetRecord } from '@certfleet/store';

export type { AuditEntry, EnvCertificate, Job, JobStatus, TargetRecord };
export { JOB_STATUSES } from '@certfleet/store';

/** `POST /v1/jobs` body. */
export interface SubmitRequest {
  ticket: string;
  name: string;
  environments: string[];
  /** Base64 of the .pfx file. */
  pfx: string;
  password: string;
  /** Each base64 DER or PEM text. */
  caCertificates?: string[];
  normalize?: boolean;
  replace?: boolean;
  notify?: { webhookUrl?: string; slackUrl?: string; email?: string[] };
}

/** `GET /v1/jobs` answer. */
export interface JobList {
  items: Job[];
  nextCursor: string | null;
}

export interface ListJobsQuery {
  status?: JobStatus;
  ticket?: string;
  limit?: number;
  cursor?: string;
}

/** One entry of `GET /v1/environments`. */
export interface EnvironmentView {
  name: string;
  platform: 'linux' | 'windows';
  installDir: string;
  frontEnds: { name: string; host: string; port: number }[];
  certificates: EnvCertificate[];
}

/** `POST /v1/environments/:env/doctor`: what each front-end is like, nothing changed. */
export interface DoctorReport {
  environment: string;
  platform: string;
  ok: boolean;
  hosts: {
    frontEnd: string;
    host: string;
    port: number;
    ok: boolean;
    checks: { check: string; ok: boolean; detail: string }[];
  }[];
}
