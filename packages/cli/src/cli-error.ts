/** A failure fleetctl reports as one line on stderr, `fleetctl: <code>: <message>`, then exits. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
    Object.setPrototypeOf(this, CliError.prototype);
  }

  /** The line printed after `fleetctl: `. */
  describe(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** A wrong or missing argument, file or setting: the user can fix it. */
export const usageError = (message: string): CliError => new CliError('usage', message);
