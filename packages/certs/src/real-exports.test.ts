import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Corpus, makeCorpus } from '../../../test/fixtures/corpus.js';
import {
  gostKeyPfx,
  keytoolIterationsPfx,
  latin1PasswordPfx,
  noPasswordPfx,
  opensslTestIterationsPfx,
  paddedPfx,
  pbmac1Pfx,
  separateKeyPasswordPfx,
} from '../../../test/fixtures/real-exports.js';
import { CertError } from './cert-error.js';
import { inspectPfxSync } from './inspect.js';
import { reencodeRecipe } from './recipe.js';
import type { InspectInput } from './types.js';

let corpus: Corpus;
let work: string;
beforeAll(async () => {
  corpus = await makeCorpus();
  work = await mkdtemp(join(tmpdir(), 'certs-real-'));
}, 180_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const run = promisify(execFile);

function refusal(request: InspectInput): CertError {
  try {
    inspectPfxSync(request);
  } catch (error) {
    expect(error).toBeInstanceOf(CertError);
    return error as CertError;
  }
  throw new Error('expected a refusal');
}

/** Opens `pfx` with openssl as a Linux front-end's client would; the password exactly as given. */
async function opensslOpens(pfx: Buffer, password: string): Promise<string> {
  const path = join(work, 'check.pfx');
  await writeFile(path, pfx);
  const { stderr } = await run('openssl', [
    'pkcs12',
    '-info',
    '-noout',
    '-in',
    path,
    '-passin',
    `pass:${password}`,
  ]);
  return stderr;
}

describe('a PFX made without password', () => {
  it('opens in its NULL form with no password field and is installed for the empty password ""', async () => {
    const result = inspectPfxSync({ pfx: noPasswordPfx(corpus, 'null') });
    expect(result.certificate.emptyPassword).toEqual({ submitted: 'null', installed: 'empty' });
    expect(result.certificate.normalized).toBe(true);
    expect(result.certificate.pfxEncryption).toMatchObject({
      key: '3des',
      certificates: '3des',
      mac: 'sha1',
    });
    expect(result.password).toBe('');
    expect(result.certificate.warnings).toContainEqual(expect.stringContaining('NULL form'));
    // the installed file opens with "" in its empty form, and no longer with the NULL form
    const installed = inspectPfxSync({ pfx: result.pfx, password: '' });
    expect(installed.certificate.emptyPassword).toEqual({ submitted: 'empty', installed: 'empty' });
    expect(installed.certificate.normalized).toBe(false);
    await opensslOpens(result.pfx, '');
  });

  it('tries both forms for "" and keeps a file already in the empty form as it is', () => {
    expect(
      inspectPfxSync({ pfx: noPasswordPfx(corpus, 'null'), password: '' }).certificate.emptyPassword,
    ).toEqual({ submitted: 'null', installed: 'empty' });
    for (const pfx of [noPasswordPfx(corpus, 'empty'), corpus.file('nopass.pfx')]) {
      const result = inspectPfxSync({ pfx });
      expect(result.certificate.normalized).toBe(false);
      expect(result.pfx.equals(pfx)).toBe(true);
      expect(result.certificate.emptyPassword).toEqual({ submitted: 'empty', installed: 'empty' });
    }
  });

  it('says that a file with a password needs it, and that a file without one needs none', () => {
    const needed = refusal({ pfx: corpus.file('3des.pfx') });
    expect(needed.code).toBe('pfx_bad_password');
    expect(needed.message).toContain('is protected with a password');
    expect(needed.message).not.toContain('case-sensitive');
    const none = refusal({ pfx: noPasswordPfx(corpus), password: 'something' });
    expect(none.code).toBe('pfx_bad_password');
    expect(none.message).toContain('The PFX has no password');
  });

  it('with normalize: false, refuses the NULL form (Windows would need NULL) and says why', () => {
    const refused = refusal({ pfx: noPasswordPfx(corpus, 'null'), normalize: false });
    expect(refused.code).toBe('pfx_unsupported_encryption');
    expect(refused.message).toContain('NULL form');
  });
});

describe('zero padding after the end', () => {
  it('is cut off, with a warning, and the rest installed unchanged', () => {
    const good = corpus.file('3des.pfx');
    const result = inspectPfxSync({ pfx: paddedPfx(good, 9), password: corpus.password });
    expect(result.pfx.equals(good)).toBe(true);
    expect(result.certificate.normalized).toBe(true);
    expect(result.certificate.warnings).toContainEqual(expect.stringContaining('9 zero bytes after its end'));
  });

  it('with normalize: false, is refused with the exact cut that fixes it', () => {
    const good = corpus.file('3des.pfx');
    const refused = refusal({ pfx: paddedPfx(good, 3), password: corpus.password, normalize: false });
    expect(refused.code).toBe('pfx_unreadable');
    expect(refused.message).toContain(`head -c ${good.length} in.pfx > fixed.pfx`);
  });
});

describe('a self-signed client certificate', () => {
  it('is its own root: accepted with a warning that the server must trust it', () => {
    const result = inspectPfxSync({ pfx: corpus.file('selfsigned.pfx'), password: corpus.password });
    expect(result.certificate.chain).toEqual(['CN=Corpus Self-Signed Client, O=Certfleet Corpus']);
    expect(result.caChain).toEqual([]);
    expect(result.certificate.warnings).toContainEqual(
      expect.stringContaining(`self-signed: no CA vouches for it, so the server it connects to must trust`),
    );
  });
});

describe('refusals that name the real cause', () => {
  it('a key with its own password (keytool -keypass): pfx_bad_password, never "damaged"', () => {
    const refused = refusal({
      pfx: separateKeyPasswordPfx(corpus, 'another-key-pass'),
      password: corpus.password,
    });
    expect(refused.code).toBe('pfx_bad_password');
    expect(refused.message).toContain('-keypass');
    expect(refused.message).not.toMatch(/damaged/);
  });

  it('a PBES2 part keyed with the ISO-8859-1 bytes of the password opens, and is re-encoded', async () => {
    const password = 'Pässwörd-Ünïcode';
    const result = inspectPfxSync({ pfx: latin1PasswordPfx(corpus, password), password });
    expect(result.certificate.normalized).toBe(true);
    expect(result.certificate.warnings).toContainEqual(expect.stringContaining('ISO-8859-1'));
    expect(inspectPfxSync({ pfx: result.pfx, password }).certificate.normalized).toBe(false);
    await opensslOpens(result.pfx, password);
  });

  it('a GOST key: what it is and what to ask for, not "base64-encoded once"', () => {
    const refused = refusal({ pfx: gostKeyPfx(corpus), password: corpus.password });
    expect(refused.message).toContain('GOST R 34.10-2012');
    expect(refused.message).toContain('RSA');
    expect(refused.message).not.toContain('base64');
  });

  it('CAs that sign each other: the loop, not "did not sign this one"', () => {
    const refused = refusal({ pfx: corpus.file('cycle.pfx'), password: corpus.password });
    expect(refused.code).toBe('chain_incomplete');
    expect(refused.message).toContain('loops');
    expect(refused.message).not.toContain('did not sign');
  });

  it('a PBMAC1 file gets a recipe that works with this machine’s OpenSSL 3.0', async () => {
    const refused = refusal({ pfx: pbmac1Pfx(corpus), password: corpus.password });
    expect(refused.code).toBe('pfx_unsupported_encryption');
    const recipe = reencodeRecipe({ pbmac1: true });
    expect(refused.message).toContain(recipe);
    expect(recipe).toContain('3.4');
    const [, decode, encode] = /1\) (openssl .+?) 2\) (openssl .+?) \(both/.exec(recipe) ?? [];
    await writeFile(join(work, 'in.pfx'), pbmac1Pfx(corpus));
    const env = { ...process.env, PFX_PASSWORD: corpus.password };
    for (const step of [
      [...decode!.split(' ').slice(1), '-passin', 'env:PFX_PASSWORD'],
      [...encode!.split(' ').slice(1), '-passout', 'env:PFX_PASSWORD'],
    ]) {
      await run('openssl', step, { cwd: work, env });
    }
    const fixed = await readFile(join(work, 'fixed.pfx'));
    const result = inspectPfxSync({ pfx: fixed, password: corpus.password, normalize: false });
    expect(result.certificate.pfxEncryption).toMatchObject({ key: '3des', mac: 'sha1' });
  });
});

describe('the KDF budget is the total cost of one file', () => {
  it('accepts the iteration counts of Java keytool and of OpenSSL test exports by default', () => {
    for (const pfx of [keytoolIterationsPfx(corpus), opensslTestIterationsPfx(corpus)]) {
      const result = inspectPfxSync({ pfx, password: corpus.password });
      expect(result.certificate.normalizedFrom?.iterations).toBeGreaterThanOrEqual(100_000);
    }
  });

  it('refuses the 10-million-iteration file before deriving anything', () => {
    const refused = refusal({ pfx: corpus.file('iter.pfx'), password: corpus.password });
    expect(refused.code).toBe('pfx_kdf_too_expensive');
    expect(refused.message).toContain('FLEET_MAX_KDF_ITERATIONS');
  });
});
