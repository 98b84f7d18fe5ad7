import { CertError } from './cert-error.js';
import { REENCODE_RECIPE } from './recipe.js';

/** All derivations together may cost this many times the per-derivation limit (a normal PFX has 3). */
const TOTAL_FACTOR = 4;

const format = (n: number): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US') : 'an unbounded number of';

/**
 * Counts password-derivation iterations before any of them run: node-forge derives keys in
 * JavaScript, so a PFX that asks for millions of iterations would hold a thread for minutes.
 */
export class KdfBudget {
  private spent = 0;
  private derivations = 0;
  /** The highest iteration count charged so far. */
  maxSeen = 0;

  constructor(private readonly maxIterations: number) {}

  /** Records one derivation of `iterations`; throws `pfx_kdf_too_expensive` past the limits. */
  charge(iterations: number, what: string): void {
    this.maxSeen = Math.max(this.maxSeen, iterations);
    if (iterations > this.maxIterations) {
      throw new CertError(
        'pfx_kdf_too_expensive',
        `The PFX asks for ${format(iterations)} password-derivation iterations (${what}); certfleet accepts at ` +
          `most ${format(this.maxIterations)}. ${REENCODE_RECIPE}`,
      );
    }
    this.spent += iterations;
    this.derivations += 1;
    if (this.spent > this.maxIterations * TOTAL_FACTOR) {
      throw new CertError(
        'pfx_kdf_too_expensive',
        `The PFX needs ${this.derivations} password derivations totalling ${format(this.spent)} iterations; ` +
          `certfleet accepts at most ${format(this.maxIterations * TOTAL_FACTOR)} in all. ${REENCODE_RECIPE}`,
      );
    }
  }
}
