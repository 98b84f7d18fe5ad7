import { Type, type Static } from 'typebox';

/** How a PFX is protected, as shown on the job. */
export const PfxEncryption = Type.Object(
  {
    key: Type.String({
      description:
        "the private key's encryption: 3des, aes-256-cbc, rc2-40, rc4-128, none, … ('+' joins several)",
    }),
    certificates: Type.String({
      description: "the certificates' encryption, same names; none when in clear",
    }),
    mac: Type.String({ description: "the integrity MAC's hash: sha1, sha256, …; none without MAC" }),
    iterations: Type.Integer({ description: 'the highest KDF iteration count in the file' }),
  },
  { additionalProperties: false },
);
export type PfxEncryption = Static<typeof PfxEncryption>;

/** The two forms of "no password" in PKCS#12, as `certificate.emptyPassword` reports them. */
export const EmptyPassword = Type.Object(
  {
    submitted: Type.Union(
      [Type.Literal('null'), Type.Literal('empty'), Type.Literal('both'), Type.Literal('none')],
      {
        description:
          'the form the file used: null (a zero-length password) or empty (two zero bytes); both when its parts differ, none when nothing tells them apart',
      },
    ),
    installed: Type.Literal('empty', {
      description: 'the front-ends are given the empty string, never NULL',
    }),
  },
  {
    additionalProperties: false,
    description:
      "set when the PFX has no password: Windows' PFXImportCertStore opens a file only with the form it was made with",
  },
);
export type EmptyPassword = Static<typeof EmptyPassword>;

/** The job's `certificate` field: what intake (`@certfleet/certs`) found in the PFX. */
export const CertificateSummary = Type.Object(
  {
    subject: Type.String(),
    issuer: Type.String(),
    serialNumber: Type.String({ description: 'lowercase hex' }),
    fingerprintSha256: Type.String({
      description: "SHA-256 of the leaf's DER, lowercase hex, no separators",
    }),
    notBefore: Type.String({ format: 'date-time' }),
    notAfter: Type.String({ format: 'date-time' }),
    pfxEncryption: PfxEncryption,
    normalized: Type.Boolean({ description: 'true when the PFX was re-encoded to TripleDES-SHA1' }),
    normalizedFrom: Type.Optional(PfxEncryption),
    chain: Type.Array(Type.String(), {
      description: 'subjects from the leaf to the self-signed root (the leaf alone when it is self-signed)',
    }),
    emptyPassword: Type.Optional(EmptyPassword),
    warnings: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);
export type CertificateSummary = Static<typeof CertificateSummary>;
