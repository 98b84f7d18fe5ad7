import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface DemoCertificates {
  /** TripleDES-SHA1 PKCS#12 with the client key and leaf certificate. */
  pfx: Buffer;
  password: string;
  /** Root CA certificate in PEM, as a customer would send it in a .cer. */
  caPem: string;
  /** The client certificate, DER (its SHA-1 is the thumbprint Windows shows). */
  leafDer: Buffer;
}

function keyPair(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey } {
  // Node's key generation is native and fast; forge builds the certificates.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const key = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  return { privateKey: key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e) };
}

function certificate(
  subject: string,
  publicKey: forge.pki.rsa.PublicKey,
  issuer: { cn: string; key: forge.pki.rsa.PrivateKey },
  ca: boolean,
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 24 * 3600 * 1000);
  cert.setSubject([{ name: 'commonName', value: subject }]);
  cert.setIssuer([{ name: 'commonName', value: issuer.cn }]);
  cert.setExtensions(
    ca
      ? [
          { name: 'basicConstraints', cA: true, critical: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
        ]
      : [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
          { name: 'extKeyUsage', clientAuth: true },
        ],
  );
  cert.sign(issuer.key, forge.md.sha256.create());
  return cert;
}

export interface DemoCertificateOptions {
  /** Common name of the root CA (default `certfleet demo root CA`). */
  rootCn?: string;
  /** The PFX password (default: a random one). */
  password?: string;
}

/** A demo root CA and a client certificate signed by it, packed as the platform wants: TripleDES-SHA1. */
export function makeDemoCertificates(
  clientCn = 'demo-payments-client',
  options: DemoCertificateOptions = {},
): DemoCertificates {
  return makeSiblingCertificates([clientCn], options)[0]!;
}

/** One demo root CA and a client certificate per name signed by it (certificates that share a CA). */
export function makeSiblingCertificates(
  clientCns: readonly string[],
  options: DemoCertificateOptions = {},
): DemoCertificates[] {
  const rootCn = options.rootCn ?? 'certfleet demo root CA';
  const root = keyPair();
  const rootCert = certificate(rootCn, root.publicKey, { cn: rootCn, key: root.privateKey }, true);
  return clientCns.map((clientCn) => {
    const leaf = keyPair();
    const leafCert = certificate(clientCn, leaf.publicKey, { cn: rootCn, key: root.privateKey }, false);
    const password = options.password ?? `demo-${randomBytes(6).toString('hex')}`;
    const asn1 = forge.pkcs12.toPkcs12Asn1(leaf.privateKey, [leafCert], password, {
      algorithm: '3des',
      generateLocalKeyId: true,
    });
    const pfx = Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
    const leafDer = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(leafCert)).getBytes(), 'binary');
    return { pfx, password, caPem: forge.pki.certificateToPem(rootCert), leafDer };
  });
}
