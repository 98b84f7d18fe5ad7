import { CodedError } from '@certfleet/contract';

/** A caller asked a named status change for an outcome it does not have: a bug in the caller. */
export class TransitionError extends CodedError {
  readonly code = 'invalid_transition';

  constructor(transition: string, outcomes: readonly string[], requested: string | undefined) {
    super(
      `the '${transition}' change leads to ${outcomes.join(' or ')}` +
        (requested === undefined ? '; name one' : `, not ${requested}`),
    );
  }
}
