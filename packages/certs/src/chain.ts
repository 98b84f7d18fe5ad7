import { CertError } from './cert-error.js';
import { type Certificate, signedBy } from './certificate.js';

/** Longer than any real chain; bounds the search on hostile input. */
const MAX_CHAIN_LENGTH = 10;

/**
 * The path from `leaf` to a self-signed root, leaf first, in which every certificate is signed by
 * the next one (names, key identifiers and signature all checked by OpenSSL). Backtracks across
 * candidates with the same name (cross-signed CAs); each dead end is tried once.
 */
export function buildChain(leaf: Certificate, pool: readonly Certificate[]): Certificate[] {
  const deadEnds = new Set<Certificate>();
  let longest: Certificate[] = [leaf];

  const extend = (path: Certificate[]): Certificate[] | undefined => {
    const last = path[path.length - 1]!;
    if (last.selfSigned) return path;
    if (path.length >= MAX_CHAIN_LENGTH || deadEnds.has(last)) return undefined;
    if (path.length > longest.length) longest = path;
    for (const candidate of pool) {
      if (path.includes(candidate) || !last.x509.checkIssued(candidate.x509)) continue;
      if (!signedBy(last, candidate.x509.publicKey)) continue;
      const found = extend([...path, candidate]);
      if (found) return found;
    }
    deadEnds.add(last);
    return undefined;
  };

  const chain = extend([leaf]);
  if (chain) return chain;
  const path = longest;
  const last = path[path.length - 1]!;
  const namesakes = pool.filter((certificate) => certificate !== last && certificate.subject === last.issuer);
  const signer = namesakes.find((certificate) => signedBy(last, certificate.x509.publicKey));
  const missing = `The certificate chain is incomplete: the issuer "${last.issuer}" of "${last.subject}"`;
  const addRoot =
    'Add the issuing CA certificates, up to the self-signed root, to caCertificates (PEM text or base64 DER) ' +
    'or include them in the PFX.';
  if (signer && path.includes(signer)) {
    throw new CertError(
      'chain_incomplete',
      `The certificate chain loops and reaches no root: "${last.subject}" is signed by "${signer.subject}", ` +
        'which is already in the chain below it (cross-signed CAs signing each other). Add the self-signed ' +
        'root CA that one of them chains to, in caCertificates (PEM text or base64 DER) or in the PFX.',
    );
  }
  if (signer && !last.x509.checkIssued(signer.x509)) {
    throw new CertError(
      'chain_incomplete',
      `${missing} signed it, but may not issue certificates: its basic constraints or key usage ` +
        '(keyCertSign) do not allow it, so no TLS server accepts the chain. Ask the issuer for a chain whose ' +
        'CA certificates are marked as CAs.',
    );
  }
  throw new CertError(
    'chain_incomplete',
    `${missing} is missing` +
      (namesakes.length > 0 && !signer
        ? ' (a certificate with that name was supplied, but it did not sign this one)'
        : '') +
      `. ${addRoot}`,
  );
}
