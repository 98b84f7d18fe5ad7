import { Type, type Static } from 'typebox';
import { runAccepted } from './expiry.js';

/** The operating system of an environment's front-ends. */
export const Platform = Type.Union([Type.Literal('linux'), Type.Literal('windows')]);
export type Platform = Static<typeof Platform>;

/** One file written to each front-end, as the registry records it. */
export const RegistryFile = Type.Object(
  {
    path: Type.String(),
    sha256: Type.String({ description: 'lowercase hex' }),
    size: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type RegistryFile = Static<typeof RegistryFile>;

const envCertificateFields = {
  name: Type.String(),
  fingerprintSha256: Type.String(),
  subject: Type.String(),
  notAfter: Type.String({ format: 'date-time' }),
  path: Type.String(),
  jobId: Type.String({ description: 'the job that installed it' }),
  installedAt: Type.String({ format: 'date-time' }),
  // What the drift check compares each host against. Optional only because entries
  // written before these fields existed lack them; every finished job writes them.
  sha256: Type.Optional(Type.String({ description: 'SHA-256 of the .pfx bytes written to each host' })),
  size: Type.Optional(Type.Integer({ minimum: 0, description: 'length of that file in bytes' })),
  caFiles: Type.Optional(
    Type.Array(RegistryFile, { description: 'the <name>.ca<N>.cer files, N = 1…, in chain order' }),
  ),
  thumbprint: Type.Optional(
    Type.String({ description: 'windows: SHA-1 thumbprint of the certificate in the store' }),
  ),
  store: Type.Optional(Type.String({ description: 'windows: the store it was imported into' })),
  requester: Type.Optional(Type.String({ description: 'who submitted the job that installed it' })),
  ticket: Type.Optional(Type.String({ description: 'the ticket of that job' })),
};

/** The certificate a rotation (or a rollback) replaced under a name: what a rollback puts back. */
export const PreviousEnvCertificate = Type.Object(envCertificateFields, { additionalProperties: false });
export type PreviousEnvCertificate = Static<typeof PreviousEnvCertificate>;

/** A certificate installed in an environment: its entry in the environment registry, the desired state. */
export const EnvCertificate = Type.Object(
  {
    ...envCertificateFields,
    previous: Type.Optional(PreviousEnvCertificate),
  },
  { additionalProperties: false },
);
export type EnvCertificate = Static<typeof EnvCertificate>;

/** A front-end as the API shows it (no credentials). */
export const FrontEndView = Type.Object(
  { name: Type.String(), host: Type.String(), port: Type.Integer() },
  { additionalProperties: false },
);
export type FrontEndView = Static<typeof FrontEndView>;

/** An environment as the API shows it: where a certificate goes, and on which hosts (no credentials). */
export const EnvironmentSummary = Type.Object(
  {
    name: Type.String(),
    platform: Platform,
    installDir: Type.String(),
    frontEnds: Type.Array(FrontEndView),
  },
  { additionalProperties: false },
);
export type EnvironmentSummary = Static<typeof EnvironmentSummary>;

/** `POST /v1/inventory/reload`: the environments now loaded. */
export const EnvironmentSummaryList = Type.Array(EnvironmentSummary);
export type EnvironmentSummaryList = Static<typeof EnvironmentSummaryList>;

/** An environment and the certificates installed there. */
export const EnvironmentView = Type.Object(
  { ...EnvironmentSummary.properties, certificates: Type.Array(EnvCertificate) },
  { additionalProperties: false },
);
export type EnvironmentView = Static<typeof EnvironmentView>;

/** `GET /v1/environments`. */
export const EnvironmentList = Type.Array(EnvironmentView);
export type EnvironmentList = Static<typeof EnvironmentList>;

/** One check of one front-end. */
export const DoctorCheck = Type.Object(
  {
    check: Type.String({
      description: 'host_key, login, install_dir, free_space, clock_skew, powershell, …',
    }),
    ok: Type.Boolean(),
    detail: Type.String(),
  },
  { additionalProperties: false },
);
export type DoctorCheck = Static<typeof DoctorCheck>;

/** `POST /v1/environments/:env/doctor`: what each front-end is like, nothing changed. */
export const DoctorReport = Type.Object(
  {
    environment: Type.String(),
    platform: Platform,
    ok: Type.Boolean({ description: 'every check of every front-end passed' }),
    hosts: Type.Array(
      Type.Object(
        {
          frontEnd: Type.String(),
          host: Type.String(),
          port: Type.Integer(),
          ok: Type.Boolean(),
          checks: Type.Array(DoctorCheck),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type DoctorReport = Static<typeof DoctorReport>;

/** `GET /v1/reconcile`: the repairs that wait for a new submission (`retain: false`, or no secret kept). */
export const RepairsNeeded = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          environment: Type.String(),
          name: Type.String(),
          frontEnd: Type.String(),
          reason: Type.String({ description: 'what is missing where, and what to submit' }),
          at: Type.String({ format: 'date-time' }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type RepairsNeeded = Static<typeof RepairsNeeded>;

/** `POST /v1/reconcile`: the reconcile run queued. */
export const ReconcileAccepted = runAccepted('the reconcile run');
export type ReconcileAccepted = Static<typeof ReconcileAccepted>;
