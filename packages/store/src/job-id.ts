import { randomBytes } from 'node:crypto';

/** Time-ordered, unguessable job ids (the API's and the repair jobs'). */
export function newJobId(): string {
  return `${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`;
}
