import { Type, type Static } from 'typebox';
import { StringEnum } from './string-enum.js';

/** What a drift check found for one certificate on one front-end. */
export const DRIFT_STATES = ['ok', 'missing', 'different', 'unreachable'] as const;
export type DriftCheckState = (typeof DRIFT_STATES)[number];

/** A drift check runs until every front-end is looked at. */
export const DRIFT_CHECK_STATUSES = ['running', 'done'] as const;

/** One certificate's verdict on one host. */
export const DriftCertificate = Type.Object(
  {
    name: Type.String(),
    state: StringEnum(DRIFT_STATES),
    detail: Type.String({ description: 'what differs, or what was checked when ok' }),
  },
  { additionalProperties: false },
);
export type DriftCertificate = Static<typeof DriftCertificate>;

/** One front-end of a drift check, with a verdict per registry certificate. */
export const DriftHost = Type.Object(
  {
    frontEnd: Type.String(),
    host: Type.String(),
    certificates: Type.Array(DriftCertificate),
  },
  { additionalProperties: false },
);
export type DriftHost = Static<typeof DriftHost>;

/** `GET /v1/environments/:env/check`: hosts appear as they finish while `running`. */
export const DriftCheck = Type.Object(
  {
    id: Type.String(),
    environment: Type.String(),
    status: StringEnum(DRIFT_CHECK_STATUSES),
    trigger: StringEnum(['schedule', 'api'] as const, 'who started it'),
    requestedBy: Type.Union([Type.String(), Type.Null()], { description: 'the principal, or null' }),
    startedAt: Type.String({ format: 'date-time' }),
    finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    total: Type.Integer({ minimum: 0, description: 'front-ends to look at' }),
    hosts: Type.Array(DriftHost),
  },
  { additionalProperties: false },
);
export type DriftCheck = Static<typeof DriftCheck>;

/** `POST /v1/environments/:env/check`: the check now running (a new one, or the one already running). */
export const DriftCheckStarted = Type.Object(
  {
    id: Type.String(),
    alreadyRunning: Type.Boolean({
      description: 'false: this request started it; true: it was running already, and this is its id',
    }),
  },
  { additionalProperties: false },
);
export type DriftCheckStarted = Static<typeof DriftCheckStarted>;

/** How bad a state is for a host's summary: missing, then different, then unreachable, then ok. */
const SEVERITY: Record<DriftCheckState, number> = { ok: 0, unreachable: 1, different: 2, missing: 3 };

/** A host's worst state over its certificates (`ok` for a host with none). */
export function worstDriftState(host: Pick<DriftHost, 'certificates'>): DriftCheckState {
  return host.certificates.reduce<DriftCheckState>(
    (worst, c) => (SEVERITY[c.state] > SEVERITY[worst] ? c.state : worst),
    'ok',
  );
}

/** One certificate not as installed on one front-end. */
export interface DriftFinding {
  frontEnd: string;
  host: string;
  name: string;
  state: Exclude<DriftCheckState, 'ok'>;
  detail: string;
}

/** Every host × certificate of a check that is not ok: what a repair would act on. */
export function driftFindings(check: Pick<DriftCheck, 'hosts'>): DriftFinding[] {
  return check.hosts.flatMap((h) =>
    h.certificates
      .filter((c) => c.state !== 'ok')
      .map((c) => ({
        frontEnd: h.frontEnd,
        host: h.host,
        name: c.name,
        state: c.state as Exclude<DriftCheckState, 'ok'>,
        detail: c.detail,
      })),
  );
}
