/**
 * The base of certfleet's error classes: `name` is the class's own, `instanceof`
 * holds, and `code` is what callers and answers branch on (CONVENTIONS: errors).
 */
export abstract class CodedError extends Error {
  /** A stable, machine-readable reason. */
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
