import { describe, expect, it } from 'vitest';
import { crossedThreshold, daysLeft } from './expiry-thresholds.js';

const DEFAULT = [1, 7, 14, 30, 60];
const HOUR = 3_600_000;

describe('daysLeft', () => {
  const notAfter = '2030-06-30T12:00:00.000Z';
  const before = (ms: number): Date => new Date(Date.parse(notAfter) - ms);

  it('counts whole days rounded up, so a part of a day left is a day', () => {
    expect(daysLeft(notAfter, before(10 * 24 * HOUR))).toBe(10);
    expect(daysLeft(notAfter, before(9 * 24 * HOUR + HOUR))).toBe(10);
    expect(daysLeft(notAfter, before(HOUR))).toBe(1);
  });

  it('is 0 or less once the certificate has expired', () => {
    expect(daysLeft(notAfter, before(0))).toBe(0);
    expect(daysLeft(notAfter, before(-3 * 24 * HOUR))).toBe(-3);
  });
});

describe('crossedThreshold', () => {
  it.each([
    [100, undefined],
    [61, undefined],
    [60, 60],
    [45, 60],
    [30, 30],
    [15, 30],
    [14, 14],
    [10, 14],
    [8, 14],
    [7, 7],
    [6, 7],
    [2, 7],
    [1, 1],
  ])('with %i days left reports the %s-day threshold only', (days, threshold) => {
    expect(crossedThreshold(days, DEFAULT)).toBe(threshold);
  });

  it('sends no warning for a certificate that has already expired', () => {
    expect(crossedThreshold(0, DEFAULT)).toBeUndefined();
    expect(crossedThreshold(-5, DEFAULT)).toBeUndefined();
  });

  it('takes the thresholds in any order', () => {
    expect(crossedThreshold(10, [60, 30, 14, 7, 1])).toBe(14);
    expect(crossedThreshold(3, [7, 21])).toBe(7);
    expect(crossedThreshold(8, [7])).toBeUndefined();
  });
});
