import type { CertificateSummary } from '@certfleet/certs';

/** Every job status, in lifecycle order. */
export const JOB_STATUSES = [
  'pending_approval',
  'queued',
  'running',
  'completed',
  'partially_failed',
  'failed',
  'rejected',
] as const;

export type JobStatus = (typeof JOB_STATUSES)[number];

export const TARGET_STATUSES = ['pending', 'running', 'installed', 'failed'] as const;

export type TargetStatus = (typeof TARGET_STATUSES)[number];

export interface TargetErrorInfo {
  code: string;
  message: string;
}

export interface TargetRecord {
  /** `<environment>/<front-end>` */
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
  error: TargetErrorInfo | null;
  finishedAt: string | null;
  /** The round (1 = first run, then one per retry) that last touched this target. */
  round: number;
  /** Windows: the certificate's thumbprint in the machine store. */
  thumbprint?: string;
  /** Windows: the store it was imported into, e.g. `LocalMachine\My`. */
  store?: string;
  /** Windows: the key storage provider that holds its private key. */
  keyProvider?: string;
  /** Windows: what was left in place on purpose, and why. */
  kept?: string[];
}

export interface NotifySinks {
  webhookUrl?: string;
  /** A ticket system's callback (signed webhook, like webhookUrl). */
  callbackUrl?: string;
  slackUrl?: string;
  email?: string[];
}

/** The job record as stored (without targets, which live in their own hash). */
export interface JobRecord {
  id: string;
  ticket: string;
  name: string;
  environments: string[];
  status: JobStatus;
  source: 'api' | 'webhook';
  submittedBy: string;
  approvedBy: string | null;
  rejectedBy: string | null;
  rejectReason: string | null;
  createdAt: string;
  updatedAt: string;
  planHash: string;
  replace: boolean;
  round: number;
  certificate: CertificateSummary;
  paths: Record<string, string>;
  notify: NotifySinks;
  /** SHA-256 of the file installed (the normalised one when normalised). */
  pfxSha256: string;
}

/** What API clients see: the record with its targets. */
export interface Job extends JobRecord {
  targets: TargetRecord[];
}

/** Key material sealed at rest; never in a record, a payload or a log. */
export interface SecretBundle {
  pfx: Buffer;
  password: string;
  caChain: Buffer[];
}

export interface EnvCertificate {
  name: string;
  fingerprintSha256: string;
  subject: string;
  notAfter: string;
  path: string;
  jobId: string;
  installedAt: string;
}

export interface AuditEvent {
  actor: string;
  action: string;
  jobId?: string;
  detail?: Record<string, unknown>;
}

export interface AuditEntry extends AuditEvent {
  id: string;
  at: string;
  detail: Record<string, unknown>;
}
