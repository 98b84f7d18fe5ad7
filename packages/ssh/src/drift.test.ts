import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectedCertificate, judgeFile, okDetail, unreachableVerification, verdict } from './drift.js';
import { TargetError } from './target-error.js';

const hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('expectedCertificate', () => {
  it('holds the SHA-256 and length of the .pfx and of each CA file, in chain order', () => {
    const pfx = Buffer.from('pfx bytes');
    const cas = [Buffer.from('issuer'), Buffer.from('root!')];
    expect(expectedCertificate('acme', pfx, cas, 'AB'.repeat(20))).toEqual({
      name: 'acme',
      sha256: hex(pfx),
      size: 9,
      caFiles: [
        { sha256: hex(cas[0]!), size: 6 },
        { sha256: hex(cas[1]!), size: 5 },
      ],
      thumbprint: 'AB'.repeat(20),
    });
    expect(expectedCertificate('acme', pfx, [])).not.toHaveProperty('thumbprint');
  });
});

describe('judgeFile', () => {
  const expected = { sha256: 'ab'.repeat(32), size: 10 };

  it('finds nothing for the same length and digest (the expected digest in any case)', () => {
    expect(
      judgeFile('/p', { ...expected, sha256: 'AB'.repeat(32) }, { size: 10, sha256: 'ab'.repeat(32) }),
    ).toEqual([]);
  });

  it('says missing for an absent file, different for another length or digest', () => {
    expect(judgeFile('/p', expected, undefined)).toEqual([{ state: 'missing', detail: 'file absent: /p' }]);
    expect(judgeFile('/p', expected, { size: 11 })).toEqual([
      { state: 'different', detail: 'size 11 bytes, expected 10: /p' },
    ]);
    expect(judgeFile('/p', expected, { size: 10, sha256: 'cd'.repeat(32) })).toEqual([
      { state: 'different', detail: 'sha256 differs: /p' },
    ]);
  });

  it('never calls a file of the right length ok when it was not read', () => {
    expect(judgeFile('/p', expected, { size: 10 })).toEqual([
      { state: 'different', detail: 'sha256 differs: /p' },
    ]);
  });
});

describe('verdict', () => {
  it('is ok with the ok detail when nothing was found', () => {
    expect(verdict('a', [], okDetail('/p', 2))).toEqual({
      name: 'a',
      state: 'ok',
      detail: 'as installed: /p and 2 CA files',
    });
    expect(okDetail('/p', 1, ', x')).toBe('as installed: /p and 1 CA file, x');
    expect(okDetail('/p', 0)).toBe('as installed: /p');
  });

  it('is missing when anything is absent, else different, and lists every finding on one line', () => {
    const different = { state: 'different' as const, detail: 'mode 0644, expected 0640: /p' };
    const missing = { state: 'missing' as const, detail: 'file absent: /q' };
    expect(verdict('a', [different], '')).toEqual({
      name: 'a',
      state: 'different',
      detail: different.detail,
    });
    expect(verdict('a', [different, missing], '')).toEqual({
      name: 'a',
      state: 'missing',
      detail: `${different.detail}; ${missing.detail}`,
    });
  });
});

describe('unreachableVerification', () => {
  it('carries the TargetError code in the field and at the start of the detail', () => {
    const err = new TargetError('auth_failed', "10.0.0.1:22: the server refused certfleet's key");
    expect(unreachableVerification('a', err)).toEqual({
      name: 'a',
      state: 'unreachable',
      detail: "auth_failed: 10.0.0.1:22: the server refused certfleet's key",
      error: 'auth_failed',
    });
  });

  it('rethrows anything that is not a TargetError (a bug, not a host problem)', () => {
    expect(() => unreachableVerification('a', new TypeError('bug'))).toThrow('bug');
  });
});
