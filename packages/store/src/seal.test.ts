import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seal, SealError, unseal } from './seal.js';

describe('sealed secrets', () => {
  const key = randomBytes(32);
  const bundle = {
    pfx: randomBytes(2000),
    password: 'p@ss wörd',
    caChain: [randomBytes(300), randomBytes(200)],
  };

  it('round-trips and holds nothing in clear', () => {
    const sealed = seal(key, 'job-1', bundle);
    expect(sealed.includes(Buffer.from('p@ss wörd'))).toBe(false);
    expect(sealed.includes(bundle.pfx.subarray(0, 32))).toBe(false);
    expect(sealed.includes(Buffer.from(bundle.pfx.toString('base64').slice(0, 32)))).toBe(false);
    const opened = unseal(key, 'job-1', sealed);
    expect(opened.password).toBe(bundle.password);
    expect(opened.pfx.equals(bundle.pfx)).toBe(true);
    expect(opened.caChain.map((c) => c.toString('hex'))).toEqual(
      bundle.caChain.map((c) => c.toString('hex')),
    );
  });

  it('cannot be opened under another job id, another key, or after tampering', () => {
    const sealed = seal(key, 'job-1', bundle);
    expect(() => unseal(key, 'job-2', sealed)).toThrow(SealError);
    expect(() => unseal(randomBytes(32), 'job-1', sealed)).toThrow(SealError);
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => unseal(key, 'job-1', tampered)).toThrow(SealError);
    expect(() => unseal(key, 'job-1', Buffer.alloc(5))).toThrow(SealError);
  });
});
