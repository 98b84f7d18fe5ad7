import { Type, type Static } from 'typebox';
import { ENV_PATTERN, NAME_PATTERN } from './patterns.js';

/** The event name of an expiry warning (README: expiry watch). */
export const CERTIFICATE_EXPIRING = 'certificate.expiring';

/** The report the expiry watch sends, once per environment, certificate and threshold crossed. */
export const ExpiryReport = Type.Object(
  {
    event: Type.Literal(CERTIFICATE_EXPIRING),
    environment: Type.String({ pattern: ENV_PATTERN }),
    name: Type.String({ pattern: NAME_PATTERN }),
    notAfter: Type.String({ format: 'date-time' }),
    daysLeft: Type.Integer({ minimum: 1, description: 'whole days to notAfter, rounded up' }),
    threshold: Type.Integer({ minimum: 1, description: 'the FLEET_EXPIRY_WARN_DAYS threshold crossed' }),
    path: Type.String({ description: 'where the certificate is installed on every front-end' }),
    ticket: Type.String({ description: 'the ticket of the job that installed it' }),
  },
  { additionalProperties: false },
);
export type ExpiryReport = Static<typeof ExpiryReport>;

/** The answer of a route that queued one run of a job: its id. */
export function runAccepted(what: string) {
  return Type.Object({ id: Type.String({ description: what }) }, { additionalProperties: false });
}

/** `POST /v1/expiry/check`: the run of the expiry watch that was queued. */
export const ExpiryCheckAccepted = runAccepted('the expiry-watch run');
export type ExpiryCheckAccepted = Static<typeof ExpiryCheckAccepted>;
