import { type KeyObject, createHash, createPrivateKey } from 'node:crypto';
import { readCaCertificates } from './ca-input.js';
import { CertError } from './cert-error.js';
import { type Certificate, readCertificate } from './certificate.js';
import { buildChain } from './chain.js';
import { MalformedError } from './der.js';
import { KdfBudget } from './kdf-budget.js';
import {
  type PfxContents,
  checkEnvelope,
  chargeKdf,
  decryptPfx,
  scanPfx,
  verifyPassword,
} from './pfx-reader.js';
import { writeTripleDesPfx } from './pfx-writer.js';
import { REENCODE_RECIPE } from './recipe.js';
import type { InspectInput, InspectOptions, InspectedPfx, PfxEncryption } from './types.js';

export const DEFAULT_MAX_ITERATIONS = 100_000;
export const DEFAULT_MAX_BYTES = 1024 * 1024;

const DAY_MS = 86_400_000;
const EXPIRY_WARNING_DAYS = 30;
const MIN_RSA_BITS = 2048;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
const WEAK_SIGNATURES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.4': 'MD5',
  '1.2.840.113549.1.1.5': 'SHA-1',
  '1.2.840.10045.4.1': 'SHA-1',
  '1.2.840.10040.4.3': 'SHA-1',
};

/** What the front-ends import as it is (Windows' own "TripleDES-SHA1" and OpenSSL -legacy exports). */
const INSTALLABLE = {
  key: new Set(['3des']),
  certificates: new Set(['3des', 'rc2-40', 'none']),
  mac: new Set(['sha1']),
};

/** Every key and certificate protected as the front-ends import it (vacuously true for a part that is absent). */
function installable(contents: PfxContents): boolean {
  return (
    contents.keys.every((key) => INSTALLABLE.key.has(key.encryption)) &&
    contents.certificates.every((certificate) => INSTALLABLE.certificates.has(certificate.encryption)) &&
    INSTALLABLE.mac.has(contents.mac)
  );
}

function describe(encryption: PfxEncryption): string {
  return `key ${encryption.key}, certificates ${encryption.certificates}, MAC ${encryption.mac}`;
}

const names = (items: readonly { encryption: string }[]): string =>
  [...new Set(items.map((item) => item.encryption))].join('+') || 'none';

function summarize(contents: PfxContents, budget: KdfBudget): PfxEncryption {
  return {
    key: names(contents.keys),
    certificates: names(contents.certificates),
    mac: contents.mac,
    iterations: budget.maxSeen,
  };
}

const day = (date: Date): string => date.toISOString().slice(0, 10);
const capitalize = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

function unreadable(detail: string): CertError {
  return new CertError(
    'pfx_unreadable',
    `The PFX cannot be read: ${detail}. Send the client certificate with its private key as a binary ` +
      '.pfx/.p12 file, base64-encoded once.',
  );
}

/** Steps 1 and 3 to 5 on any PFX: its contents, and the budget that was charged. */
function open(pfx: Buffer, password: string, maxIterations: number) {
  const scan = scanPfx(pfx);
  const budget = new KdfBudget(maxIterations);
  chargeKdf(scan, budget);
  verifyPassword(scan, password);
  const contents = decryptPfx(scan, password, budget);
  return { contents, encryption: summarize(contents, budget) };
}

function matches(certificate: Certificate, key: KeyObject): boolean {
  try {
    return certificate.x509.checkPrivateKey(key);
  } catch {
    return false;
  }
}

function clientAuthProblem(leaf: Certificate): string | undefined {
  const usages = leaf.extendedKeyUsage;
  if (usages && !usages.includes(CLIENT_AUTH) && !usages.includes(ANY_EXTENDED_KEY_USAGE)) {
    const listed = usages.length > 0 ? usages.join(', ') : 'empty';
    return `its extended key usage (${listed}) does not include clientAuth (${CLIENT_AUTH})`;
  }
  if (leaf.digitalSignature === false) {
    return 'its key usage lacks digitalSignature, which TLS client authentication needs';
  }
  return undefined;
}

/** The certificate warnings: none of them stops the job. */
function certificateWarnings(leaf: Certificate, now: Date): string[] {
  const warnings: string[] = [];
  const daysLeft = Math.ceil((leaf.notAfter.getTime() - now.getTime()) / DAY_MS);
  if (daysLeft <= EXPIRY_WARNING_DAYS) {
    warnings.push(
      `The certificate expires on ${day(leaf.notAfter)} (in ${daysLeft} days): plan its renewal.`,
    );
  }
  const { publicKey } = leaf.x509;
  const bits = publicKey.asymmetricKeyDetails?.modulusLength;
  if (publicKey.asymmetricKeyType === 'rsa' && bits !== undefined && bits < MIN_RSA_BITS) {
    warnings.push(
      `The RSA key has ${bits} bits; ${MIN_RSA_BITS} or more is expected and some servers refuse less.`,
    );
  }
  const weak = WEAK_SIGNATURES[leaf.signatureAlgorithm];
  if (weak) {
    warnings.push(
      `The certificate is signed with ${weak}, which current Windows and TLS stacks may refuse; ask the ` +
        'issuer for a SHA-256 certificate.',
    );
  }
  if (!leaf.extendedKeyUsage) {
    warnings.push(
      'The certificate has no extended key usage, so it is not restricted to client authentication.',
    );
  }
  return warnings;
}

function chainWarnings(chain: readonly Certificate[], now: Date): string[] {
  return chain.slice(1).flatMap((ca) => {
    if (ca.notAfter < now)
      return [`The CA certificate "${ca.subject}" in the chain expired on ${day(ca.notAfter)}.`];
    if (ca.notBefore > now)
      return [`The CA certificate "${ca.subject}" is not valid before ${day(ca.notBefore)}.`];
    if (!ca.selfSigned && !ca.x509.ca) return [`"${ca.subject}" signs the chain but is not marked as a CA.`];
    return [];
  });
}

/** What the PFX holds beside the key and its certificate. */
function contentWarnings(contents: PfxContents, forKey: readonly Certificate[]): string[] {
  const warnings: string[] = [];
  if (forKey.length > 1) {
    const [used] = forKey;
    warnings.push(
      `The PFX holds ${forKey.length} certificates for its private key; "${used!.subject}", valid until ` +
        `${day(used!.notAfter)}, is the one used.`,
    );
  }
  const friendlyNames = new Set(
    [...contents.keys, ...contents.certificates].flatMap((bag) => bag.friendlyName ?? []),
  );
  for (const name of friendlyNames) {
    warnings.push(`The PFX sets the friendly name "${name}", which Windows shows in the certificate store.`);
  }
  if (contents.certificates.some((certificate) => certificate.encryption === 'rc2-40')) {
    warnings.push(
      'The PFX protects its certificates with RC2-40 (as OpenSSL -legacy and older Windows exports do): ' +
        'Windows imports it, and certificates are public anyway.',
    );
  }
  if (contents.ignored.length > 0) {
    warnings.push(`The PFX also holds ${contents.ignored.join(', ')}, which certfleet ignores.`);
  }
  return warnings;
}

function inspect(input: InspectInput, options: InspectOptions): InspectedPfx {
  const maxIterations = options.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const now = options.now ?? new Date();
  const submitted = Buffer.isBuffer(input.pfx) ? input.pfx : Buffer.from(input.pfx);
  const { password } = input;

  // 1. a PFX at all (the envelope only: oversized input is refused before it is parsed)
  checkEnvelope(submitted);
  // 2. size
  if (submitted.length > maxBytes) {
    throw new CertError(
      'payload_too_large',
      `The PFX is ${submitted.length} bytes; at most ${maxBytes} are accepted. A client certificate PFX ` +
        'is a few kilobytes: export only the certificate, its private key and its CA chain.',
    );
  }
  // 3. KDF cost, 4. password, 5. encryption (readable at all, then as installed or re-encoded)
  const { contents, encryption } = open(submitted, password, maxIterations);
  const normalize = !installable(contents);
  if (normalize && input.normalize === false) {
    throw new CertError(
      'pfx_unsupported_encryption',
      `The PFX is protected with ${describe(encryption)}; the front-ends import only TripleDES-SHA1 ` +
        `(3DES key, SHA-1 MAC). Submit it with normalize: true and certfleet re-encodes it, or: ${REENCODE_RECIPE}`,
    );
  }

  // 6. exactly one private key
  const [key, ...otherKeys] = contents.keys;
  if (!key) {
    throw new CertError(
      'pfx_no_private_key',
      'The PFX holds certificates but no private key. Export the client certificate together with its ' +
        'private key (Windows: "Yes, export the private key"; OpenSSL: openssl pkcs12 -export -in cert.pem ' +
        '-inkey key.pem …).',
    );
  }
  if (otherKeys.length > 0) {
    throw new CertError(
      'pfx_multiple_keys',
      `The PFX holds ${contents.keys.length} private keys; it must hold exactly one, the client ` +
        "certificate's. Export that certificate alone, with its private key and CA chain.",
    );
  }

  // 7. the certificate of that key
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: key.pkcs8, format: 'der', type: 'pkcs8' });
  } catch {
    throw new MalformedError('its private key is not a key that can be used');
  }
  const certificates = contents.certificates.map((c, i) =>
    readCertificate(c.der, `certificate ${i + 1} in the PFX`),
  );
  // several certificates for one key (a renewal kept beside the old one): the current, longest-lived wins
  const ranked = certificates
    .filter((certificate) => matches(certificate, privateKey))
    .sort((a, b) => Number(b.notBefore <= now) - Number(a.notBefore <= now) || +b.notAfter - +a.notAfter);
  const [leaf] = ranked;
  if (!leaf) {
    throw new CertError(
      'pfx_key_mismatch',
      certificates.length === 0
        ? 'The PFX holds a private key but no certificate. Export the client certificate with its private key.'
        : `None of the certificates in the PFX (${certificates.map((c) => `"${c.subject}"`).join(', ')}) ` +
            'belongs to its private key. Export the client certificate together with its own private key.',
    );
  }

  // 8. validity
  if (now < leaf.notBefore) {
    throw new CertError(
      'cert_not_yet_valid',
      `The certificate "${leaf.subject}" is not valid before ${leaf.notBefore.toISOString()}. Submit it ` +
        'once it is valid, or ask the issuer for a certificate that is valid now.',
    );
  }
  if (now > leaf.notAfter) {
    throw new CertError(
      'cert_expired',
      `The certificate "${leaf.subject}" expired on ${leaf.notAfter.toISOString()}. Renew it and submit the new PFX.`,
    );
  }

  // 9. usable for client authentication
  const problem = clientAuthProblem(leaf);
  if (problem) {
    throw new CertError(
      'cert_not_client_auth',
      `The certificate "${leaf.subject}" cannot be used as a client certificate: ${problem}. Ask the issuer ` +
        'for a certificate with the Client Authentication usage.',
    );
  }

  // 10. chain to a self-signed root (the CA inputs are read here, the first time they matter)
  const cas = readCaCertificates(input.caCertificates);
  const pool = certificates
    .concat(cas)
    .filter((c, i, all) => all.findIndex((d) => d.der.equals(c.der)) === i);
  const chain = buildChain(leaf, pool);

  const warnings = [
    ...certificateWarnings(leaf, now),
    ...contentWarnings(contents, ranked),
    ...chainWarnings(chain, now),
    ...pool
      .filter((certificate) => !chain.includes(certificate) && !ranked.includes(certificate))
      .map(
        (certificate) =>
          `${capitalize(certificate.origin)} ("${certificate.subject}") is not part of the chain.`,
      ),
  ];

  let pfx = submitted;
  let pfxEncryption = encryption;
  if (normalize) {
    const friendlyName = key.friendlyName ?? contents.certificates[certificates.indexOf(leaf)]?.friendlyName;
    pfx = writeTripleDesPfx({
      key: key.pkcs8,
      certificates: [leaf, ...certificates.filter((c) => c !== leaf)].map((c) => c.der),
      password,
      ...(friendlyName === undefined ? {} : { friendlyName }),
    });
    pfxEncryption = readBack(pfx, password, privateKey, certificates);
  }

  return {
    certificate: {
      subject: leaf.subject,
      issuer: leaf.issuer,
      serialNumber: leaf.x509.serialNumber.toLowerCase(),
      fingerprintSha256: createHash('sha256').update(leaf.der).digest('hex'),
      notBefore: leaf.notBefore.toISOString(),
      notAfter: leaf.notAfter.toISOString(),
      pfxEncryption,
      normalized: normalize,
      ...(normalize ? { normalizedFrom: encryption } : {}),
      chain: chain.map((certificate) => certificate.subject),
      warnings,
    },
    pfx,
    caChain: chain.slice(1).map((certificate) => certificate.der),
  };
}

/** Opens a re-encoded PFX as the hosts will: same password, same key, same certificates. */
function readBack(pfx: Buffer, password: string, key: KeyObject, certificates: Certificate[]): PfxEncryption {
  const { contents, encryption } = open(pfx, password, DEFAULT_MAX_ITERATIONS);
  const [written] = contents.keys;
  const sameKey =
    contents.keys.length === 1 &&
    written !== undefined &&
    createPrivateKey({ key: written.pkcs8, format: 'der', type: 'pkcs8' }).equals(key);
  const sameCertificates =
    contents.certificates.length === certificates.length &&
    certificates.every((c) => contents.certificates.some((w) => w.der.equals(c.der)));
  if (!sameKey || !sameCertificates || !installable(contents)) {
    throw new Error('the re-encoded PFX does not hold what was submitted');
  }
  return encryption;
}

/** Inspects a PFX in the calling thread; throws a CertError for every refusal and every malformed input. */
export function inspectPfxSync(input: InspectInput, options: InspectOptions = {}): InspectedPfx {
  try {
    return inspect(input, options);
  } catch (error) {
    if (error instanceof CertError) throw error;
    if (error instanceof MalformedError) throw unreadable(error.message);
    // node-forge and OpenSSL throw on input they cannot handle; none of that reaches the caller raw
    throw unreadable('its structure could not be decoded');
  }
}
