import { X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import {
  type Asn1,
  Class,
  MalformedError,
  Type,
  elements,
  explicit,
  isContext,
  octets,
  oid,
  parseDer,
  toDer,
} from './der.js';

const EXTENDED_KEY_USAGE = '2.5.29.37';
const KEY_USAGE = '2.5.29.15';

/** What the checks need to know about one X.509 certificate. */
export interface Certificate {
  der: Buffer;
  x509: X509Certificate;
  /** RFC 4514 order, as Windows shows it: "CN=leaf, O=Example, C=NL". */
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  signatureAlgorithm: string;
  /** The extended key usage OIDs; undefined when the extension is absent. */
  extendedKeyUsage: string[] | undefined;
  /** The digitalSignature bit of keyUsage; undefined when the extension is absent. */
  digitalSignature: boolean | undefined;
  selfSigned: boolean;
  /** Where it came from, for messages: "the PFX", "CA certificate 2". */
  origin: string;
}

/** Node prints one RDN per line in encoding order (most general first); Windows shows the reverse. */
function distinguishedName(multiline: string): string {
  return multiline === '' ? '' : multiline.split('\n').reverse().join(', ');
}

function time(value: Asn1 | undefined, what: string): Date {
  if (value?.tagClass === Class.UNIVERSAL && typeof value.value === 'string') {
    if (value.type === Type.UTCTIME) return forge.asn1.utcTimeToDate(value.value);
    if (value.type === Type.GENERALIZEDTIME) return forge.asn1.generalizedTimeToDate(value.value);
  }
  throw new MalformedError(`${what} is not a time`);
}

/** True when `key` verifies the signature on `certificate`; false for any key it cannot use. */
export function signedBy(certificate: Certificate, key: KeyObject): boolean {
  try {
    return certificate.x509.verify(key);
  } catch {
    return false;
  }
}

/** Parses one DER certificate; throws MalformedError when it is not one. */
export function readCertificate(der: Buffer, origin: string): Certificate {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch {
    throw new MalformedError(`${origin} is not an X.509 certificate`);
  }
  const [tbs, signatureAlgorithm] = elements(parseDer(der.toString('latin1'), origin), origin, 3);
  const fields = elements(tbs, `${origin} TBSCertificate`, 6);
  const offset = isContext(fields[0], 0) ? 1 : 0; // the version is optional
  const validity = elements(fields[offset + 3], `${origin} validity`, 2);
  const [issuerName, subjectName] = [fields[offset + 2], fields[offset + 4]];
  let extendedKeyUsage: string[] | undefined;
  let digitalSignature: boolean | undefined;
  const extensions = fields.slice(offset + 6).find((field) => isContext(field, 3));
  if (extensions) {
    for (const extension of elements(
      explicit(extensions, 3, `${origin} extensions`),
      `${origin} extensions`,
    )) {
      const [extnId, ...rest] = elements(extension, `${origin} extension`, 2);
      const id = oid(extnId, `${origin} extension id`);
      const value = octets(rest[rest.length - 1], `${origin} extension value`);
      if (id === EXTENDED_KEY_USAGE) {
        extendedKeyUsage = elements(parseDer(value, `${origin} EKU`), `${origin} EKU`).map((usage) =>
          oid(usage, `${origin} EKU`),
        );
      } else if (id === KEY_USAGE) {
        const bits = parseDer(value, `${origin} key usage`);
        if (bits.type !== Type.BITSTRING || typeof bits.value !== 'string') {
          throw new MalformedError(`${origin} key usage is not a BIT STRING`);
        }
        // first octet: unused bits; digitalSignature is the most significant bit of the next
        digitalSignature = ((bits.value.charCodeAt(1) || 0) & 0x80) !== 0;
      }
    }
  }
  const certificate: Certificate = {
    der,
    x509,
    subject: distinguishedName(x509.subject),
    issuer: distinguishedName(x509.issuer),
    notBefore: time(validity[0], `${origin} notBefore`),
    notAfter: time(validity[1], `${origin} notAfter`),
    signatureAlgorithm: oid(elements(signatureAlgorithm, `${origin} signature algorithm`, 1)[0], origin),
    extendedKeyUsage,
    digitalSignature,
    selfSigned: false,
    origin,
  };
  let publicKey: KeyObject;
  try {
    publicKey = x509.publicKey;
  } catch {
    throw new MalformedError(
      `${origin} has a public key of an algorithm that certfleet cannot use (such as GOST)`,
      'Ask the issuer for an RSA (2048 bits or more) or ECDSA (P-256, P-384) client certificate and CA chain.',
    );
  }
  // its own root: same name as issuer and subject, and its own key verifies its signature. Not
  // OpenSSL's issuance check, which also wants keyCertSign, absent from a self-signed client certificate.
  const sameName =
    issuerName !== undefined && subjectName !== undefined && toDer(issuerName) === toDer(subjectName);
  certificate.selfSigned = (sameName || x509.subject === x509.issuer) && signedBy(certificate, publicKey);
  return certificate;
}
