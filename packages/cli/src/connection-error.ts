import { CliError } from './cli-error.js';

/** No HTTP answer at all: refused, unresolvable, reset or timed out. */
export class ConnectionError extends CliError {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super('unreachable', `cannot reach ${url}: ${reason}`);
    this.name = 'ConnectionError';
    Object.setPrototypeOf(this, ConnectionError.prototype);
  }

  override describe(): string {
    return this.message;
  }
}
