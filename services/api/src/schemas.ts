/**
 * The routes' schemas. What a route accepts and answers is the wire contract's
 * (`@certfleet/contract`); the query strings and path parameters are here.
 */
import {
  ENV_PATTERN,
  ErrorBody,
  JobId,
  JOB_ID_PATTERN,
  JOB_SOURCES,
  JOB_STATUSES,
  NAME_PATTERN,
  StringEnum,
  TICKET_PATTERN,
} from '@certfleet/contract';
import { Type, type Static } from 'typebox';

export const AuditQuery = Type.Object(
  {
    job: Type.Optional(Type.String({ pattern: JOB_ID_PATTERN })),
    limit: Type.Optional(Type.String({ pattern: '^(?:[1-9]\\d{0,2}|1000)$' })),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const JobParams = Type.Object({ id: JobId }, { additionalProperties: false });
export type JobParams = Static<typeof JobParams>;

export const ListQuery = Type.Object(
  {
    status: Type.Optional(StringEnum(JOB_STATUSES)),
    ticket: Type.Optional(Type.String({ pattern: TICKET_PATTERN })),
    source: Type.Optional(StringEnum(JOB_SOURCES)),
    limit: Type.Optional(Type.String({ pattern: '^(?:[1-9]\\d?|1\\d\\d|200)$' })),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$' })),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

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

/** An environment and a certificate name as path parameters (rollback). */
export const CertificateParams = Type.Object(
  { env: Type.String({ pattern: ENV_PATTERN }), name: Type.String({ pattern: NAME_PATTERN }) },
  { additionalProperties: false },
);
export type CertificateParams = Static<typeof CertificateParams>;
