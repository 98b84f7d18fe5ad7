import { type KeyObject, createHash, createPrivateKey } from 'node:crypto';
import { readCaCertificates } from './ca-input.js';
import { CertError } from './cert-error.js';
import { type Certificate, readCertificate } from './certificate.js';
import { buildChain } from './chain.js';
import { MalformedError, elements, oid, parseDer } from './der.js';
import { KdfBudget } from './kdf-budget.js';
import {
  type PfxContents,
  checkEnvelope,
  chargeKdf,
  decryptPfx,
  scanPfx,
  trailingZeros,
  verifyPassword,
} from './pfx-reader.js';
import { writeTripleDesPfx } from './pfx-writer.js';
import { REENCODE_RECIPE } from './recipe.js';
import type {
  CertificateSummary,
  InspectInput,
  InspectOptions,
  InspectedPfx,
  PfxEncryption,
} from './types.js';

/**
 * The KDF budget of one file (see kdf-budget.ts), about 2 s of derivation here: ordinary exports
 * cost from 14 336 units (TripleDES-SHA1, 2 048 iterations) to about 770 000 (an OpenSSL test
 * export with 102 400 for a SHA-256 MAC and 51 200 per AES bag; Java keytool's 100 000 and 50 000).
 */
export const DEFAULT_MAX_ITERATIONS = 2_000_000;
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

function unreadable(error: MalformedError): CertError {
  return new CertError(
    'pfx_unreadable',
    `The PFX cannot be read: ${error.message}. ` +
      (error.fix ??
        'Send the client certificate with its private key as a binary .pfx/.p12 file, base64-encoded once.'),
  );
}

/** Steps 3 to 5 on the DER of a PFX: its contents, and the budget that was charged. */
function open(pfx: Buffer, password: string | undefined, maxIterations: number) {
  const scan = scanPfx(pfx);
  const budget = new KdfBudget(maxIterations, { pbmac1: scan.mac?.algorithm.name === 'pbmac1' });
  chargeKdf(scan, budget);
  const macSecret = verifyPassword(scan, password, budget);
  const contents = decryptPfx(scan, password, macSecret, budget);
  return { contents, encryption: summarize(contents, budget) };
}

/** Private key algorithms that Node (OpenSSL without engines) cannot use, by PKCS#8 algorithm OID. */
const UNUSABLE_KEYS: Readonly<Record<string, string>> = {
  '1.2.643.2.2.19': 'GOST R 34.10-2001',
  '1.2.643.7.1.1.1.1': 'GOST R 34.10-2012 (256-bit)',
  '1.2.643.7.1.1.1.2': 'GOST R 34.10-2012 (512-bit)',
  '1.2.156.10197.1.301': 'SM2',
};

/** The key as Node reads it; a key it cannot use is refused with what it is and what to ask for. */
function readPrivateKey(pkcs8: Buffer): KeyObject {
  try {
    return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  } catch {
    let algorithm = 'of an algorithm certfleet does not know';
    try {
      const [, identifier] = elements(parseDer(pkcs8.toString('latin1'), 'the key'), 'the key', 3);
      const id = oid(elements(identifier, 'the key algorithm', 1)[0], 'the key algorithm');
      algorithm = UNUSABLE_KEYS[id] ? `a ${UNUSABLE_KEYS[id]} key (${id})` : `of algorithm ${id}`;
    } catch {
      // the PKCS#8 structure itself is broken: keep the generic words
    }
    throw new CertError(
      'pfx_unreadable',
      `The PFX opens, but its private key is ${algorithm}, which certfleet cannot check and the ` +
        "front-ends' TLS stacks (Windows SChannel, OpenSSL without a GOST engine, Java) do not use for " +
        'client authentication. Ask the issuer for an RSA (2048 bits or more) or ECDSA (P-256, P-384) ' +
        'client certificate.',
    );
  }
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
  if (leaf.selfSigned) {
    warnings.push(
      `The certificate is self-signed: no CA vouches for it, so the server it connects to must trust ` +
        `this exact certificate (SHA-256 fingerprint ${createHash('sha256').update(leaf.der).digest('hex')}).`,
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

/** Why the submitted bytes cannot be installed as they are; each is fixed by normalising. */
interface Repairs {
  /** Its protection is not what the front-ends import. */
  encryption: boolean;
  /** Zero bytes after its end. */
  trailingZeros: number;
  /** Something was keyed with the NULL form of the empty password (Windows is given ""). */
  nullPassword: boolean;
  /** Parts that open only with the ISO-8859-1 bytes of the password. */
  latin1: string[];
}

const needsRepair = (r: Repairs): boolean =>
  r.encryption || r.trailingZeros > 0 || r.nullPassword || r.latin1.length > 0;

/** The refusal for `normalize: false` when the file cannot be installed as it is. */
function repairRefusal(r: Repairs, encryption: PfxEncryption, end: number): CertError {
  if (r.encryption) {
    return new CertError(
      'pfx_unsupported_encryption',
      `The PFX is protected with ${describe(encryption)}; the front-ends import only TripleDES-SHA1 ` +
        `(3DES key, SHA-1 MAC). Submit it with normalize: true and certfleet re-encodes it, or: ${REENCODE_RECIPE}`,
    );
  }
  if (r.nullPassword) {
    return new CertError(
      'pfx_unsupported_encryption',
      'The PFX has no password and was made with the NULL form of it (a zero-length password), which ' +
        'Windows opens only when given NULL; the front-ends are given the empty password "". Submit it ' +
        'with normalize: true and certfleet re-encodes it for "", or export it again with an empty ' +
        `password. ${REENCODE_RECIPE}`,
    );
  }
  if (r.latin1.length > 0) {
    return new CertError(
      'pfx_unsupported_encryption',
      `Parts of the PFX (${r.latin1.join('; ')}) open only with the ISO-8859-1 bytes of the password, not ` +
        'with its UTF-8 bytes as the standard and the front-ends use. Submit it with normalize: true and certfleet ' +
        `re-encodes it, or: ${REENCODE_RECIPE}`,
    );
  }
  return new CertError(
    'pfx_unreadable',
    `The PFX has ${r.trailingZeros} zero bytes after its end, which not every front-end accepts. Submit it ` +
      `with normalize: true and certfleet cuts them off, or cut the file to its first ${end} bytes ` +
      `(head -c ${end} in.pfx > fixed.pfx).`,
  );
}

function repairWarnings(r: Repairs, emptyPassword: CertificateSummary['emptyPassword']): string[] {
  const warnings: string[] = [];
  if (r.trailingZeros > 0) {
    warnings.push(
      `The PFX had ${r.trailingZeros} zero bytes after its end (padding that some .NET and Windows ` +
        're-exports add); the installed file ends where the PFX does.',
    );
  }
  if (emptyPassword) {
    warnings.push(
      'The PFX has no password' +
        (r.nullPassword ? ' and was made with its NULL form; it is re-encoded for the empty password' : '') +
        ': the front-ends open it with the empty password "", and anyone who can read the file has the ' +
        'private key.',
    );
  }
  if (r.latin1.length > 0) {
    warnings.push(
      `Parts of the PFX (${r.latin1.join('; ')}) were encrypted with the ISO-8859-1 bytes of the password ` +
        '(an old toolkit) instead of its UTF-8; it is re-encoded so that the password opens it everywhere.',
    );
  }
  return warnings;
}

function emptyPasswordOf(
  contents: PfxContents,
  password: string | undefined,
): CertificateSummary['emptyPassword'] {
  if (password) return undefined;
  const forms = contents.opened.emptyForms;
  const submitted =
    forms.size === 2 ? 'both' : forms.has('null') ? 'null' : forms.has('empty') ? 'empty' : 'none';
  return { submitted, installed: 'empty' };
}

function inspect(input: InspectInput, options: InspectOptions): InspectedPfx {
  const maxIterations = options.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const now = options.now ?? new Date();
  const submitted = Buffer.isBuffer(input.pfx) ? input.pfx : Buffer.from(input.pfx);
  const { password } = input;

  // 1. a PFX at all (the envelope only: oversized input is refused before it is parsed)
  const envelope = checkEnvelope(submitted);
  // 2. size
  if (submitted.length > maxBytes) {
    throw new CertError(
      'payload_too_large',
      `The PFX is ${submitted.length} bytes; at most ${maxBytes} are accepted. A client certificate PFX ` +
        'is a few kilobytes: export only the certificate, its private key and its CA chain.',
    );
  }
  // 1, continued: zero padding after the end is cut off, anything else there is refused
  const padding = trailingZeros(submitted, envelope);
  const der = submitted.subarray(0, envelope.end);
  // 3. KDF cost, 4. password, 5. encryption (readable at all, then as installed or re-encoded)
  const { contents, encryption } = open(der, password, maxIterations);
  const repairs: Repairs = {
    encryption: !installable(contents),
    trailingZeros: padding,
    nullPassword: contents.opened.emptyForms.has('null'),
    latin1: contents.opened.latin1,
  };
  const normalize = needsRepair(repairs);
  if (normalize && input.normalize === false) throw repairRefusal(repairs, encryption, envelope.end);
  const reencode = needsRepair({ ...repairs, trailingZeros: 0 });
  const installPassword = password ?? '';
  const emptyPassword = emptyPasswordOf(contents, password);

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
  const privateKey = readPrivateKey(key.pkcs8);
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
    ...repairWarnings(repairs, emptyPassword),
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

  let pfx = normalize ? der : submitted;
  let pfxEncryption = encryption;
  if (reencode) {
    const friendlyName = key.friendlyName ?? contents.certificates[certificates.indexOf(leaf)]?.friendlyName;
    pfx = writeTripleDesPfx({
      key: key.pkcs8,
      certificates: [leaf, ...certificates.filter((c) => c !== leaf)].map((c) => c.der),
      password: installPassword,
      ...(friendlyName === undefined ? {} : { friendlyName }),
    });
    pfxEncryption = readBack(pfx, installPassword, privateKey, certificates);
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
      ...(emptyPassword ? { emptyPassword } : {}),
      warnings,
    },
    pfx,
    password: installPassword,
    caChain: chain.slice(1).map((certificate) => certificate.der),
  };
}

/** Opens a re-encoded PFX as the hosts will: same password, same key, same certificates. */
function readBack(pfx: Buffer, password: string, key: KeyObject, certificates: Certificate[]): PfxEncryption {
  const { contents, encryption } = open(pfx, password, DEFAULT_MAX_ITERATIONS);
  const [written] = contents.keys;
  // opened with the exact password the hosts are given, not another form of it
  const exact = !contents.opened.emptyForms.has('null') && contents.opened.latin1.length === 0;
  const sameKey =
    exact &&
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
    if (error instanceof MalformedError) throw unreadable(error);
    // node-forge and OpenSSL throw on input they cannot handle; none of that reaches the caller raw
    throw unreadable(new MalformedError('its structure could not be decoded'));
  }
}
