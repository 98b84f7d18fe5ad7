import type { JobRecord } from './types.js';

/** What a new job's record is made of; the rest is the same for every job that waits for approval. */
export type NewJobFields = Omit<
  JobRecord,
  'status' | 'approvedBy' | 'rejectedBy' | 'rejectReason' | 'createdAt' | 'updatedAt' | 'round'
>;

/** The record of a new job pending approval, round 1, created `at`. */
export function pendingJobRecord(fields: NewJobFields, at = new Date().toISOString()): JobRecord {
  return {
    ...fields,
    status: 'pending_approval',
    approvedBy: null,
    rejectedBy: null,
    rejectReason: null,
    createdAt: at,
    updatedAt: at,
    round: 1,
  };
}
