import { Type, type Static } from 'typebox';

export const TICKET_PATTERN = '^[A-Za-z0-9._-]{1,64}$';
export const NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,63}$';
export const ENV_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';
export const JOB_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
const BASE64 = '^[A-Za-z0-9+/\\r\\n]*={0,2}[\\r\\n]*$';

export const NotifySchema = Type.Object(
  {
    webhookUrl: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 })),
    slackUrl: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 })),
    email: Type.Optional(Type.Array(Type.String({ format: 'email', maxLength: 254 }), { maxItems: 20 })),
  },
  { additionalProperties: false },
);

const submitFields = {
  ticket: Type.String({ pattern: TICKET_PATTERN }),
  name: Type.String({ pattern: NAME_PATTERN }),
  environments: Type.Array(Type.String({ pattern: ENV_PATTERN }), {
    minItems: 1,
    maxItems: 50,
    uniqueItems: true,
  }),
  pfx: Type.String({ minLength: 1, pattern: BASE64 }),
  password: Type.String({ maxLength: 1024 }),
  caCertificates: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 65536 }), { maxItems: 10 }),
  ),
  normalize: Type.Optional(Type.Boolean()),
  replace: Type.Optional(Type.Boolean()),
  notify: Type.Optional(NotifySchema),
};

export const SubmitBody = Type.Object(submitFields, { additionalProperties: false });
export type SubmitBody = Static<typeof SubmitBody>;

const PERSON = '^[A-Za-z0-9._@-]{1,64}$';

export const WebhookBody = Type.Object(
  {
    ...submitFields,
    deliveryId: Type.String({ pattern: '^[A-Za-z0-9._:-]{1,128}$' }),
    requestedBy: Type.Optional(Type.String({ pattern: PERSON })),
    approvedBy: Type.Optional(Type.String({ pattern: PERSON })),
    callbackUrl: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 })),
  },
  { additionalProperties: false },
);
export type WebhookBody = Static<typeof WebhookBody>;

export const RejectBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 1000 }) },
  { additionalProperties: false },
);
export type RejectBody = Static<typeof RejectBody>;

export const AuditQuery = Type.Object(
  {
    job: Type.Optional(Type.String({ pattern: JOB_ID_PATTERN })),
    limit: Type.Optional(Type.String({ pattern: '^(?:[1-9]\\d{0,2}|1000)$' })),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const JobParams = Type.Object(
  { id: Type.String({ pattern: JOB_ID_PATTERN }) },
  { additionalProperties: false },
);
export type JobParams = Static<typeof JobParams>;

export const ListQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Union(
        ['pending_approval', 'queued', 'running', 'completed', 'partially_failed', 'failed', 'rejected'].map(
          (s) => Type.Literal(s),
        ),
      ),
    ),
    ticket: Type.Optional(Type.String({ pattern: TICKET_PATTERN })),
    limit: Type.Optional(Type.String({ pattern: '^(?:[1-9]\\d?|1\\d\\d|200)$' })),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$' })),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });
