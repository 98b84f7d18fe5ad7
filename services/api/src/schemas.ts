import { TARGET_ERROR_CODES } from '@certfleet/ssh';
import { JOB_STATUSES, TARGET_STATUSES } from '@certfleet/store';
import { Type, type Static } from 'typebox';

export const TICKET_PATTERN = '^[A-Za-z0-9._-]{1,64}$';
export const NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,63}$';
export const ENV_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';
export const JOB_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

/** A string enum whose static type is the union of its values. */
function oneOf<T extends string>(values: readonly T[], description?: string) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });
}

// Base64 with line breaks. Each character has one way to match (`=` only after the data,
// line breaks after it only after a `=`), so a failing match is linear (README: regex rule).
const BASE64 = '^[A-Za-z0-9+/\\r\\n]*(?:={1,2}[\\r\\n]*)?$';

/** A notify URL; its address is checked by the service (README: notify URLs), not by a pattern. */
const NotifyUrl = Type.Optional(
  Type.String({
    pattern: '^https?://',
    maxLength: 2048,
    description:
      'http(s) URL; a host that is or resolves to a loopback, link-local, private or metadata address is refused (422 notify_url_forbidden) unless FLEET_NOTIFY_ALLOW allows it',
  }),
);

export const NotifySchema = Type.Object(
  {
    webhookUrl: NotifyUrl,
    slackUrl: NotifyUrl,
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
    callbackUrl: NotifyUrl,
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
    status: Type.Optional(oneOf(JOB_STATUSES)),
    ticket: Type.Optional(Type.String({ pattern: TICKET_PATTERN })),
    limit: Type.Optional(Type.String({ pattern: '^(?:[1-9]\\d?|1\\d\\d|200)$' })),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$' })),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });

const PfxEncryptionSchema = Type.Object(
  {
    key: Type.String({ description: "the private key's encryption: 3des, aes-256-cbc, rc2-40, …" }),
    certificates: Type.String({ description: "the certificates' encryption; none when in clear" }),
    mac: Type.String({ description: 'the MAC hash: sha1, sha256, …' }),
    iterations: Type.Integer({ description: 'the highest KDF iteration count in the file' }),
  },
  { additionalProperties: true },
);

export const CertificateSchema = Type.Object(
  {
    subject: Type.String(),
    issuer: Type.String(),
    serialNumber: Type.String(),
    fingerprintSha256: Type.String({ description: 'lowercase hex, no separators' }),
    notBefore: Type.String({ format: 'date-time' }),
    notAfter: Type.String({ format: 'date-time' }),
    pfxEncryption: PfxEncryptionSchema,
    normalized: Type.Boolean({ description: 'true when the PFX was re-encoded to TripleDES-SHA1' }),
    normalizedFrom: Type.Optional(PfxEncryptionSchema),
    chain: Type.Array(Type.String(), { description: 'subjects from the leaf to the root' }),
    warnings: Type.Array(Type.String()),
  },
  { additionalProperties: true },
);

const TargetErrorSchema = Type.Object({
  code: Type.String({ description: TARGET_ERROR_CODES.join(', ') }),
  message: Type.String(),
});

export const TargetSchema = Type.Object(
  {
    id: Type.String({ description: '<environment>/<front-end>' }),
    environment: Type.String(),
    frontEnd: Type.String(),
    host: Type.String(),
    port: Type.Integer(),
    status: oneOf(TARGET_STATUSES),
    path: Type.String(),
    sha256: Type.Union([Type.String(), Type.Null()]),
    unchanged: Type.Boolean(),
    attempts: Type.Integer(),
    error: Type.Union([TargetErrorSchema, Type.Null()]),
    finishedAt: Type.Union([Type.String(), Type.Null()]),
    round: Type.Integer(),
    thumbprint: Type.Optional(
      Type.String({ description: 'windows: the certificate thumbprint in the store' }),
    ),
    store: Type.Optional(Type.String({ description: 'windows: the store it was imported into' })),
    keyProvider: Type.Optional(
      Type.String({ description: 'windows: the key storage provider that holds its private key' }),
    ),
    kept: Type.Optional(
      Type.Array(Type.String(), {
        description:
          'windows: what was left in place on purpose (a superseded certificate an IIS binding uses)',
      }),
    ),
  },
  { additionalProperties: true },
);

export const JobSchema = Type.Object(
  {
    id: Type.String(),
    ticket: Type.String(),
    name: Type.String(),
    environments: Type.Array(Type.String()),
    status: oneOf(JOB_STATUSES),
    source: Type.String({ description: 'api or webhook' }),
    submittedBy: Type.String(),
    approvedBy: Type.Union([Type.String(), Type.Null()]),
    rejectedBy: Type.Union([Type.String(), Type.Null()]),
    rejectReason: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    planHash: Type.String({
      description: 'binds an approval to the certificate, hosts, host keys and paths',
    }),
    replace: Type.Boolean(),
    round: Type.Integer({ description: '1, then one more per retry' }),
    certificate: CertificateSchema,
    paths: Type.Record(Type.String(), Type.String(), { description: 'the installed path per environment' }),
    notify: Type.Object({}, { additionalProperties: true }),
    pfxSha256: Type.String({ description: 'SHA-256 of the installed file' }),
    targets: Type.Array(TargetSchema),
  },
  { additionalProperties: true },
);

export const JobList = Type.Object({
  items: Type.Array(JobSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const EnvironmentList = Type.Array(
  Type.Object(
    {
      name: Type.String(),
      platform: Type.String(),
      installDir: Type.String(),
      frontEnds: Type.Array(Type.Object({ name: Type.String(), host: Type.String(), port: Type.Integer() })),
      certificates: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
    },
    { additionalProperties: true },
  ),
);

export const AuditList = Type.Object({
  items: Type.Array(
    Type.Object(
      {
        id: Type.String(),
        at: Type.String(),
        actor: Type.String(),
        action: Type.String(),
        jobId: Type.Optional(Type.String()),
        detail: Type.Object({}, { additionalProperties: true }),
      },
      { additionalProperties: true },
    ),
  ),
});

/** Error answers, described once for every route in the OpenAPI document. */
export function errors(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorBody]));
}

/**
 * The error statuses a route can answer whatever its handler does (README: API):
 * the HTTP layer's (400, 408, 431), the server's (500, 503), authentication's,
 * a path parameter's (404, 414), a body's (413, 415) and the rate limit's.
 */
export function commonErrorStatuses(route: {
  method: string | string[];
  url: string;
  roles?: readonly string[] | undefined;
  limited: boolean;
}): number[] {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const statuses = [400, 408, 431, 500, 503];
  if (route.roles) statuses.push(401, 403);
  if (route.url.includes(':')) statuses.push(404, 414);
  if (methods.includes('POST')) statuses.push(413, 415);
  if (route.limited) statuses.push(429);
  return statuses;
}
