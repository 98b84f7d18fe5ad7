/**
 * What one password-derivation iteration costs in node-forge, the library the certs package
 * derives with, per KDF and hash: the figures behind `KDF_WEIGHTS` and the default
 * FLEET_MAX_KDF_ITERATIONS budget. Prints a table; never fails.
 *
 *   npx tsx test/bench/kdf-cost.ts [iterations]
 */
import forge from 'node-forge';
import { KDF_WEIGHTS } from '../../packages/certs/src/pfx-algorithms.js';
import { min } from './measure.js';

const HASHES = ['sha1', 'sha256', 'sha384', 'sha512'] as const;
type Hash = (typeof HASHES)[number];
const iterations = Number(process.argv[2] ?? 20_000);
const ROUNDS = 5;
const password = 'Bench-Pa55!';
const salt = '8bytesal';

/** Nanoseconds per iteration of `derive(n)`, the best of a few rounds after a warm-up. */
function perIteration(derive: (n: number) => void): number {
  derive(Math.ceil(iterations / 10));
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    derive(iterations);
    rounds.push(Number(process.hrtime.bigint() - started) / iterations);
  }
  return min(rounds);
}

const md = (hash: Hash): forge.md.MessageDigest => forge.md[hash].create();

// one output block each: the digest's own length
const pkcs12 = (hash: Hash): number =>
  perIteration((n) =>
    forge.pkcs12.generateKey(password, forge.util.createBuffer(salt), 3, n, md(hash).digestLength, md(hash)),
  );
// with a digest object, as forge's PBES2 decryption calls it (which keeps it in JavaScript)
const pbkdf2 = (hash: Hash): number =>
  perIteration((n) => forge.pkcs5.pbkdf2(password, salt, n, md(hash).digestLength, md(hash)));

const reference = pkcs12('sha1');
const rows: string[][] = [['kdf', 'hash', 'ns/iteration', 'relative', 'KDF_WEIGHTS']];
for (const [kdf, measure] of [
  ['pkcs12', pkcs12],
  ['pbkdf2', pbkdf2],
] as const) {
  for (const hash of HASHES) {
    const ns = kdf === 'pkcs12' && hash === 'sha1' ? reference : measure(hash);
    rows.push([kdf, hash, ns.toFixed(0), (ns / reference).toFixed(2), String(KDF_WEIGHTS[kdf][hash])]);
  }
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
console.log(
  `\n${iterations} iterations, best of ${ROUNDS}; one budget unit ≈ ${reference.toFixed(0)} ns here`,
);
