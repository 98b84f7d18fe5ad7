import { Type, type Static } from 'typebox';

/** The operating system of an environment's front-ends. */
export const Platform = Type.Union([Type.Literal('linux'), Type.Literal('windows')]);
export type Platform = Static<typeof Platform>;

/** A certificate installed in an environment: its entry in the environment registry. */
export const EnvCertificate = Type.Object(
  {
    name: Type.String(),
    fingerprintSha256: Type.String(),
    subject: Type.String(),
    notAfter: Type.String({ format: 'date-time' }),
    path: Type.String(),
    jobId: Type.String({ description: 'the job that installed it' }),
    installedAt: Type.String({ format: 'date-time' }),
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
