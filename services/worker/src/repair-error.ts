import { CodedError } from '@certfleet/contract';

/** A repair asked for what the inventory or the registry does not hold. */
export class RepairError extends CodedError {
  constructor(
    readonly code: 'unknown_environment' | 'unknown_certificate' | 'unknown_front_end',
    message: string,
  ) {
    super(message);
  }
}
