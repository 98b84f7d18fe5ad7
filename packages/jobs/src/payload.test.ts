import { describe, expect, it } from 'vitest';
import { notifyJobId } from './catalog.js';
import { parsePayload, PayloadError } from './payload.js';

const FINGERPRINT = 'ab'.repeat(32);
const expiring = {
  event: 'certificate.expiring',
  jobId: 'mwyu1-0123456789abcdef',
  environment: 'acme-prd',
  name: 'acme-client',
  fingerprintSha256: FINGERPRINT,
  threshold: 14,
  daysLeft: 10,
} as const;

describe('the notify payload', () => {
  it('still accepts a completion report queued by the previous release', () => {
    const old = { jobId: 'mwyu1-0123456789abcdef', round: 2, status: 'completed' };
    expect(parsePayload('notify', old)).toEqual(old);
    expect(notifyJobId(parsePayload('notify', old))).toBe('mwyu1-0123456789abcdef-r2-completed');
  });

  it('accepts an expiry warning, whose id is one per environment, certificate and threshold', () => {
    const payload = parsePayload('notify', expiring);
    expect(notifyJobId(payload)).toBe(`expiry-acme-prd-${FINGERPRINT.slice(0, 32)}-t14`);
    expect(notifyJobId({ ...expiring, daysLeft: 9 })).toBe(notifyJobId(payload));
    expect(notifyJobId({ ...expiring, threshold: 7 })).not.toBe(notifyJobId(payload));
  });

  it.each([
    ['no threshold', { ...expiring, threshold: undefined }],
    ['a threshold of 0', { ...expiring, threshold: 0 }],
    ['another event', { ...expiring, event: 'certificate.expired' }],
    ['a fingerprint that is not hex', { ...expiring, fingerprintSha256: 'x'.repeat(64) }],
  ])('refuses an expiry warning with %s', (_what, payload) => {
    expect(() => parsePayload('notify', payload)).toThrow(PayloadError);
  });
});

describe('the expiry-watch payload', () => {
  it('accepts the daily scheduler’s empty payload and an asked-for run with its time', () => {
    expect(parsePayload('expiry-watch', {})).toEqual({});
    const asked = { requestId: 'mwyu1-0123456789abcdef', at: '2030-01-01T06:00:00.000Z' };
    expect(parsePayload('expiry-watch', asked)).toEqual(asked);
  });
});
