import { describe, expect, it } from 'vitest';
import { signBody, verifySignature } from './signature.js';

describe('webhook signatures', () => {
  const body = '{"deliveryId":"d-1"}';
  const now = 1_800_000_000_000;

  it('accepts its own signature with any of the rotation secrets', () => {
    const header = signBody('new', body, now);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature(['old', 'new'], header, body, now)).toEqual({ ok: true });
  });

  it('refuses another secret, another body, a stale time and a malformed header', () => {
    const header = signBody('s', body, now);
    expect(verifySignature(['x'], header, body, now).ok).toBe(false);
    expect(verifySignature(['s'], header, `${body} `, now).ok).toBe(false);
    expect(verifySignature(['s'], header, body, now + 301_000)).toEqual({
      ok: false,
      reason: 'signature timestamp is more than 300 s away from now',
    });
    expect(verifySignature(['s'], header, body, now - 299_000).ok).toBe(true);
    expect(verifySignature(['s'], undefined, body, now).ok).toBe(false);
    expect(verifySignature(['s'], 'v1=abc', body, now).ok).toBe(false);
    expect(verifySignature([], header, body, now).ok).toBe(false);
  });
});
