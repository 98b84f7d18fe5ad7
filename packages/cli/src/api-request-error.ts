import { CliError } from './cli-error.js';

/** The API answered with an error: its `{ error, message }`, and the HTTP status. */
export class ApiRequestError extends CliError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message);
    this.name = 'ApiRequestError';
    Object.setPrototypeOf(this, ApiRequestError.prototype);
  }
}
