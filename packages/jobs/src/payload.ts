import { CodedError, firstErrorLine } from '@certfleet/contract';
import Value from 'typebox/value';
import { JOBS, type JobName, type PayloadOf } from './catalog.js';

/** A payload read from a queue that does not fit its job's schema. */
export class PayloadError extends CodedError {
  readonly code = 'bad_payload';
}

/** Checks a payload read from a queue; extra fields from other releases are tolerated. */
export function parsePayload<N extends JobName>(name: N, data: unknown): PayloadOf<N> {
  const entry = (JOBS as Partial<typeof JOBS>)[name];
  if (!entry) throw new PayloadError(`unknown job name '${String(name)}'`);
  if (!Value.Check(entry.payload, data)) {
    throw new PayloadError(`bad ${name} payload: ${firstErrorLine(Value.Errors(entry.payload, data))}`);
  }
  return data as PayloadOf<N>;
}
