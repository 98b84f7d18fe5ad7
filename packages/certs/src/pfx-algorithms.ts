import forge from 'node-forge';
import { type Asn1, Class, MalformedError, Type, elements, integer, oid } from './der.js';

/** Object identifiers of PKCS#7, PKCS#12 and PKCS#5 that the reader and writer use. */
export const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  crlBag: '1.2.840.113549.1.12.10.1.4',
  secretBag: '1.2.840.113549.1.12.10.1.5',
  safeContentsBag: '1.2.840.113549.1.12.10.1.6',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  pbmac1: '1.2.840.113549.1.5.14',
  tripleDesPbe: '1.2.840.113549.1.12.1.3',
  sha1: '1.3.14.3.2.26',
} as const;

/** How one part of the PFX (the key, a set of certificates) is encrypted. */
export interface Encryption {
  /** '3des', 'rc2-40', 'aes-256-cbc', …; 'none' for content stored in clear. */
  name: string;
  /** The KDF iteration count; 0 when nothing is derived from the password. */
  iterations: number;
  /** node-forge can decrypt it (with the PKCS#12 or PBES2 derivation it asks for). */
  readable: boolean;
  /** PBES2 derives from the UTF-8 password, PKCS#12 PBE from its BMPString. */
  utf8Password: boolean;
  /** What one iteration of its key (and IV) derivation costs, in KDF cost units (see kdf-budget.ts). */
  weight: number;
  oid: string;
  params: Asn1 | undefined;
}

export const CLEAR: Encryption = {
  name: 'none',
  iterations: 0,
  readable: true,
  utf8Password: false,
  weight: 0,
  oid: '',
  params: undefined,
};

// PKCS#12 PBE (RFC 7292 appendix C): name, whether node-forge implements it, key bytes
const PKCS12_PBE: Readonly<Record<string, [string, boolean, number]>> = {
  '1.2.840.113549.1.12.1.1': ['rc4-128', false, 16],
  '1.2.840.113549.1.12.1.2': ['rc4-40', false, 5],
  '1.2.840.113549.1.12.1.3': ['3des', true, 24],
  '1.2.840.113549.1.12.1.4': ['2des', false, 16],
  '1.2.840.113549.1.12.1.5': ['rc2-128', false, 16],
  '1.2.840.113549.1.12.1.6': ['rc2-40', true, 5],
};

/** Every PKCS#12 PBE cipher is CBC with an 8-byte IV, derived with the key (RFC 7292 B.2, SHA-1). */
const PKCS12_IV_BYTES = 8;

// PKCS#5 v1.5 PBES1: same parameter shape (salt, iterations), none implemented by node-forge
const PBES1: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.5.1': 'pbes1-md2-des',
  '1.2.840.113549.1.5.3': 'pbes1-md5-des',
  '1.2.840.113549.1.5.4': 'pbes1-md2-rc2',
  '1.2.840.113549.1.5.6': 'pbes1-md5-rc2',
  '1.2.840.113549.1.5.10': 'pbes1-sha1-des',
  '1.2.840.113549.1.5.11': 'pbes1-sha1-rc2',
};

// PBES2 encryption schemes that node-forge implements, with their key bytes
const PBES2_CIPHERS: Readonly<Record<string, [string, number]>> = {
  '2.16.840.1.101.3.4.1.2': ['aes-128-cbc', 16],
  '2.16.840.1.101.3.4.1.22': ['aes-192-cbc', 24],
  '2.16.840.1.101.3.4.1.42': ['aes-256-cbc', 32],
  '1.2.840.113549.3.7': ['des-ede3-cbc', 24],
  '1.3.14.3.2.7': ['des-cbc', 8],
};

/** The hashes the KDFs run on: output bytes, and the measured cost of one iteration (kdf-budget.ts). */
type KdfHash = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
const HASH_BYTES: Readonly<Record<KdfHash, number>> = {
  md5: 16,
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

// PBKDF2 PRFs (hmacWithSHA1 … hmacWithSHA512) that node-forge implements
const PBKDF2_PRFS: Readonly<Record<string, KdfHash>> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

/**
 * Measured cost of one iteration of one output block, relative to node-forge's PKCS#12 KDF
 * with SHA-1 (= 1), by `npx tsx test/bench/kdf-cost.ts`; the figures are in the README.
 */
export const KDF_WEIGHTS: Readonly<Record<'pkcs12' | 'pbkdf2', Readonly<Record<KdfHash, number>>>> = {
  pkcs12: { md5: 1, sha1: 1, sha224: 1.5, sha256: 1.5, sha384: 5, sha512: 5 },
  pbkdf2: { md5: 4, sha1: 4, sha224: 6, sha256: 6, sha384: 14, sha512: 14 },
};

/** Cost units of one iteration of a `kdf` on `hash` that derives `bytes`: one unit per output block. */
export function kdfWeight(kdf: 'pkcs12' | 'pbkdf2', hash: KdfHash, bytes: number): number {
  return Math.ceil(bytes / HASH_BYTES[hash]) * KDF_WEIGHTS[kdf][hash];
}

const SCRYPT = '1.3.6.1.4.1.11591.4.11';

/** Reads an AlgorithmIdentifier of password-based encryption without deriving anything. */
export function describeEncryption(algorithmIdentifier: Asn1, what: string): Encryption {
  const [algorithm, params] = elements(algorithmIdentifier, `${what} algorithm`, 1);
  const algorithmOid = oid(algorithm, `${what} algorithm`);
  const base = { oid: algorithmOid, params, utf8Password: false, weight: 1 };

  const pkcs12 = PKCS12_PBE[algorithmOid];
  const pbes1 = PBES1[algorithmOid];
  if (pkcs12 || pbes1) {
    const [salt, count] = elements(params, `${what} PBE parameters`, 2);
    if (salt?.type !== Type.OCTETSTRING) throw new MalformedError(`${what} PBE salt is not an OCTET STRING`);
    const iterations = integer(count, `${what} iteration count`);
    if (pkcs12) {
      const [name, readable, keyBytes] = pkcs12;
      // the key and the IV are two derivations
      const weight = kdfWeight('pkcs12', 'sha1', keyBytes) + kdfWeight('pkcs12', 'sha1', PKCS12_IV_BYTES);
      return { ...base, name, readable, iterations, weight };
    }
    return { ...base, name: pbes1 ?? algorithmOid, readable: false, iterations };
  }

  if (algorithmOid === OID.pbes2) {
    const [kdf, scheme] = elements(params, `${what} PBES2 parameters`, 2);
    const [kdfOid, kdfParams] = elements(kdf, `${what} PBES2 key derivation`, 1);
    const [cipherOid] = elements(scheme, `${what} PBES2 encryption scheme`, 1);
    const cipher = oid(cipherOid, `${what} PBES2 cipher`);
    const kdfName = oid(kdfOid, `${what} PBES2 key derivation`);
    const [cipherName, keyBytes = 32] = PBES2_CIPHERS[cipher] ?? [];
    const name = cipherName ?? `pbes2 cipher ${cipher}`;
    if (kdfName !== OID.pbkdf2) {
      const label = kdfName === SCRYPT ? 'scrypt' : kdfName;
      return { ...base, name: `${name} (${label})`, readable: false, iterations: 0, utf8Password: true };
    }
    const [salt, count, ...rest] = elements(kdfParams, `${what} PBKDF2 parameters`, 2);
    const iterations = integer(count, `${what} PBKDF2 iteration count`);
    const prf = rest.find((item) => item.tagClass === Class.UNIVERSAL && item.type === Type.SEQUENCE);
    const prfHash =
      prf === undefined ? 'sha1' : PBKDF2_PRFS[oid(elements(prf, `${what} PBKDF2 PRF`, 1)[0], `${what} PRF`)];
    const readable = cipherName !== undefined && prfHash !== undefined && salt?.type === Type.OCTETSTRING;
    const weight = kdfWeight('pbkdf2', prfHash ?? 'sha512', keyBytes);
    return { ...base, name, readable, iterations, utf8Password: true, weight };
  }

  return { ...base, name: `unknown algorithm ${algorithmOid}`, readable: false, iterations: 0 };
}

/** The PFX integrity MAC. */
export interface Mac {
  name: string;
  readable: boolean;
  /** Node's name of the HMAC hash; set when readable. */
  hash?: 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'md5';
  /** Cost units of one iteration of its key derivation (one digest-sized block). */
  weight: number;
}

const MACS: Readonly<Record<string, NonNullable<Mac['hash']>>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  '1.2.840.113549.2.5': 'md5',
};

const MAC_NAMES: Readonly<Record<string, string>> = {
  '2.16.840.1.101.3.4.2.4': 'sha224',
  [OID.pbmac1]: 'pbmac1',
};

export function describeMac(algorithmOid: string): Mac {
  const hash = MACS[algorithmOid];
  if (hash) return { name: hash, readable: true, hash, weight: KDF_WEIGHTS.pkcs12[hash] };
  return { name: MAC_NAMES[algorithmOid] ?? `unknown MAC ${algorithmOid}`, readable: false, weight: 1 };
}

/** The iteration count inside PBMAC1 parameters (RFC 9579), which also drive a KDF. */
export function pbmac1Iterations(params: Asn1 | undefined): number {
  const [kdf] = elements(params, 'PBMAC1 parameters', 1);
  const [, kdfParams] = elements(kdf, 'PBMAC1 key derivation', 2);
  return integer(elements(kdfParams, 'PBMAC1 PBKDF2 parameters', 2)[1], 'PBMAC1 iteration count');
}

/** The node-forge digest that the PKCS#12 KDF (RFC 7292 appendix B) runs on for `hash`. */
export function forgeDigest(hash: NonNullable<Mac['hash']>): forge.md.MessageDigest {
  switch (hash) {
    case 'sha1':
      return forge.md.sha1.create();
    case 'sha256':
      return forge.md.sha256.create();
    case 'sha384':
      return forge.md.sha384.create();
    case 'sha512':
      return forge.md.sha512.create();
    case 'md5':
      return forge.md.md5.create();
  }
}
