import { CertError } from './cert-error.js';
import { type Certificate, readCertificate } from './certificate.js';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \1-----/g;
const PEM_LABEL = /-----BEGIN ([A-Z0-9 ]+)-----/g;
const CERTIFICATE_LABELS: ReadonlySet<string> = new Set(['CERTIFICATE', 'X509 CERTIFICATE']);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function unreadable(index: number, why: string): CertError {
  return new CertError(
    'ca_unreadable',
    `CA certificate ${index} (caCertificates[${index - 1}]) cannot be read: ${why}. Send each CA certificate as ` +
      'PEM text (-----BEGIN CERTIFICATE-----) or as the base64 of its DER bytes.',
  );
}

function base64(text: string, index: number): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || !BASE64.test(compact)) throw unreadable(index, 'it is neither PEM nor base64 DER');
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.subarray(0, 10).toString('latin1').includes('-----BEGIN')) {
    throw unreadable(index, 'it is base64-encoded PEM text; send the PEM text itself');
  }
  return bytes;
}

/** Each entry: one base64 DER certificate, or PEM text with one or more certificates. */
function decode(input: unknown, index: number): Buffer[] {
  if (typeof input !== 'string') throw unreadable(index, 'it is not text');
  if (!input.includes('-----BEGIN')) return [base64(input, index)];
  const certificates = [...input.matchAll(PEM_BLOCK)].filter((block) => CERTIFICATE_LABELS.has(block[1]!));
  const labels = [...input.matchAll(PEM_LABEL)].map((label) => label[1]!);
  const begun = labels.filter((label) => CERTIFICATE_LABELS.has(label)).length;
  if (begun > certificates.length)
    throw unreadable(index, 'one of its CERTIFICATE blocks has no matching END line');
  if (certificates.length > 0) return certificates.map((block) => base64(block[2]!, index));
  if (labels.includes('PKCS7')) {
    throw unreadable(
      index,
      'it is a PKCS#7 bundle; extract its certificates with: openssl pkcs7 -print_certs -in ca.p7b',
    );
  }
  if (labels.some((label) => label.includes('PRIVATE KEY'))) {
    throw unreadable(index, 'it holds a private key, not a certificate; never send a private key here');
  }
  throw unreadable(index, 'it holds no complete -----BEGIN CERTIFICATE----- block');
}

/** Parses the caller's CA certificates; `ca_unreadable` names the first that is not one (1-based). */
export function readCaCertificates(inputs: readonly unknown[] | undefined): Certificate[] {
  return (inputs ?? []).flatMap((input, i) => {
    const index = i + 1;
    const ders = decode(input, index);
    return ders.map((der, j) => {
      try {
        return readCertificate(
          der,
          ders.length > 1 ? `CA certificate ${index}.${j + 1}` : `CA certificate ${index}`,
        );
      } catch {
        throw unreadable(
          index,
          ders.length > 1 ? `its certificate ${j + 1} is not valid DER` : 'it is not a DER certificate',
        );
      }
    });
  });
}
