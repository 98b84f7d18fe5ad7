import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Corpus, makeCorpus } from '../../../test/fixtures/corpus.js';
import { CertError, inspectPfx, inspectPfxSync } from './index.js';
import { inspectionThreads } from './inspect-thread.js';

let corpus: Corpus;
let work: string;
beforeAll(async () => {
  corpus = await makeCorpus();
  work = await mkdtemp(join(tmpdir(), 'certfleet-thread-'));
}, 180_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<CertError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(CertError);
  return error as CertError;
}

describe('inspectPfx (worker thread)', () => {
  it('answers what inspectPfxSync answers, with Buffers', async () => {
    const request = { pfx: corpus.file('aes.pfx'), password: corpus.password };
    const result = await inspectPfx(request);
    const expected = inspectPfxSync(request);
    expect(Buffer.isBuffer(result.pfx)).toBe(true);
    expect(result.caChain.every((der) => Buffer.isBuffer(der))).toBe(true);
    expect(result.caChain).toEqual(expected.caChain);
    expect(result.certificate).toEqual(expected.certificate);
    // a fresh salt each time: the re-encoded bytes differ, but both open the same way
    expect(inspectPfxSync({ pfx: result.pfx, password: corpus.password }).certificate.normalized).toBe(false);
  });

  it('rebuilds CertError on this side of the thread boundary', async () => {
    const refused = await rejection(inspectPfx({ pfx: corpus.file('expired.pfx'), password: 'wrong' }));
    expect(refused.code).toBe('pfx_bad_password');
    expect(refused.name).toBe('CertError');
    expect(refused.statusCode).toBe(422);
    expect(refused.message).toContain('password');

    const tooLarge = await rejection(
      inspectPfx({ pfx: corpus.file('3des.pfx'), password: 'x' }, { maxBytes: 10 }),
    );
    expect(tooLarge.code).toBe('payload_too_large');
    expect(tooLarge.statusCode).toBe(413);
  });

  it('passes the options through (now, maxIterations)', async () => {
    const request = { pfx: corpus.file('3des.pfx'), password: corpus.password };
    expect((await rejection(inspectPfx(request, { now: new Date('2100-01-01') }))).code).toBe('cert_expired');
    expect((await rejection(inspectPfx(request, { maxIterations: 1000 }))).code).toBe(
      'pfx_kdf_too_expensive',
    );
  });

  it('gives up after timeoutMs and stops the thread', async () => {
    // seconds of key derivation (2 × 200 000 PBKDF2-SHA256 iterations, allowed here) against 50 ms
    const refused = await rejection(
      inspectPfx(
        { pfx: corpus.file('iter-aes.pfx'), password: corpus.password },
        { timeoutMs: 50, maxIterations: 3_000_000 },
      ),
    );
    expect(refused.code).toBe('pfx_unreadable');
    expect(refused.message).toContain('within 0.05 s');
    // the stopped thread is replaced: the next inspection works
    const next = await inspectPfx({ pfx: corpus.file('3des.pfx'), password: corpus.password });
    expect(next.certificate.chain).toHaveLength(3);
  });

  it('keeps its threads for the next inspection, at most one per core', async () => {
    await inspectPfx({ pfx: corpus.file('3des.pfx'), password: corpus.password });
    const after1 = inspectionThreads();
    expect(after1).toBeGreaterThan(0);
    for (const name of ['legacy.pfx', 'ec.pfx', '3des.pfx']) {
      await inspectPfx({ pfx: corpus.file(name), password: corpus.password });
    }
    // one at a time: the idle thread is used again, none is added
    expect(inspectionThreads()).toBe(after1);
    await Promise.all(
      Array.from({ length: 6 }, () =>
        inspectPfx({ pfx: corpus.file('3des.pfx'), password: corpus.password }),
      ),
    );
    expect(inspectionThreads()).toBeLessThanOrEqual(Math.max(1, availableParallelism()));
  });

  it('runs concurrent inspections', async () => {
    const results = await Promise.all(
      ['3des.pfx', 'legacy.pfx', 'aes.pfx', 'ec.pfx', 'weak.pfx'].map((name) =>
        inspectPfx({ pfx: corpus.file(name), password: corpus.password }),
      ),
    );
    expect(results.map((result) => result.certificate.chain.length)).toEqual([3, 3, 3, 3, 3]);
  });

  it('also works under the tsx CLI (the services run that way)', async () => {
    const index = new URL('./index.ts', import.meta.url).href;
    const script = join(work, 'inspect.mts');
    await writeFile(
      script,
      `import { readFileSync } from 'node:fs';
import { CertError, inspectPfx } from ${JSON.stringify(index)};
const pfx = readFileSync(process.argv[2]);
const ok = await inspectPfx({ pfx, password: process.env.PFX_PASSWORD });
const refused = await inspectPfx({ pfx, password: 'wrong' }).catch((error) => error);
console.log(JSON.stringify({ chain: ok.certificate.chain.length, refused: refused instanceof CertError && refused.code }));
`,
    );
    const pfxPath = join(work, 'in.pfx');
    await writeFile(pfxPath, corpus.file('3des.pfx'));
    const tsxCli = fileURLToPath(import.meta.resolve('tsx/cli'));
    const { stdout } = await promisify(execFile)(process.execPath, [tsxCli, script, pfxPath], {
      env: { ...process.env, PFX_PASSWORD: corpus.password },
    });
    expect(JSON.parse(stdout)).toEqual({ chain: 3, refused: 'pfx_bad_password' });
  }, 30_000);
});
