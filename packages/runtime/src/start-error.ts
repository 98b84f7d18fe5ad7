import { CodedError } from '@certfleet/contract';

/** A start-up refusal the operator can act on: printed as one line, without a stack. */
export class StartError extends CodedError {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Turns the given error classes (a bad file, say) into a `StartError` with `code`;
 * anything else is a bug and goes on as it is.
 */
export function refuseOn(
  code: string,
  ...classes: (abstract new (...args: never[]) => Error)[]
): (err: unknown) => never {
  return (err) => {
    if (classes.some((c) => err instanceof c)) {
      throw new StartError(code, (err as Error).message, { cause: err });
    }
    throw err;
  };
}
