import Value from 'typebox/value';
import { JOBS, type JobName, type PayloadOf } from './catalog.js';

/** A payload read from a queue that does not fit its job's schema. */
export class PayloadError extends Error {
  readonly code = 'bad_payload';
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
    Object.setPrototypeOf(this, PayloadError.prototype);
  }
}

/** Checks a payload read from a queue; extra fields from other releases are tolerated. */
export function parsePayload<N extends JobName>(name: N, data: unknown): PayloadOf<N> {
  const entry = (JOBS as Partial<typeof JOBS>)[name];
  if (!entry) throw new PayloadError(`unknown job name '${String(name)}'`);
  if (!Value.Check(entry.payload, data)) {
    const first = [...Value.Errors(entry.payload, data)][0];
    throw new PayloadError(
      `bad ${name} payload: ${first?.instancePath ?? ''} ${first?.message ?? ''}`.trim(),
    );
  }
  return data as PayloadOf<N>;
}
