import { randomBytes } from 'node:crypto';

/** Time-ordered, unguessable job ids (the API's and the repair jobs'). */
export function newJobId(): string {
  return `${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`;
}

/** How long ago a job id was made (from its time part): a claim whose job record is not written yet is young. */
export function jobIdAgeMs(id: string): number {
  return Date.now() - Number.parseInt(id.split('-')[0] ?? '0', 36);
}
