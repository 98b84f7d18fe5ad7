import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Corpus, makeCorpus } from '../../../test/fixtures/corpus.js';
import { CertError } from './cert-error.js';
import { inspectPfxSync } from './inspect.js';
import { REENCODE_RECIPE } from './recipe.js';

const run = promisify(execFile);
let corpus: Corpus;
let work: string;

beforeAll(async () => {
  corpus = await makeCorpus();
  work = await mkdtemp(join(tmpdir(), 'certfleet-normalize-'));
}, 180_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Runs openssl with the password in the environment, never on the command line. */
async function openssl(args: string[], password: string): Promise<{ stdout: string; stderr: string }> {
  return run('openssl', args, { cwd: work, env: { ...process.env, PFX_PASSWORD: password } });
}

async function save(name: string, bytes: Buffer): Promise<string> {
  const path = join(work, name);
  await writeFile(path, bytes);
  return path;
}

describe('normalisation', () => {
  it('re-encodes the OpenSSL 3 default (AES-256, SHA-256 MAC) to TripleDES-SHA1', () => {
    const submitted = corpus.file('aes.pfx');
    const result = inspectPfxSync({ pfx: submitted, password: corpus.password });
    expect(result.certificate.normalized).toBe(true);
    expect(result.certificate.normalizedFrom).toEqual({
      key: 'aes-256-cbc',
      certificates: 'aes-256-cbc',
      mac: 'sha256',
      iterations: 2048,
    });
    expect(result.certificate.pfxEncryption).toEqual({
      key: '3des',
      certificates: '3des',
      mac: 'sha1',
      iterations: 2048,
    });
    expect(result.pfx.equals(submitted)).toBe(false);
    expect(result.caChain).toEqual([corpus.file('int.der'), corpus.file('root.der')]);

    // the output, inspected again, is installable as it is: nothing left to normalise
    const again = inspectPfxSync({ pfx: result.pfx, password: corpus.password });
    expect(again.certificate.normalized).toBe(false);
    expect(again.pfx.equals(result.pfx)).toBe(true);
    expect(again.certificate.fingerprintSha256).toBe(result.certificate.fingerprintSha256);
    expect(again.certificate.pfxEncryption).toEqual(result.certificate.pfxEncryption);
  });

  it('writes a file that OpenSSL reads as pbeWithSHA1And3-KeyTripleDES-CBC with a SHA-1 MAC', async () => {
    const { pfx } = inspectPfxSync({ pfx: corpus.file('aes.pfx'), password: corpus.password });
    const path = await save('normalized.pfx', pfx);
    const info = await openssl(
      ['pkcs12', '-info', '-noout', '-in', path, '-passin', 'env:PFX_PASSWORD'],
      corpus.password,
    );
    const report = info.stdout + info.stderr;
    expect(report).toContain('MAC: sha1, Iteration 2048');
    expect(report).toContain('PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048');
    expect(report).toContain('Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048');
    expect(report).not.toMatch(/AES|PBES2|sha256/);

    // and gives back the same key and certificates
    const pem = await openssl(
      ['pkcs12', '-in', path, '-nodes', '-passin', 'env:PFX_PASSWORD'],
      corpus.password,
    );
    const key = createPrivateKey(pem.stdout);
    expect(new X509Certificate(corpus.file('leaf.der')).checkPrivateKey(key)).toBe(true);
    expect(pem.stdout.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
  });

  it('keeps a non-ASCII password working for OpenSSL and an EC key intact', async () => {
    const unicode = inspectPfxSync({ pfx: corpus.file('unicode-aes.pfx'), password: corpus.unicodePassword });
    const path = await save('unicode.pfx', unicode.pfx);
    const info = await openssl(
      ['pkcs12', '-info', '-noout', '-in', path, '-passin', 'env:PFX_PASSWORD'],
      corpus.unicodePassword,
    );
    expect(info.stdout + info.stderr).toContain('MAC: sha1');

    const ec = inspectPfxSync({ pfx: corpus.file('ec-aes.pfx'), password: corpus.password });
    expect(ec.certificate.normalized).toBe(true);
    const ecPath = await save('ec.pfx', ec.pfx);
    const pem = await openssl(
      ['pkcs12', '-in', ecPath, '-nodes', '-passin', 'env:PFX_PASSWORD'],
      corpus.password,
    );
    expect(createPrivateKey(pem.stdout).asymmetricKeyType).toBe('ec');
  });

  it('refuses instead when normalize is false, with the command that fixes the file', () => {
    try {
      inspectPfxSync({ pfx: corpus.file('aes.pfx'), password: corpus.password, normalize: false });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CertError);
      const { code, message } = error as CertError;
      expect(code).toBe('pfx_unsupported_encryption');
      expect(message).toContain('key aes-256-cbc, certificates aes-256-cbc, MAC sha256');
      expect(message).toContain(REENCODE_RECIPE);
    }
  });

  it('the recipe in the refusal turns AES and RC4 files into installable ones', async () => {
    const [, decode, encode] = /1\) (openssl .+?) 2\) (openssl .+?) \(both/.exec(REENCODE_RECIPE) ?? [];
    expect(decode).toBe('openssl pkcs12 -legacy -in in.pfx -nodes -out cert-and-key.pem');
    for (const name of ['aes.pfx', 'rc4.pfx']) {
      await save('in.pfx', corpus.file(name));
      await openssl([...decode!.split(' ').slice(1), '-passin', 'env:PFX_PASSWORD'], corpus.password);
      await openssl([...encode!.split(' ').slice(1), '-passout', 'env:PFX_PASSWORD'], corpus.password);
      const fixed = await readFile(join(work, 'fixed.pfx'));
      const result = inspectPfxSync({ pfx: fixed, password: corpus.password, normalize: false });
      expect(result.certificate.pfxEncryption).toMatchObject({
        key: '3des',
        certificates: '3des',
        mac: 'sha1',
      });
    }
  });
});
