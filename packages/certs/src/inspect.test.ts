import { X509Certificate, createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Corpus, makeCorpus } from '../../../test/fixtures/corpus.js';
import { CertError, type CertErrorCode } from './cert-error.js';
import { inspectPfxSync } from './inspect.js';
import type { InspectInput, InspectOptions } from './types.js';

let corpus: Corpus;
beforeAll(async () => {
  corpus = await makeCorpus();
}, 180_000);

const ROOT = 'CN=Corpus Root CA, O=Certfleet Corpus';
const INTERMEDIATE = 'CN=Corpus Intermediate CA, O=Certfleet Corpus';
const LEAF = 'CN=Corpus Client, O=Certfleet Corpus, C=NL';

function input(name: string, extra: Partial<InspectInput> = {}): InspectInput {
  return { pfx: corpus.file(name), password: corpus.password, ...extra };
}

/** The CertError that inspecting throws; its message never repeats the password. */
function refusal(request: InspectInput, options?: InspectOptions): CertError {
  try {
    inspectPfxSync(request, options);
  } catch (error) {
    expect(error).toBeInstanceOf(CertError);
    const refused = error as CertError;
    expect(refused.name).toBe('CertError');
    expect(refused.message).not.toContain(request.password);
    return refused;
  }
  throw new Error('expected a refusal');
}

const code = (request: InspectInput, options?: InspectOptions): CertErrorCode =>
  refusal(request, options).code;

const notAfter = (pem: string) => new Date(new X509Certificate(pem).validTo);

describe('an acceptable PFX', () => {
  it('summarises the 3DES file and installs its bytes unchanged', () => {
    const submitted = corpus.file('3des.pfx');
    const leaf = new X509Certificate(corpus.file('leaf.der'));
    const result = inspectPfxSync({ pfx: submitted, password: corpus.password });

    expect(result.pfx.equals(submitted)).toBe(true);
    expect(result.caChain).toEqual([corpus.file('int.der'), corpus.file('root.der')]);
    expect(result.certificate).toEqual({
      subject: LEAF,
      issuer: INTERMEDIATE,
      serialNumber: leaf.serialNumber.toLowerCase(),
      fingerprintSha256: createHash('sha256').update(corpus.file('leaf.der')).digest('hex'),
      notBefore: new Date(leaf.validFrom).toISOString(),
      notAfter: new Date(leaf.validTo).toISOString(),
      pfxEncryption: { key: '3des', certificates: '3des', mac: 'sha1', iterations: 2048 },
      normalized: false,
      chain: [LEAF, INTERMEDIATE, ROOT],
      warnings: [],
    });
    expect(result.certificate.fingerprintSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts OpenSSL -legacy (RC2-40 certificates, 3DES key) as it is, with a warning', () => {
    const result = inspectPfxSync(input('legacy.pfx'));
    expect(result.certificate.pfxEncryption).toEqual({
      key: '3des',
      certificates: 'rc2-40',
      mac: 'sha1',
      iterations: 2048,
    });
    expect(result.certificate.normalized).toBe(false);
    expect(result.pfx.equals(corpus.file('legacy.pfx'))).toBe(true);
    expect(result.certificate.warnings).toEqual([expect.stringContaining('RC2-40')]);
  });

  it('reads an EC key', () => {
    const result = inspectPfxSync(input('ec.pfx'));
    expect(result.certificate.subject).toBe('CN=Corpus EC, O=Certfleet Corpus');
    expect(result.certificate.chain).toHaveLength(3);
  });

  it('derives PKCS#12 keys from the BMPString and PBES2 keys from the UTF-8 of a non-ASCII password', () => {
    for (const name of ['unicode.pfx', 'unicode-aes.pfx']) {
      const result = inspectPfxSync({ pfx: corpus.file(name), password: corpus.unicodePassword });
      expect(result.certificate.subject).toBe(LEAF);
    }
    expect(code({ pfx: corpus.file('unicode.pfx'), password: 'Passwoerd-Euro' })).toBe('pfx_bad_password');
  });
});

describe('warnings', () => {
  it('names a short RSA key, a SHA-1 signature and a friendly name', () => {
    const { warnings } = inspectPfxSync(input('weak.pfx')).certificate;
    expect(warnings).toEqual([
      expect.stringContaining('1024 bits'),
      expect.stringContaining('SHA-1'),
      expect.stringContaining('"Corpus weak client"'),
    ]);
  });

  it('allows a certificate without extended key usage, with a warning', () => {
    const { warnings } = inspectPfxSync(input('noeku.pfx')).certificate;
    expect(warnings).toEqual([expect.stringContaining('no extended key usage')]);
  });

  it('warns 30 days before expiry', () => {
    const expiry = notAfter(corpus.text('leaf.pem'));
    const soon = new Date(expiry.getTime() - 10 * 86_400_000);
    const { warnings } = inspectPfxSync(input('3des.pfx'), { now: soon }).certificate;
    expect(warnings).toEqual([expect.stringMatching(/expires on .* \(in 10 days\)/)]);
    const later = new Date(expiry.getTime() - 31 * 86_400_000);
    expect(inspectPfxSync(input('3des.pfx'), { now: later }).certificate.warnings).toEqual([]);
  });

  it('names a CA certificate that is not part of the chain', () => {
    const caCertificates = [corpus.text('root.pem'), corpus.text('unrelated.pem'), corpus.text('int.pem')];
    const result = inspectPfxSync(input('nochain.pfx', { caCertificates }));
    expect(result.certificate.chain).toEqual([LEAF, INTERMEDIATE, ROOT]);
    // the intermediate is in the PFX too: a duplicate is not worth a warning
    expect(result.certificate.warnings).toEqual([
      'CA certificate 2 ("CN=Corpus Unrelated CA, O=Certfleet Corpus") is not part of the chain.',
    ]);
  });
});

describe('CA certificates', () => {
  const base64 = (name: string) => corpus.file(name).toString('base64');

  it('completes the chain from base64 DER, PEM text and a PEM text holding several certificates', () => {
    const caChain = [corpus.file('int.der'), corpus.file('root.der')];
    expect(inspectPfxSync(input('nochain.pfx', { caCertificates: [base64('root.der')] })).caChain).toEqual(
      caChain,
    );
    expect(
      inspectPfxSync(input('nochain.pfx', { caCertificates: [corpus.text('root.pem')] })).caChain,
    ).toEqual(caChain);
    const leafOnly = inspectPfxSync(input('leafonly.pfx', { caCertificates: [corpus.text('ca-chain.pem')] }));
    expect(leafOnly.caChain).toEqual(caChain);
    expect(leafOnly.certificate.chain).toEqual([LEAF, INTERMEDIATE, ROOT]);
    expect(leafOnly.certificate.warnings).toEqual([]);
  });

  it('says which CA input cannot be read (1-based)', () => {
    const refused = refusal(
      input('3des.pfx', { caCertificates: [corpus.text('root.pem'), 'not a certificate!'] }),
    );
    expect(refused.code).toBe('ca_unreadable');
    expect(refused.message).toMatch(/^CA certificate 2 \(caCertificates\[1\]\)/);

    const unreadable = (ca: string) => refusal(input('3des.pfx', { caCertificates: [ca] }));
    expect(unreadable(Buffer.from('random bytes, not DER').toString('base64')).code).toBe('ca_unreadable');
    expect(unreadable('-----BEGIN PKCS7-----\nMAA=\n-----END PKCS7-----').message).toContain('openssl pkcs7');
    expect(unreadable(corpus.text('root.pem').replace(/-----END CERTIFICATE-----\s*$/, '')).code).toBe(
      'ca_unreadable',
    );
    expect(unreadable(Buffer.from(corpus.text('root.pem')).toString('base64')).message).toContain('PEM text');
  });

  it('names the missing issuer when the chain does not reach a self-signed root', () => {
    const leafOnly = refusal(input('leafonly.pfx'));
    expect(leafOnly.code).toBe('chain_incomplete');
    expect(leafOnly.message).toContain(`the issuer "${INTERMEDIATE}" of "${LEAF}" is missing`);
    const noRoot = refusal(input('nochain.pfx'));
    expect(noRoot.message).toContain(`the issuer "${ROOT}" of "${INTERMEDIATE}" is missing`);
  });
});

describe('refusals', () => {
  it.each<[string, CertErrorCode]>([
    ['rc2-128.pfx', 'pfx_unsupported_encryption'],
    ['rc4.pfx', 'pfx_unsupported_encryption'],
    ['nokey.pfx', 'pfx_no_private_key'],
    ['twokeys.pfx', 'pfx_multiple_keys'],
    ['mismatch.pfx', 'pfx_key_mismatch'],
    ['expired.pfx', 'cert_expired'],
    ['notyet.pfx', 'cert_not_yet_valid'],
    ['server.pfx', 'cert_not_client_auth'],
    ['leafonly.pfx', 'chain_incomplete'],
    ['iter.pfx', 'pfx_kdf_too_expensive'],
    ['iter-aes.pfx', 'pfx_kdf_too_expensive'],
  ])('%s: %s', (name, expected) => {
    expect(code(input(name))).toBe(expected);
  });

  it('pfx_bad_password for another password', () => {
    const refused = refusal(input('3des.pfx', { password: 'Corpus-Pa55?' }));
    expect(refused.code).toBe('pfx_bad_password');
    expect(refused.statusCode).toBe(422);
  });

  it('gives the exact two-step OpenSSL recipe for a cipher it cannot read', () => {
    const { message } = refusal(input('rc4.pfx'));
    expect(message).toContain('rc4-128');
    expect(message).toContain('openssl pkcs12 -legacy -in in.pfx -nodes -out cert-and-key.pem');
    expect(message).toContain(
      'openssl pkcs12 -export -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 -in cert-and-key.pem -out fixed.pfx',
    );
  });

  it('reads every iteration count before deriving: MAC, PKCS#12 PBE and PBES2', () => {
    expect(refusal(input('iter.pfx')).message).toContain('10,000,000');
    // iter-aes has one SHA-256 MAC iteration (1.5 units): its two PBES2 parts (200 000 each, SHA-256) cost the rest
    expect(refusal(input('iter-aes.pfx')).message).toMatch(/3 password derivations costing 2,400,002 units/);
    // the budget is the total: TripleDES-SHA1 at 2 048 costs 1 (MAC) + 3 (certificates) + 3 (key) units each
    const tripleDes = 2048 * (1 + 3 + 3);
    expect(code(input('3des.pfx'), { maxIterations: tripleDes - 1 })).toBe('pfx_kdf_too_expensive');
    expect(inspectPfxSync(input('3des.pfx'), { maxIterations: tripleDes }).certificate.subject).toBe(LEAF);
  });

  it('payload_too_large (413) above maxBytes', () => {
    const refused = refusal(input('3des.pfx'), { maxBytes: 4000 });
    expect(refused.code).toBe('payload_too_large');
    expect(refused.statusCode).toBe(413);
  });

  it('refuses an EKU without clientAuth and a key usage without digitalSignature', () => {
    expect(refusal(input('server.pfx')).message).toContain('(1.3.6.1.5.5.7.3.1) does not include clientAuth');
    const noSignature = refusal(input('nodigsig.pfx'));
    expect(noSignature.code).toBe('cert_not_client_auth');
    expect(noSignature.message).toContain('digitalSignature');
  });

  it('pfx_unreadable, with what to do, for what customers send instead of a PFX', () => {
    const unreadable = (pfx: Buffer) => {
      const refused = refusal({ pfx, password: corpus.password });
      expect(refused.code).toBe('pfx_unreadable');
      return refused.message;
    };
    const good = corpus.file('3des.pfx');
    expect(unreadable(Buffer.alloc(0))).toContain('empty');
    expect(unreadable(corpus.file('leaf.pem'))).toContain('PEM text');
    expect(unreadable(Buffer.from(good.toString('base64')))).toContain('base64-encoded twice');
    expect(unreadable(good.subarray(0, 1000))).toContain('truncated');
    expect(unreadable(Buffer.concat([good, Buffer.from([0, 7])]))).toContain(
      '2 bytes after its end that are not zero padding: binary data (starting 0x07)',
    );
    expect(unreadable(Buffer.concat([good, corpus.file('leaf.pem')]))).toMatch(/after its end.*PEM text/);
    expect(unreadable(corpus.file('root.der'))).toContain('not a DER-encoded PKCS#12');
  });

  it('pfx_unreadable for hostile nesting, without exhausting the stack', () => {
    const depth = 100_000;
    const nested = Buffer.concat([Buffer.from([0x30, 0x80, 0x02, 0x01, 0x03]), Buffer.alloc(depth * 2, 0)]);
    for (let i = 0; i < depth; i++) nested.writeUInt16BE(0x3080, 5 + 2 * i);
    expect(code({ pfx: nested, password: 'not-the-password' })).toBe('pfx_unreadable');
  });
});

describe('the order of the checks', () => {
  const expiry = () => notAfter(corpus.text('leaf.pem'));
  const future = () => ({ now: new Date(expiry().getTime() + 86_400_000) });

  it('1 unreadable before 2 size', () => {
    expect(code({ pfx: Buffer.alloc(5000, 0x41), password: 'not-the-password' }, { maxBytes: 100 })).toBe(
      'pfx_unreadable',
    );
  });

  it('2 size before 3 KDF cost', () => {
    expect(code(input('iter.pfx'), { maxBytes: 100 })).toBe('payload_too_large');
  });

  it('3 KDF cost before 4 password', () => {
    expect(code(input('iter.pfx', { password: 'wrong' }))).toBe('pfx_kdf_too_expensive');
  });

  it('4 password before 5 encryption and everything after it', () => {
    for (const name of ['rc4.pfx', 'aes.pfx', 'expired.pfx', 'nokey.pfx', 'server.pfx', 'leafonly.pfx']) {
      expect(code(input(name, { password: 'wrong', normalize: false }))).toBe('pfx_bad_password');
    }
  });

  it('5 encryption before 6 keys', () => {
    expect(code(input('aes.pfx', { normalize: false }))).toBe('pfx_unsupported_encryption');
    // a file without a key has no key encryption to object to
    expect(code(input('nokey.pfx', { normalize: false }))).toBe('pfx_no_private_key');
  });

  it('6 keys before 7 key match, 7 before 8 validity', () => {
    expect(code(input('nokey.pfx'), future())).toBe('pfx_no_private_key');
    expect(code(input('twokeys.pfx'), future())).toBe('pfx_multiple_keys');
    expect(code(input('mismatch.pfx'), future())).toBe('pfx_key_mismatch');
  });

  it('8 validity before 9 client auth, and 9 before 10 chain', () => {
    expect(code(input('server.pfx'), future())).toBe('cert_expired');
    expect(code(input('server.pfx', { caCertificates: ['garbage'] }))).toBe('cert_not_client_auth');
  });

  it('8 validity before 10 chain and CA inputs, which are read at step 10', () => {
    expect(code(input('leafonly.pfx', { caCertificates: ['garbage'] }), future())).toBe('cert_expired');
    expect(code(input('leafonly.pfx', { caCertificates: ['garbage'] }))).toBe('ca_unreadable');
    // a complete chain does not excuse an unreadable CA input
    expect(code(input('3des.pfx', { caCertificates: ['garbage'] }))).toBe('ca_unreadable');
  });
});
