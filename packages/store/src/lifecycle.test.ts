import { describe, expect, it } from 'vitest';
import { canTransition, FINAL_STATUSES, isFinalStatus, TRANSITIONS, transitionOutcome } from './lifecycle.js';
import { TransitionError } from './transition-error.js';
import { JOB_STATUSES } from './types.js';

describe('the job lifecycle table', () => {
  it('names the final statuses once: completed, partially_failed, failed, rejected', () => {
    expect(FINAL_STATUSES).toEqual(['completed', 'partially_failed', 'failed', 'rejected']);
    expect(JOB_STATUSES.filter(isFinalStatus)).toEqual([...FINAL_STATUSES]);
  });

  it('leaves a final status only by a retry of a job that ended with failures', () => {
    for (const status of FINAL_STATUSES) {
      const ways = Object.keys(TRANSITIONS).filter((n) =>
        canTransition(status, n as keyof typeof TRANSITIONS),
      );
      expect(ways, status).toEqual(status === 'partially_failed' || status === 'failed' ? ['retry'] : []);
    }
  });

  it('reaches every final status by finish or reject, and nothing else leads there', () => {
    const into = (status: string): string[] =>
      Object.entries(TRANSITIONS)
        .filter(([, rule]) => (rule.to as readonly string[]).includes(status))
        .map(([name]) => name);
    expect(into('completed')).toEqual(['finish']);
    expect(into('partially_failed')).toEqual(['finish', 'undoRetry']);
    expect(into('failed')).toEqual(['finish', 'undoRetry']);
    expect(into('rejected')).toEqual(['reject']);
  });

  it('takes the one outcome of a change that has one, and the named one of a change that has several', () => {
    expect(transitionOutcome('approve', undefined)).toBe('queued');
    expect(transitionOutcome('finish', 'partially_failed')).toBe('partially_failed');
    expect(() => transitionOutcome('finish', undefined)).toThrow(TransitionError);
    expect(() => transitionOutcome('finish', 'rejected')).toThrow(
      /'finish' change leads to completed or partially_failed or failed, not rejected/,
    );
    expect(() => transitionOutcome('start', 'completed')).toThrow(TransitionError);
  });
});
