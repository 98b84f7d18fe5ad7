import { createPrivateKey } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Corpus, makeCorpus } from '../../../test/fixtures/corpus.js';
import { CertError } from './cert-error.js';
import { inspectPfxSync } from './inspect.js';
import { writeTripleDesPfx } from './pfx-writer.js';

let corpus: Corpus;
beforeAll(async () => {
  corpus = await makeCorpus();
}, 180_000);

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'replace'; bytes: Uint8Array };

function mutate(base: Buffer, mutations: Mutation[]): Buffer {
  let bytes = Buffer.from(base);
  for (const mutation of mutations) {
    const at = bytes.length === 0 ? 0 : 'at' in mutation ? mutation.at % bytes.length : 0;
    switch (mutation.kind) {
      case 'truncate':
        bytes = bytes.subarray(0, at);
        break;
      case 'flip':
        if (bytes.length > 0) bytes[at] = bytes[at]! ^ mutation.xor;
        break;
      case 'insert':
        bytes = Buffer.concat([bytes.subarray(0, at), mutation.bytes, bytes.subarray(at)]);
        break;
      case 'replace':
        bytes = Buffer.from(mutation.bytes);
    }
  }
  return bytes;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('replace' as const), bytes: fc.uint8Array({ maxLength: 512 }) }),
);

describe('hostile bytes', () => {
  it('mutated or truncated PFX files give a CertError, never another exception', () => {
    const bases = ['3des.pfx', 'aes.pfx', 'legacy.pfx', 'twokeys.pfx'].map((name) => corpus.file(name));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: bases.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (base, mutations) => {
          const pfx = mutate(bases[base]!, mutations);
          try {
            inspectPfxSync({ pfx, password: corpus.password });
          } catch (error) {
            expect(error).toBeInstanceOf(CertError);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('hostile certificates behind a valid password and MAC give CertErrors', () => {
    // mutating a file breaks its MAC, so the parsers behind it are reached by writing a sound PFX around
    // mutated certificates: the certificate, key-match, validity, usage and chain checks all see them
    const key = createPrivateKey(corpus.text('leaf.key')).export({ type: 'pkcs8', format: 'der' });
    const [leaf, intermediate, root] = ['leaf.der', 'int.der', 'root.der'].map((name) => corpus.file(name));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 }),
        fc.array(mutation, { minLength: 1, maxLength: 2 }),
        (which, mutations) => {
          const certificates = [leaf!, intermediate!, root!];
          certificates[which] = mutate(certificates[which]!, mutations);
          const pfx = writeTripleDesPfx({ key, certificates, password: corpus.password });
          try {
            inspectPfxSync({ pfx, password: corpus.password });
          } catch (error) {
            expect(error).toBeInstanceOf(CertError);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
