import { CertError } from './cert-error.js';
import { type RecipeOptions, reencodeRecipe } from './recipe.js';

const format = (n: number): string =>
  Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'an unbounded number of';

/**
 * The cost of all password derivations of one PFX, counted before any of them runs: node-forge
 * derives keys in JavaScript, so a PFX that asks for millions of iterations would hold a thread
 * for minutes. One unit is one iteration of node-forge's PKCS#12 KDF with SHA-1 (the MAC of a
 * TripleDES-SHA1 file); other derivations count by their measured cost (`KDF_WEIGHTS`).
 */
export class KdfBudget {
  private spent = 0;
  private derivations = 0;
  /** The highest iteration count charged so far. */
  maxSeen = 0;

  constructor(
    private readonly maxCost: number,
    private readonly recipe: RecipeOptions = {},
  ) {}

  /** Whether a derivation that is only worth trying (never needed) still fits in the budget. */
  affords(iterations: number, weight: number): boolean {
    return this.spent + iterations * weight <= this.maxCost;
  }

  /** Records one derivation of `iterations` at `weight` units each; throws `pfx_kdf_too_expensive` past the budget. */
  charge(iterations: number, weight: number, what: string): void {
    this.maxSeen = Math.max(this.maxSeen, iterations);
    this.spent += iterations * weight;
    this.derivations += 1;
    if (this.spent <= this.maxCost) return;
    const single = iterations * weight > this.maxCost;
    throw new CertError(
      'pfx_kdf_too_expensive',
      (single
        ? `The PFX asks for ${format(iterations)} password-derivation iterations (${what}), which alone ` +
          `cost ${format(iterations * weight)} units`
        : `The PFX needs ${this.derivations} password derivations costing ${format(this.spent)} units in all`) +
        `; certfleet spends at most ${format(this.maxCost)} (FLEET_MAX_KDF_ITERATIONS; one unit is one ` +
        `PKCS#12 SHA-1 iteration, and ordinary exports cost well under a million). ${reencodeRecipe(this.recipe)}`,
    );
  }
}
