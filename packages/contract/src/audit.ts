import { Type, type Static } from 'typebox';

/** One entry of the audit trail: who did what, when, to which job. */
export const AuditEntry = Type.Object(
  {
    id: Type.String({ description: 'the stream entry id, in time order' }),
    at: Type.String({ format: 'date-time' }),
    actor: Type.String(),
    action: Type.String(),
    jobId: Type.Optional(Type.String()),
    detail: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);
export type AuditEntry = Static<typeof AuditEntry>;

/** `GET /v1/audit`. */
export const AuditList = Type.Object({ items: Type.Array(AuditEntry) }, { additionalProperties: false });
export type AuditList = Static<typeof AuditList>;
