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
import { REENCODE_RECIPE } from './recipe.js';

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
}

const MAX_SAFE_NESTING = 3;

/** A first look at the bytes: is this a PKCS#12 PFX at all? Constant time, before the size check. */
export function checkEnvelope(pfx: Buffer): void {
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
  if (length !== undefined && header + length < pfx.length) {
    const extra = pfx.length - header - length;
    throw new MalformedError(`it has ${extra} extra byte${extra === 1 ? '' : 's'} after its end`);
  }
  if (pfx[header] !== 0x02 || pfx[header + 1] !== 0x01) {
    throw new MalformedError('it is not a DER-encoded PKCS#12 file');
  }
  if (pfx[header + 2] !== 3)
    throw new MalformedError(`it is PKCS#12 version ${pfx[header + 2]}; only version 3 exists`);
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
  if (scan.mac) budget.charge(scan.mac.iterations, 'MAC');
  for (const { what, encryption } of encryptedParts(scan)) {
    if (encryption !== CLEAR) budget.charge(encryption.iterations, what);
  }
}

function badPassword(): CertError {
  return new CertError(
    'pfx_bad_password',
    'The password does not open this PFX (its integrity check fails). Check the password, which is ' +
      'case-sensitive, and that it belongs to this file; a file damaged in transit fails the same way.',
  );
}

/** Step 4: the MAC, keyed from the password, must match. A PFX without MAC is checked by decryption. */
export function verifyPassword(scan: ScannedPfx, password: string): void {
  const { mac } = scan;
  if (!mac) return;
  if (!mac.algorithm.hash) {
    throw new CertError(
      'pfx_unsupported_encryption',
      `The PFX integrity check uses ${mac.algorithm.name}, which certfleet cannot verify and the front-ends ` +
        `cannot import. ${REENCODE_RECIPE}`,
    );
  }
  const md = forgeDigest(mac.algorithm.hash);
  const salt = forge.util.createBuffer(mac.salt);
  const key = forge.pkcs12.generateKey(password, salt, 3, mac.iterations, md.digestLength, md).getBytes();
  const actual = createHmac(mac.algorithm.hash, fromBinary(key)).update(fromBinary(scan.authSafe)).digest();
  const expected = fromBinary(mac.digest);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw badPassword();
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
  getCipher(oid: string, params: Asn1 | undefined, password: string): forge.cipher.BlockCipher;
}
const pbe = (forge.pki as unknown as { pbe: PbeApi }).pbe;

function decrypt(
  encryption: Encryption,
  ciphertext: string,
  password: string,
  verified: boolean,
  what: string,
) {
  // PBES2 keys come from the UTF-8 bytes of the password, PKCS#12 ones from its BMPString
  const secret = encryption.utf8Password ? forge.util.encodeUtf8(password) : password;
  let cipher: forge.cipher.BlockCipher;
  try {
    cipher = pbe.getCipher(encryption.oid, encryption.params, secret);
  } catch {
    throw new MalformedError(`the encryption parameters of ${what} are invalid`);
  }
  cipher.update(forge.util.createBuffer(ciphertext));
  if (!cipher.finish()) {
    if (!verified) throw badPassword();
    throw new MalformedError(
      `${what} cannot be decrypted although the password is right (the file is damaged)`,
    );
  }
  return cipher.output.getBytes();
}

/**
 * Step 5: refuses algorithms that cannot be decrypted, then decrypts. Parts nested inside
 * encrypted content only become visible here, so they are charged and vetted as they appear.
 */
export function decryptPfx(scan: ScannedPfx, password: string, budget: KdfBudget): PfxContents {
  for (const { what, encryption } of encryptedParts(scan)) assertReadable(encryption, what);
  const verified = scan.mac !== undefined;
  const ignored = [...scan.ignored];
  const keys: PfxKey[] = [];
  const certificates: PfxCertificate[] = [];

  scan.safes.forEach((safe, i) => {
    const what = `content ${i + 1}`;
    let bags = safe.bags;
    if (safe.encryption !== CLEAR) {
      const plaintext = decrypt(safe.encryption, safe.ciphertext, password, verified, what);
      try {
        bags = readSafeContents(parseDer(plaintext, what), what, 0, ignored);
      } catch (error) {
        // without a MAC, a wrong password can decrypt to garbage that happens to end in valid padding
        throw verified ? error : badPassword();
      }
      bags.forEach((bag, j) => {
        if (bag.kind !== 'key' || bag.encryption === CLEAR) return;
        budget.charge(bag.encryption.iterations, `${what}, key ${j + 1}`);
        assertReadable(bag.encryption, `${what}, key ${j + 1}`);
      });
    }
    for (const bag of bags) {
      const named = bag.friendlyName === undefined ? {} : { friendlyName: bag.friendlyName };
      if (bag.kind === 'cert') {
        certificates.push({ der: fromBinary(bag.der), encryption: safe.encryption.name, ...named });
        continue;
      }
      let pkcs8 = bag.content;
      if (bag.encryption !== CLEAR) {
        pkcs8 = decrypt(bag.encryption, bag.content, password, verified, `${what} key`);
        try {
          elements(parseDer(pkcs8, `${what} key`), `${what} key`, 3);
        } catch (error) {
          throw verified ? error : badPassword();
        }
      }
      keys.push({ pkcs8: fromBinary(pkcs8), encryption: bag.encryption.name, ...named });
    }
  });
  return { keys, certificates, mac: scan.mac?.algorithm.name ?? 'none', ignored };
}
