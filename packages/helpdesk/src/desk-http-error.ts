import { CodedError } from '@certfleet/contract';

/** Why a call to a help desk's API failed. */
export type DeskHttpErrorCode = 'desk_unreachable' | 'desk_refused' | 'desk_busy' | 'too_large';

/** A failed help desk call; `permanent` ones are not retried, `retryAfterMs` says when to try again. */
export class DeskHttpError extends CodedError {
  constructor(
    readonly code: DeskHttpErrorCode,
    message: string,
    readonly permanent: boolean,
    readonly retryAfterMs?: number,
    /** The desk's HTTP status, when it answered one. */
    readonly status?: number,
  ) {
    super(message);
  }
}
