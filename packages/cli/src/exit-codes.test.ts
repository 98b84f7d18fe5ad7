import { describe, expect, it } from 'vitest';
import { JOB_STATUSES } from './api-types.js';
import { exitCodeForStatus, isFinal } from './exit-codes.js';

describe('exit codes', () => {
  it('maps every job status to the documented exit code', () => {
    expect(Object.fromEntries(JOB_STATUSES.map((s) => [s, exitCodeForStatus(s)]))).toEqual({
      pending_approval: 0,
      scheduled: 0,
      queued: 0,
      running: 0,
      canary: 0,
      completed: 0,
      partially_failed: 2,
      failed: 3,
      rejected: 4,
    });
  });

  it('knows the final statuses', () => {
    expect(JOB_STATUSES.filter(isFinal)).toEqual(['completed', 'partially_failed', 'failed', 'rejected']);
  });
});
