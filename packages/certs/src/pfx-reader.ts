import { createHmac, timingSafeEqual } from 'node:crypto';
import forge from 'node-forge';
import { CertError } from './cert-error.js';
import {
  type Asn1,
  MalformedError,
  bmpString,
  elements,
  explicit,
  fromBinary,
  implicitOctets,
  integer,
  octets,
  oid,
  parseDer,
  toBinary,
  toDer,
} from './der.js';
import type { KdfBudget } from './kdf-budget.js';
import {
  CLEAR,
  type Encryption,
  type Mac,
  OID,
  describeEncryption,
  describeMac,
  forgeDigest,
  pbmac1Iterations,
} from './pfx-algorithms.js';
import { REENCODE_RECIPE, reencodeRecipe } from './recipe.js';

/*
 * A PKCS#12 reader built on node-forge's primitives rather than on pkcs12FromAsn1, so that each
 * step can be checked before the next one costs anything: the whole structure and every
 * iteration count are read before the first derivation, the MAC is checked before anything is
 * decrypted, and each algorithm is vetted before it is used.
 */

interface KeyBag {
  kind: 'key';
  encryption: Encryption;
  /** The EncryptedPrivateKeyInfo ciphertext, or PrivateKeyInfo DER when in clear. */
  content: string;
  friendlyName?: string;
}

interface CertBag {
  kind: 'cert';
  der: string;
  friendlyName?: string;
}

type Bag = KeyBag | CertBag;

interface Safe {
  /** CLEAR for a Data ContentInfo. */
  encryption: Encryption;
  /** Ciphertext of an EncryptedData ContentInfo. */
  ciphertext: string;
  /** The bags of a Data ContentInfo (an encrypted one's are known once decrypted). */
  bags: Bag[];
}

/** Everything that can be known about a PFX without the password. */
export interface ScannedPfx {
  mac: { algorithm: Mac; digest: string; salt: string; iterations: number } | undefined;
  authSafe: string;
  safes: Safe[];
  /** Bags that are neither keys nor X.509 certificates, described for a warning. */
  ignored: string[];
}

export interface PfxKey {
  /** PrivateKeyInfo (PKCS#8) DER. */
  pkcs8: Buffer;
  encryption: string;
  friendlyName?: string;
}

export interface PfxCertificate {
  der: Buffer;
  /** How the SafeContents that held it was encrypted. */
  encryption: string;
  friendlyName?: string;
}

export interface PfxContents {
  keys: PfxKey[];
  certificates: PfxCertificate[];
  mac: string;
  ignored: string[];
  opened: Opened;
}

const MAX_SAFE_NESTING = 3;

/** Where the PFX's DER ends in the submitted bytes, and how many bytes follow it. */
export interface Envelope {
  /** The length of the DER PFX; the whole input for BER indefinite length. */
  end: number;
  extra: number;
}

/** A first look at the bytes: is this a PKCS#12 PFX at all? Constant time, before the size check. */
export function checkEnvelope(pfx: Buffer): Envelope {
  if (pfx.length === 0) throw new MalformedError('the file is empty');
  const hint = recognise(pfx);
  if (hint) throw new MalformedError(hint);
  if (pfx[0] !== 0x30 || pfx.length < 2) throw new MalformedError('it is not a DER-encoded PKCS#12 file');
  const first = pfx[1]!;
  let header = 2;
  let length: number | undefined = first;
  if (first === 0x80) length = undefined;
  else if (first > 0x80) {
    const size = first & 0x7f;
    if (size > 4 || pfx.length < 2 + size) throw new MalformedError('its length header is invalid');
    length = pfx.readUIntBE(2, size);
    header += size;
  }
  if (length !== undefined && header + length > pfx.length) {
    throw new MalformedError(
      `it is truncated: it announces ${header + length} bytes but holds ${pfx.length} (send the whole file)`,
    );
  }
  if (pfx[header] !== 0x02 || pfx[header + 1] !== 0x01) {
    throw new MalformedError('it is not a DER-encoded PKCS#12 file');
  }
  if (pfx[header + 2] !== 3)
    throw new MalformedError(`it is PKCS#12 version ${pfx[header + 2]}; only version 3 exists`);
  const end = length === undefined ? pfx.length : header + length;
  return { end, extra: pfx.length - end };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What follows the PFX, in words that never quote it (it could be anything, a password too). */
function describeTail(tail: Buffer): string {
  const data = tail.subarray(tail.findIndex((byte) => byte !== 0));
  const start = data.subarray(0, 64).toString('latin1');
  if (start.includes('-----BEGIN')) return 'PEM text (-----BEGIN …)';
  if (data[0] === 0x30 && data[2] === 0x02)
    return 'another DER structure, such as a second PFX or a certificate';
  if (/^[A-Za-z0-9+/=\r\n]+$/.test(start)) return 'base64 text';
  if (/^[\t\r\n\x20-\x7e]+$/.test(start)) return 'text';
  return `binary data (starting ${[...data.subarray(0, 4)].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ')})`;
}

/**
 * The bytes after the PFX's end: zero padding (some .NET and Windows re-exports add it, and
 * OpenSSL ignores it) is counted and cut off by the caller; anything else is refused.
 */
export function trailingZeros(pfx: Buffer, envelope: Envelope): number {
  if (envelope.extra === 0) return 0;
  const tail = pfx.subarray(envelope.end);
  if (tail.every((byte) => byte === 0)) return tail.length;
  throw new MalformedError(
    `it has ${plural(tail.length, 'byte')} after its end that are not zero padding: ${describeTail(tail)}`,
    'Send the PFX file alone, exactly as it was exported: whatever was appended to it is not part of it.',
  );
}

/** Text and key stores that customers send instead of a PFX, with what to do about them. */
function recognise(pfx: Buffer): string | undefined {
  const start = pfx.subarray(0, 64).toString('latin1');
  if (start.includes('-----BEGIN')) {
    return (
      'it is PEM text, not a PFX; build one with: openssl pkcs12 -export -in cert.pem -inkey key.pem ' +
      '-certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 -out client.pfx'
    );
  }
  if (pfx.length >= 4 && pfx.readUInt32BE(0) === 0xfeedfeed) {
    return (
      'it is a Java KeyStore (JKS), not a PFX; convert it with: keytool -importkeystore -srckeystore in.jks ' +
      '-destkeystore out.p12 -deststoretype PKCS12'
    );
  }
  if (/^[A-Za-z0-9+/=\r\n]+$/.test(start) && pfx.length >= 16) {
    return 'it is base64 text: the file was base64-encoded twice; encode the binary .pfx once';
  }
  return undefined;
}

/** Reads the whole structure (steps 1 and 3): no password, no derivation. */
export function scanPfx(pfx: Buffer): ScannedPfx {
  const root = parseDer(toBinary(pfx), 'the PFX');
  const [version, authSafeInfo, macData, ...extra] = elements(root, 'the PFX', 2);
  if (extra.length > 0) throw new MalformedError('the PFX has unexpected trailing fields');
  if (integer(version, 'the PFX version') !== 3) throw new MalformedError('the PFX version is not 3');
  const [contentType, content] = elements(authSafeInfo, 'the PFX content', 2);
  const type = oid(contentType, 'the PFX content type');
  if (type !== OID.data) {
    throw new MalformedError(
      'it uses public-key integrity (a signed PFX), which is not supported; use a password',
    );
  }
  const authSafe = octets(explicit(content, 0, 'the PFX content'), 'the PFX content');
  const infos = elements(parseDer(authSafe, 'the authenticated safe'), 'the authenticated safe');
  const ignored: string[] = [];
  const safes = infos.map((info, i) => readContentInfo(info, `content ${i + 1}`, ignored));
  return { mac: macData && readMacData(macData), authSafe, safes, ignored };
}

function readMacData(macData: Asn1): NonNullable<ScannedPfx['mac']> {
  const [digestInfo, salt, count] = elements(macData, 'the MAC', 2);
  const [digestAlgorithm, digest] = elements(digestInfo, 'the MAC digest', 2);
  const [algorithmOid, params] = elements(digestAlgorithm, 'the MAC algorithm', 1);
  const algorithm = describeMac(oid(algorithmOid, 'the MAC algorithm'));
  let iterations = count === undefined ? 1 : integer(count, 'the MAC iteration count');
  if (algorithm.name === 'pbmac1') iterations = Math.max(iterations, pbmac1Iterations(params));
  if (iterations < 1) throw new MalformedError('the MAC iteration count is 0');
  return {
    algorithm,
    digest: octets(digest, 'the MAC digest'),
    salt: octets(salt, 'the MAC salt'),
    iterations,
  };
}

function readContentInfo(info: Asn1, what: string, ignored: string[]): Safe {
  const [contentType, content] = elements(info, what, 2);
  const type = oid(contentType, `${what} type`);
  const inner = explicit(content, 0, what);
  if (type === OID.data) {
    const safeContents = parseDer(octets(inner, what), what);
    return { encryption: CLEAR, ciphertext: '', bags: readSafeContents(safeContents, what, 0, ignored) };
  }
  if (type === OID.encryptedData) {
    const [, encryptedContentInfo] = elements(inner, `${what} EncryptedData`, 2);
    const [innerType, algorithm, ciphertext] = elements(
      encryptedContentInfo,
      `${what} EncryptedContentInfo`,
      3,
    );
    if (oid(innerType, `${what} inner type`) !== OID.data)
      throw new MalformedError(`${what} does not hold Data`);
    return {
      encryption: describeEncryption(algorithm!, what),
      ciphertext: implicitOctets(ciphertext, 0, `${what} ciphertext`),
      bags: [],
    };
  }
  throw new MalformedError(`${what} has type ${type}; only password-protected content is supported`);
}

function readSafeContents(safeContents: Asn1, what: string, depth: number, ignored: string[]): Bag[] {
  const bags: Bag[] = [];
  elements(safeContents, `${what} SafeContents`).forEach((safeBag, i) => {
    const where = `${what}, bag ${i + 1}`;
    const [bagId, bagValue, attributes] = elements(safeBag, where, 2);
    const type = oid(bagId, `${where} type`);
    const value = explicit(bagValue, 0, where);
    const friendlyName = attributes && readFriendlyName(attributes, where);
    const named = friendlyName === undefined ? {} : { friendlyName };
    switch (type) {
      case OID.shroudedKeyBag: {
        const [algorithm, data] = elements(value, `${where} EncryptedPrivateKeyInfo`, 2);
        const encryption = describeEncryption(algorithm!, where);
        bags.push({ kind: 'key', encryption, content: octets(data, `${where} key`), ...named });
        break;
      }
      case OID.keyBag:
        elements(value, `${where} PrivateKeyInfo`, 3);
        bags.push({ kind: 'key', encryption: CLEAR, content: toDer(value), ...named });
        break;
      case OID.certBag: {
        const [certId, certValue] = elements(value, `${where} CertBag`, 2);
        const certType = oid(certId, `${where} certificate type`);
        if (certType === OID.x509Certificate) {
          bags.push({
            kind: 'cert',
            der: octets(explicit(certValue, 0, where), `${where} certificate`),
            ...named,
          });
        } else {
          ignored.push(`a certificate of type ${certType}`);
        }
        break;
      }
      case OID.safeContentsBag:
        if (depth >= MAX_SAFE_NESTING) throw new MalformedError(`${where} nests SafeContents too deeply`);
        bags.push(...readSafeContents(value, where, depth + 1, ignored));
        break;
      case OID.crlBag:
        ignored.push('a CRL');
        break;
      case OID.secretBag:
        ignored.push('a secret');
        break;
      default:
        ignored.push(`a bag of type ${type}`);
    }
  });
  return bags;
}

function readFriendlyName(attributes: Asn1, where: string): string | undefined {
  for (const attribute of elements(attributes, `${where} attributes`, 0, forge.asn1.Type.SET)) {
    const [attrId, values] = elements(attribute, `${where} attribute`, 2);
    if (oid(attrId, `${where} attribute type`) !== OID.friendlyName) continue;
    const [value] = elements(values, `${where} friendly name`, 1, forge.asn1.Type.SET);
    return bmpString(value, `${where} friendly name`);
  }
  return undefined;
}

function encryptedParts(scan: ScannedPfx): { what: string; encryption: Encryption }[] {
  return scan.safes.flatMap((safe, i) => [
    { what: `content ${i + 1}`, encryption: safe.encryption },
    ...safe.bags.flatMap((bag, j) =>
      bag.kind === 'key' ? [{ what: `content ${i + 1}, key ${j + 1}`, encryption: bag.encryption }] : [],
    ),
  ]);
}

/** Step 3: charges every iteration count visible without the password. */
export function chargeKdf(scan: ScannedPfx, budget: KdfBudget): void {
  if (scan.mac) budget.charge(scan.mac.iterations, scan.mac.algorithm.weight, 'MAC');
  for (const { what, encryption } of encryptedParts(scan)) {
    if (encryption !== CLEAR) budget.charge(encryption.iterations, encryption.weight, what);
  }
}

/**
 * A password as the PKCS#12 KDF sees it: a string is its BMPString with two zero bytes at the end,
 * null is "no password", a zero-length input (what Windows and OpenSSL write when given NULL).
 */
export type Secret = string | null;

/**
 * The forms to try, the submitted one first: a missing password means "none", and an empty one
 * tries both encodings of the empty password, as OpenSSL, Go and BouncyCastle do.
 */
export function secretsFor(password: string | undefined): Secret[] {
  if (password === undefined) return [null, ''];
  if (password === '') return ['', null];
  return [password];
}

function badPassword(password: string | undefined): CertError {
  if (!password) {
    return new CertError(
      'pfx_bad_password',
      'The PFX is protected with a password: its integrity check fails without one (both encodings of an ' +
        'empty password were tried). Send the password it was exported with; a file damaged in transit ' +
        'fails the same way.',
    );
  }
  return new CertError(
    'pfx_bad_password',
    'The password does not open this PFX (its integrity check fails). Check the password, which is ' +
      'case-sensitive, and that it belongs to this file; a file damaged in transit fails the same way.',
  );
}

/** The MAC verified but a part does not decrypt: the part has a password of its own, or another encoding. */
function partPassword(what: string, latin1Tried: boolean): CertError {
  return new CertError(
    'pfx_bad_password',
    `The password passes this PFX's integrity check but does not decrypt ${what}. That part has a password ` +
      'of its own (Java keytool with -keypass different from -storepass does this) or was encrypted by a ' +
      `tool that encodes the password differently${latin1Tried ? ' (its UTF-8 and ISO-8859-1 forms were both tried)' : ''}. ` +
      'Export the file again with one password for the store and the key (keytool -importkeystore ' +
      '-srckeystore in.p12 -destkeystore out.p12 -deststoretype PKCS12 asks for each password and writes ' +
      'one), or submit the key password if the store has no other.',
  );
}

/** The HMAC of the authenticated safe under `secret` matches the file's. */
function macMatches(scan: ScannedPfx, mac: NonNullable<ScannedPfx['mac']>, secret: Secret): boolean {
  const hash = mac.algorithm.hash!;
  const md = forgeDigest(hash);
  const salt = forge.util.createBuffer(mac.salt);
  // forge derives from no bytes at all for null (its type says string)
  const key = forge.pkcs12
    .generateKey(secret as string, salt, 3, mac.iterations, md.digestLength, md)
    .getBytes();
  const actual = createHmac(hash, fromBinary(key)).update(fromBinary(scan.authSafe)).digest();
  const expected = fromBinary(mac.digest);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Step 4: the MAC, keyed from the password, must match. Returns the form that matched; undefined
 * for a PFX without MAC, which is checked by decryption. Each further form tried is charged.
 */
export function verifyPassword(
  scan: ScannedPfx,
  password: string | undefined,
  budget: KdfBudget,
): Secret | undefined {
  const { mac } = scan;
  if (!mac) return undefined;
  if (!mac.algorithm.hash) {
    throw new CertError(
      'pfx_unsupported_encryption',
      `The PFX integrity check uses ${mac.algorithm.name}, which certfleet cannot verify and the front-ends ` +
        `cannot import. ${reencodeRecipe({ pbmac1: mac.algorithm.name === 'pbmac1' })}`,
    );
  }
  const secrets = secretsFor(password);
  for (const [i, secret] of secrets.entries()) {
    if (i > 0) budget.charge(mac.iterations, mac.algorithm.weight, 'MAC, the other empty-password form');
    if (macMatches(scan, mac, secret)) return secret;
  }
  // a password sent for a file that has none: say so rather than "check the password"
  if (password) {
    for (const secret of secretsFor(undefined)) {
      if (!budget.affords(mac.iterations, mac.algorithm.weight)) break;
      budget.charge(mac.iterations, mac.algorithm.weight, 'MAC, without password');
      if (macMatches(scan, mac, secret)) {
        throw new CertError(
          'pfx_bad_password',
          'The PFX has no password: it opens without one, not with the password sent. Leave out password ' +
            '(or send "") and submit it again.',
        );
      }
    }
  }
  throw badPassword(password);
}

function assertReadable(encryption: Encryption, what: string): void {
  if (encryption.readable) return;
  throw new CertError(
    'pfx_unsupported_encryption',
    `The PFX (${what}) is encrypted with ${encryption.name}, which certfleet cannot decrypt and the front-ends ` +
      `cannot import. ${REENCODE_RECIPE}`,
  );
}

// getCipher is not in @types/node-forge
interface PbeApi {
  getCipher(oid: string, params: Asn1 | undefined, password: string | null): forge.cipher.BlockCipher;
}
const pbe = (forge.pki as unknown as { pbe: PbeApi }).pbe;

/** How the parts of a PFX were opened, beyond the password as given. */
export interface Opened {
  /** The form of the empty password that each derivation used, when there was no password. */
  emptyForms: Set<'null' | 'empty'>;
  /** Parts that opened only with the ISO-8859-1 bytes of the password (PBES2 wants UTF-8). */
  latin1: string[];
}

/** One PBES2 password as bytes: UTF-8, as the standard says, then ISO-8859-1 as some old toolkits wrote. */
function pbes2Forms(secret: Secret): { bytes: string; latin1: boolean }[] {
  const utf8 = forge.util.encodeUtf8(secret ?? '');
  const forms = [{ bytes: utf8, latin1: false }];
  // only a password with characters beyond ASCII, all of them within Latin-1, has another form
  const codes = [...(secret ?? '')].map((c) => c.codePointAt(0)!);
  if (codes.some((c) => c > 0x7f) && codes.every((c) => c <= 0xff)) {
    forms.push({ bytes: secret!, latin1: true });
  }
  return forms;
}

interface Part<T> {
  encryption: Encryption;
  ciphertext: string;
  what: string;
  /** The plaintext read, or undefined when it is not what it should be: a wrong key can still end in valid padding. */
  read: (plaintext: string) => T | undefined;
}

/** Decrypts with one password form; undefined when it does not fit. */
function attempt<T>(part: Part<T>, secret: string | null): T | undefined {
  let cipher: forge.cipher.BlockCipher;
  try {
    cipher = pbe.getCipher(part.encryption.oid, part.encryption.params, secret);
  } catch {
    throw new MalformedError(`the encryption parameters of ${part.what} are invalid`);
  }
  cipher.update(forge.util.createBuffer(part.ciphertext));
  if (!cipher.finish()) return undefined;
  return part.read(cipher.output.getBytes());
}

/**
 * Decrypts one part with every form of the password that can apply, the one that keyed the MAC
 * first; every form after the first is charged before it is derived.
 */
function decrypt<T>(
  part: Part<T>,
  secrets: readonly Secret[],
  verified: boolean,
  password: string | undefined,
  budget: KdfBudget,
  opened: Opened,
): T {
  const tries = secrets.flatMap((secret) =>
    part.encryption.utf8Password
      ? pbes2Forms(secret).map((form) => ({ secret, bytes: form.bytes, latin1: form.latin1 }))
      : [{ secret, bytes: secret, latin1: false }],
  );
  // PBES2 derives the same key from both empty forms: trying the second would only cost
  const distinct = tries.filter((t, i) => tries.findIndex((u) => u.bytes === t.bytes) === i);
  for (const [i, t] of distinct.entries()) {
    if (i > 0) budget.charge(part.encryption.iterations, part.encryption.weight, `${part.what}, retried`);
    const plaintext = attempt(part, t.bytes);
    if (plaintext === undefined) continue;
    if (t.latin1) opened.latin1.push(part.what);
    if (!password && !part.encryption.utf8Password)
      opened.emptyForms.add(t.secret === null ? 'null' : 'empty');
    return plaintext;
  }
  if (!verified) throw badPassword(password);
  throw partPassword(
    part.what,
    distinct.some((t) => t.latin1),
  );
}

/** Reads a plaintext as DER with at least `min` elements; the plaintext itself, or the node. */
const derOf = (what: string, min: number) => (plaintext: string) => {
  try {
    const node = parseDer(plaintext, what);
    elements(node, what, min);
    return { node, plaintext };
  } catch {
    return undefined;
  }
};

/**
 * Step 5: refuses algorithms that cannot be decrypted, then decrypts. Parts nested inside
 * encrypted content only become visible here, so they are charged and vetted as they appear.
 * `macSecret` is the form that verified the MAC, tried first for every part.
 */
export function decryptPfx(
  scan: ScannedPfx,
  password: string | undefined,
  macSecret: Secret | undefined,
  budget: KdfBudget,
): PfxContents {
  for (const { what, encryption } of encryptedParts(scan)) assertReadable(encryption, what);
  const verified = scan.mac !== undefined;
  const secrets = secretsFor(password).sort((a, b) => Number(b === macSecret) - Number(a === macSecret));
  const opened: Opened = { emptyForms: new Set(), latin1: [] };
  if (macSecret !== undefined && !password) opened.emptyForms.add(macSecret === null ? 'null' : 'empty');
  const ignored = [...scan.ignored];
  const keys: PfxKey[] = [];
  const certificates: PfxCertificate[] = [];

  scan.safes.forEach((safe, i) => {
    const what = `content ${i + 1}`;
    let bags = safe.bags;
    if (safe.encryption !== CLEAR) {
      const part = {
        encryption: safe.encryption,
        ciphertext: safe.ciphertext,
        what,
        read: derOf(what, 0),
      };
      const { node } = decrypt(part, secrets, verified, password, budget, opened);
      bags = readSafeContents(node, what, 0, ignored);
      bags.forEach((bag, j) => {
        if (bag.kind !== 'key' || bag.encryption === CLEAR) return;
        budget.charge(bag.encryption.iterations, bag.encryption.weight, `${what}, key ${j + 1}`);
        assertReadable(bag.encryption, `${what}, key ${j + 1}`);
      });
    }
    bags.forEach((bag, j) => {
      const named = bag.friendlyName === undefined ? {} : { friendlyName: bag.friendlyName };
      if (bag.kind === 'cert') {
        certificates.push({ der: fromBinary(bag.der), encryption: safe.encryption.name, ...named });
        return;
      }
      let pkcs8 = bag.content;
      if (bag.encryption !== CLEAR) {
        const where = `the private key (${what}, bag ${j + 1})`;
        const part = {
          encryption: bag.encryption,
          ciphertext: bag.content,
          what: where,
          read: derOf(where, 3),
        };
        pkcs8 = decrypt(part, secrets, verified, password, budget, opened).plaintext;
      }
      keys.push({ pkcs8: fromBinary(pkcs8), encryption: bag.encryption.name, ...named });
    });
  });
  return { keys, certificates, mac: scan.mac?.algorithm.name ?? 'none', ignored, opened };
}
