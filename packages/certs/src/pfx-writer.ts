import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import {
  type Asn1,
  Class,
  Type,
  explicitNode,
  fromBinary,
  integerNode,
  make,
  octetNode,
  oidNode,
  parseDer,
  seq,
  set,
  toDer,
} from './der.js';
import { OID } from './pfx-algorithms.js';

/** What OpenSSL and node-forge use by default; Windows exports use 2000. */
const ITERATIONS = 2048;
const SALT_BYTES = 8;

export interface TripleDesPfxInput {
  /** PrivateKeyInfo (PKCS#8) DER of any key type. */
  key: Buffer;
  /** DER, the key's own certificate first. */
  certificates: Buffer[];
  password: string;
  friendlyName?: string;
}

/** PKCS#12 key derivation (RFC 7292 appendix B, SHA-1) of `length` bytes for `purpose`. */
function derive(password: string, salt: Buffer, purpose: 1 | 2 | 3, length: number): Buffer {
  const saltBuffer = forge.util.createBuffer(salt.toString('latin1'));
  return fromBinary(forge.pkcs12.generateKey(password, saltBuffer, purpose, ITERATIONS, length).getBytes());
}

function pbeAlgorithm(salt: Buffer): Asn1 {
  return seq(oidNode(OID.tripleDesPbe), seq(octetNode(salt.toString('latin1')), integerNode(ITERATIONS)));
}

function bagAttributes(localKeyId: Buffer, friendlyName: string | undefined): Asn1 {
  const attributes = [seq(oidNode(OID.localKeyId), set(octetNode(localKeyId.toString('latin1'))))];
  if (friendlyName !== undefined) {
    // node-forge writes a BMPString from the JavaScript string itself
    attributes.push(seq(oidNode(OID.friendlyName), set(make(Class.UNIVERSAL, Type.BMPSTRING, friendlyName))));
  }
  return set(...attributes);
}

/** EncryptedData ContentInfo holding `safeContents`, encrypted with pbeWithSHAAnd3-KeyTripleDES-CBC. */
function encryptedContentInfo(safeContents: Asn1, password: string): Asn1 {
  const salt = randomBytes(SALT_BYTES);
  const cipher = createCipheriv('des-ede3-cbc', derive(password, salt, 1, 24), derive(password, salt, 2, 8));
  const plaintext = fromBinary(toDer(safeContents));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const encryptedData = seq(
    integerNode(0),
    seq(
      oidNode(OID.data),
      pbeAlgorithm(salt),
      make(Class.CONTEXT_SPECIFIC, 0, ciphertext.toString('latin1')),
    ),
  );
  return seq(oidNode(OID.encryptedData), explicitNode(0, encryptedData));
}

function dataContentInfo(content: Asn1): Asn1 {
  return seq(oidNode(OID.data), explicitNode(0, octetNode(toDer(content))));
}

/**
 * A PFX as the front-ends import it and as Windows exports it with "TripleDES-SHA1":
 * certificates in 3DES-encrypted content, the key in a 3DES shrouded key bag, a SHA-1 MAC.
 * Certificates keep their exact DER (a re-encoded certificate would no longer verify).
 */
export function writeTripleDesPfx(input: TripleDesPfxInput): Buffer {
  const { key, certificates, password, friendlyName } = input;
  const [leaf] = certificates;
  const attributes = bagAttributes(
    createHash('sha1')
      .update(leaf ?? key)
      .digest(),
    friendlyName,
  );

  const certBags = certificates.map((der, i) =>
    seq(
      oidNode(OID.certBag),
      explicitNode(0, seq(oidNode(OID.x509Certificate), explicitNode(0, octetNode(der.toString('latin1'))))),
      ...(i === 0 ? [attributes] : []),
    ),
  );
  const shrouded = forge.pki.encryptPrivateKeyInfo(
    parseDer(key.toString('latin1'), 'the private key'),
    password,
    {
      algorithm: '3des',
      count: ITERATIONS,
      saltSize: SALT_BYTES,
    },
  );
  const keyBag = seq(oidNode(OID.shroudedKeyBag), explicitNode(0, shrouded), attributes);

  const contents = [dataContentInfo(seq(keyBag))];
  if (certBags.length > 0) contents.unshift(encryptedContentInfo(seq(...certBags), password));
  const authSafe = fromBinary(toDer(seq(...contents)));

  const macSalt = randomBytes(SALT_BYTES);
  const digest = createHmac('sha1', derive(password, macSalt, 3, 20))
    .update(authSafe)
    .digest();
  const macData = seq(
    seq(seq(oidNode(OID.sha1), make(Class.UNIVERSAL, Type.NULL, '')), octetNode(digest.toString('latin1'))),
    octetNode(macSalt.toString('latin1')),
    integerNode(ITERATIONS),
  );
  const pfx = seq(
    integerNode(3),
    seq(oidNode(OID.data), explicitNode(0, octetNode(authSafe.toString('latin1')))),
    macData,
  );
  return fromBinary(toDer(pfx));
}
