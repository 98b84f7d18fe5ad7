import { Type, type Static } from 'typebox';
import { CertificateSummary } from './certificate.js';
import { ENV_PATTERN, JOB_ID_PATTERN, NAME_PATTERN, PERSON_PATTERN, TICKET_PATTERN } from './patterns.js';
import { JobStatus, TargetErrorCode, TargetStatus } from './statuses.js';
import { StringEnum } from './string-enum.js';

/** A notify URL; its address is checked by the service (README: notify URLs), not by a pattern. */
const NotifyUrl = Type.String({
  pattern: '^https?://',
  maxLength: 2048,
  description:
    'http(s) URL; a host that is or resolves to a loopback, link-local, private or metadata address is refused (422 notify_url_forbidden) unless FLEET_NOTIFY_ALLOW allows it',
});

const notifyRequestFields = {
  webhookUrl: Type.Optional(NotifyUrl),
  slackUrl: Type.Optional(NotifyUrl),
  email: Type.Optional(Type.Array(Type.String({ format: 'email', maxLength: 254 }), { maxItems: 20 })),
};

/** The sinks a submitter names (`notify` of the submit body). */
export const NotifyRequest = Type.Object(notifyRequestFields, { additionalProperties: false });
export type NotifyRequest = Static<typeof NotifyRequest>;

/** A job's sinks as stored and shown: the submitter's, and a ticket system's callback. */
export const NotifySinks = Type.Object(
  {
    ...notifyRequestFields,
    callbackUrl: Type.Optional(
      Type.String({ description: "a ticket system's callback (signed webhook, like webhookUrl)" }),
    ),
  },
  { additionalProperties: false },
);
export type NotifySinks = Static<typeof NotifySinks>;

/** Why a target failed. */
export const TargetErrorInfo = Type.Object(
  {
    code: TargetErrorCode,
    message: Type.String({ description: 'what the operator should do' }),
  },
  { additionalProperties: false },
);
export type TargetErrorInfo = Static<typeof TargetErrorInfo>;

/** One environment × front-end of a job. */
export const Target = Type.Object(
  {
    id: Type.String({ description: '<environment>/<front-end>' }),
    environment: Type.String(),
    frontEnd: Type.String(),
    host: Type.String(),
    port: Type.Integer(),
    status: TargetStatus,
    path: Type.String(),
    sha256: Type.Union([Type.String(), Type.Null()]),
    unchanged: Type.Boolean(),
    attempts: Type.Integer(),
    error: Type.Union([TargetErrorInfo, Type.Null()]),
    finishedAt: Type.Union([Type.String(), Type.Null()]),
    round: Type.Integer({
      description: 'the round (1 = first run, then one per retry) that last touched it',
    }),
    thumbprint: Type.Optional(
      Type.String({ description: 'windows: the certificate thumbprint in the store' }),
    ),
    store: Type.Optional(
      Type.String({ description: 'windows: the store it was imported into, e.g. LocalMachine\\My' }),
    ),
    keyProvider: Type.Optional(
      Type.String({ description: 'windows: the key storage provider that holds its private key' }),
    ),
    kept: Type.Optional(
      Type.Array(Type.String(), {
        description:
          'windows: what was left in place on purpose (a superseded certificate an IIS binding uses)',
      }),
    ),
    removed: Type.Optional(
      Type.Array(Type.String(), {
        description:
          'uninstall: what was removed from the host (file:<path>, store:<store>:<thumbprint>, key:<thumbprint>); empty when it was already gone',
      }),
    ),
  },
  { additionalProperties: false },
);
export type Target = Static<typeof Target>;

/** The state of a target no round has touched yet: what a plan starts every target with. */
export const NOT_STARTED = {
  status: 'pending',
  sha256: null,
  unchanged: false,
  attempts: 0,
  error: null,
  finishedAt: null,
  round: 1,
} as const satisfies Partial<Target>;

/** What a job does on its hosts: install a certificate, put the previous one back, or remove it (README: Changing a certificate safely). */
export const JOB_ACTIONS = ['install', 'rollback', 'uninstall'] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];

// --- canary rollout (README: Canary rollout) ----------------------------------------

/** How a job reaches the front-ends of an environment: all at once, or one canary first. */
export const ROLLOUTS = ['all', 'canary'] as const;
export type Rollout = (typeof ROLLOUTS)[number];

/** After a verified canary: wait for an approver (`POST /v1/jobs/:id/continue`), or go on at once. */
export const CANARY_CONTINUES = ['approve', 'auto'] as const;
export type CanaryContinue = (typeof CANARY_CONTINUES)[number];

/** A canary job's plan, fixed at submission: which targets go first, and what happens after them. */
export const CanaryPlan = Type.Object(
  {
    targets: Type.Array(Type.String(), {
      minItems: 1,
      description: 'the canary of each canary environment (<environment>/<front-end>): its first front-end',
    }),
    continue: StringEnum(
      CANARY_CONTINUES,
      'approve: the job rests in canary until an approver continues it; auto: it goes on at once',
    ),
    round: Type.Integer({ minimum: 1, description: 'the round that installs the canaries (1)' }),
    continuedBy: Type.Union([Type.String(), Type.Null()], {
      description: 'who continued it (system for auto); null until then',
    }),
  },
  { additionalProperties: false },
);
export type CanaryPlan = Static<typeof CanaryPlan>;

// -------------------------------------------------------------------------------------

const jobRecordFields = {
  id: Type.String(),
  ticket: Type.String(),
  name: Type.String(),
  environments: Type.Array(Type.String()),
  status: JobStatus,
  source: Type.Union([Type.Literal('api'), Type.Literal('webhook'), Type.Literal('reconcile')], {
    description: 'reconcile: a repair job certfleet made for hosts that lack a certificate',
  }),
  reason: Type.Optional(Type.String({ description: 'why a repair job was made, e.g. "new front-end fe-7"' })),
  action: Type.Optional(
    StringEnum(
      JOB_ACTIONS,
      'what the job does on each host; absent: install (every job before rollback and uninstall)',
    ),
  ),
  canary: Type.Optional(CanaryPlan),
  submittedBy: Type.String(),
  approvedBy: Type.Union([Type.String(), Type.Null()]),
  rejectedBy: Type.Union([Type.String(), Type.Null()]),
  rejectReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  planHash: Type.String({ description: 'binds an approval to the certificate, hosts, host keys and paths' }),
  replace: Type.Boolean(),
  round: Type.Integer({ description: '1, then one more per retry' }),
  certificate: CertificateSummary,
  paths: Type.Record(Type.String(), Type.String(), { description: 'the installed path per environment' }),
  notify: NotifySinks,
  pfxSha256: Type.String({
    description: 'SHA-256 of the installed file (the normalised one when normalised)',
  }),
  // Maintenance windows (README: Maintenance windows)
  startsAt: Type.Optional(
    Type.String({
      format: 'date-time',
      description:
        'scheduled: when its maintenance window opens and the round starts; kept once it started (or was started at once)',
    }),
  ),
};

/** Where a job came from. */
export const JOB_SOURCES = ['api', 'webhook', 'reconcile'] as const;
export type JobSource = (typeof JOB_SOURCES)[number];

/** The job record as stored (without targets, which live in their own hash). */
export const JobRecord = Type.Object(jobRecordFields, { additionalProperties: false });
export type JobRecord = Static<typeof JobRecord>;

/** A job as the API answers it: the record with its targets. */
export const Job = Type.Object(
  { ...jobRecordFields, targets: Type.Array(Target) },
  { additionalProperties: false },
);
export type Job = Static<typeof Job>;

/** `GET /v1/jobs`. */
export const JobList = Type.Object(
  { items: Type.Array(Job), nextCursor: Type.Union([Type.String(), Type.Null()]) },
  { additionalProperties: false },
);
export type JobList = Static<typeof JobList>;

// Base64 with line breaks. Each character has one way to match (`=` only after the data,
// line breaks after it only after a `=`), so a failing match is linear (README: regex rule).
const BASE64 = '^[A-Za-z0-9+/\\r\\n]*(?:={1,2}[\\r\\n]*)?$';

const submitFields = {
  ticket: Type.String({ pattern: TICKET_PATTERN }),
  name: Type.String({ pattern: NAME_PATTERN }),
  environments: Type.Array(Type.String({ pattern: ENV_PATTERN }), {
    minItems: 1,
    maxItems: 50,
    uniqueItems: true,
  }),
  pfx: Type.String({ minLength: 1, pattern: BASE64 }),
  password: Type.Optional(
    Type.String({
      maxLength: 1024,
      description: 'leave out for a PFX made without password; "" tries both empty forms',
    }),
  ),
  caCertificates: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 65536 }), { maxItems: 10 }),
  ),
  normalize: Type.Optional(Type.Boolean()),
  replace: Type.Optional(Type.Boolean()),
  rollout: Type.Optional(
    StringEnum(ROLLOUTS, "canary: one front-end per environment first; default: each environment's rollout"),
  ),
  notify: Type.Optional(NotifyRequest),
};

/** `POST /v1/jobs`. Unknown fields are refused, not dropped. */
export const SubmitBody = Type.Object(submitFields, { additionalProperties: false });
export type SubmitBody = Static<typeof SubmitBody>;

/** `POST /v1/webhooks/ticket`: the submit body and the ticket system's own fields. */
export const WebhookBody = Type.Object(
  {
    ...submitFields,
    deliveryId: Type.String({ pattern: '^[A-Za-z0-9._:-]{1,128}$' }),
    requestedBy: Type.Optional(Type.String({ pattern: PERSON_PATTERN })),
    approvedBy: Type.Optional(Type.String({ pattern: PERSON_PATTERN })),
    callbackUrl: Type.Optional(NotifyUrl),
  },
  { additionalProperties: false },
);
export type WebhookBody = Static<typeof WebhookBody>;

/** `POST /v1/jobs/:id/reject`. */
export const RejectBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 1000 }) },
  { additionalProperties: false },
);
export type RejectBody = Static<typeof RejectBody>;

/** `POST /v1/jobs/:id/start-now`: why a scheduled job may not wait for its window (audited). */
export const StartNowBody = RejectBody;
export type StartNowBody = RejectBody;

/** A job id as a path parameter. */
export const JobId = Type.String({ pattern: JOB_ID_PATTERN });

/** Every error answer. */
export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'the code (API.md)' }),
    message: Type.String({ description: 'what to do' }),
  },
  { additionalProperties: false },
);
export type ErrorBody = Static<typeof ErrorBody>;
