import { describe, expect, it } from 'vitest';
import type { ExpectedCertificate } from './drift.js';
import { judgeWindowsCertificate, windowsVerifyInput } from './windows-verify.js';
import { parseWindowsVerification, type WindowsCertificateFacts } from './windows-script.js';

const THUMB = '3F'.repeat(20);
const SHA_PFX = 'aa'.repeat(32);
const SHA_CA = 'bb'.repeat(32);
const PFX = 'D:\\Certificates\\acme.pfx';
const CA = 'D:\\Certificates\\acme.ca1.cer';

const cert: ExpectedCertificate = {
  name: 'acme',
  sha256: SHA_PFX,
  size: 2000,
  caFiles: [{ sha256: SHA_CA, size: 800 }],
  thumbprint: THUMB.toLowerCase(),
};

const READERS = [
  { identity: 'S-1-5-32-568', sid: 'S-1-5-32-568' },
  { identity: 'NT AUTHORITY\\NETWORK SERVICE', sid: 'S-1-5-20' },
];

function facts(overrides: Partial<WindowsCertificateFacts> = {}): WindowsCertificateFacts {
  return {
    name: 'acme',
    files: [
      { path: PFX, size: 2000, sha256: SHA_PFX },
      { path: CA, size: 800, sha256: SHA_CA },
    ],
    inStore: true,
    hasKey: true,
    readerSids: ['S-1-5-32-568', 'S-1-5-20', 'S-1-5-18'],
    ...overrides,
  };
}

describe('parseWindowsVerification', () => {
  const answer = {
    certificates: [facts()],
    readers: READERS,
  };

  it('reads the last JSON line, after anything PowerShell printed before it', () => {
    const stdout = `WARNING: something\r\n{"not":"this"}\r\n${JSON.stringify(answer)}\r\n`;
    expect(parseWindowsVerification(stdout)).toEqual(answer);
  });

  it('accepts what ConvertTo-Json writes for one element and for none', () => {
    const one = {
      certificates: { ...facts(), files: { path: PFX, size: null, sha256: null }, readerSids: 'S-1-5-20' },
      readers: READERS[0],
    };
    expect(parseWindowsVerification(JSON.stringify(one))).toEqual({
      certificates: [
        { ...facts(), files: [{ path: PFX, size: null, sha256: null }], readerSids: ['S-1-5-20'] },
      ],
      readers: [READERS[0]],
    });
    expect(parseWindowsVerification('{"certificates":[],"readers":[]}')).toEqual({
      certificates: [],
      readers: [],
    });
    expect(parseWindowsVerification('{"certificates":null,"readers":null}')).toEqual({
      certificates: [],
      readers: [],
    });
  });

  it('reads a failure', () => {
    expect(parseWindowsVerification('{"error":"invalid_input","message":"protocol 1, expected 2"}')).toEqual({
      error: 'invalid_input',
      message: 'protocol 1, expected 2',
    });
  });

  it('refuses anything else', () => {
    const bad = [
      '',
      'The system cannot find the path specified.',
      '{"certificates":[{"name":"acme"}],"readers":[]}',
      JSON.stringify({ ...answer, certificates: [facts({ inStore: 'yes' as unknown as boolean })] }),
      JSON.stringify({
        ...answer,
        certificates: [facts({ files: [{ path: PFX, size: 1, sha256: 'not hex' }] })],
      }),
      JSON.stringify({
        ...answer,
        certificates: [facts({ files: [{ path: PFX, size: '1' as unknown as number, sha256: null }] })],
      }),
      JSON.stringify({ ...answer, readers: [{ identity: 'x' }] }),
    ];
    for (const stdout of bad) expect(parseWindowsVerification(stdout), stdout).toBeUndefined();
  });
});

describe('windowsVerifyInput', () => {
  it('sends paths inside the install directory, the lengths that cap what is read, and no digest', () => {
    expect(windowsVerifyInput([cert], { installDir: 'D:/Certificates/' })).toEqual({
      version: 2,
      action: 'verify',
      dir: 'D:\\Certificates',
      readers: ['S-1-5-32-568', 'S-1-5-20'],
      certificates: [
        {
          name: 'acme',
          thumbprint: THUMB,
          pfx: { path: PFX, size: 2000 },
          caFiles: [{ path: CA, size: 800 }],
        },
      ],
    });
    expect(windowsVerifyInput([], { installDir: 'D:\\', keyReaders: ['IIS AppPool\\shop'] }).readers).toEqual(
      ['IIS AppPool\\shop'],
    );
  });

  it('refuses a certificate without a thumbprint and a directory SFTP cannot reach', () => {
    const { thumbprint: _, ...without } = cert;
    expect(() => windowsVerifyInput([without], { installDir: 'D:\\Certificates' })).toThrow(/thumbprint/);
    expect(() => windowsVerifyInput([{ ...cert, thumbprint: 'xyz' }], { installDir: 'D:\\C' })).toThrow(
      /thumbprint/,
    );
    expect(() => windowsVerifyInput([cert], { installDir: '\\\\server\\share\\certs' })).toThrow(
      /drive letter/,
    );
  });
});

describe('judgeWindowsCertificate', () => {
  const paths = [PFX, CA];

  it('is ok when files, store entry, key and every reader are in place', () => {
    expect(judgeWindowsCertificate(cert, paths, facts(), READERS)).toEqual({
      name: 'acme',
      state: 'ok',
      detail: `as installed: ${PFX} and 1 CA file, ${THUMB} in LocalMachine\\My with its key readable by 2 readers`,
    });
  });

  it('matches paths, thumbprints and SIDs without regard to case, as Windows does', () => {
    const lower = facts({
      files: facts().files.map((f) => ({ ...f, path: f.path.toLowerCase() })),
      readerSids: ['s-1-5-32-568', 's-1-5-20'],
    });
    expect(judgeWindowsCertificate(cert, paths, lower, READERS).state).toBe('ok');
  });

  it('says missing for an absent file or a certificate not in LocalMachine\\My', () => {
    const noFile = facts({ files: [{ path: PFX, size: null, sha256: null }, facts().files[1]!] });
    expect(judgeWindowsCertificate(cert, paths, noFile, READERS)).toMatchObject({
      state: 'missing',
      detail: `file absent: ${PFX}`,
    });
    expect(judgeWindowsCertificate(cert, paths, facts({ inStore: false, hasKey: false }), READERS)).toEqual({
      name: 'acme',
      state: 'missing',
      detail: `certificate ${THUMB} not in LocalMachine\\My`,
    });
  });

  it('says different for other bytes, a length not read, no reachable key, or a reader without Read', () => {
    const altered = facts({ files: [{ path: PFX, size: 2000, sha256: 'cc'.repeat(32) }, facts().files[1]!] });
    expect(judgeWindowsCertificate(cert, paths, altered, READERS).detail).toBe(`sha256 differs: ${PFX}`);
    const longer = facts({ files: [facts().files[0]!, { path: CA, size: 5_000_000, sha256: null }] });
    expect(judgeWindowsCertificate(cert, paths, longer, READERS).detail).toBe(
      `size 5000000 bytes, expected 800: ${CA}`,
    );
    expect(
      judgeWindowsCertificate(cert, paths, facts({ hasKey: false, readerSids: [] }), READERS),
    ).toMatchObject({
      state: 'different',
      detail: `certificate ${THUMB} in LocalMachine\\My has no private key reachable`,
    });
    expect(
      judgeWindowsCertificate(cert, paths, facts({ readerSids: ['S-1-5-32-568'] }), READERS),
    ).toMatchObject({
      state: 'different',
      detail: 'private key gives no Read to NT AUTHORITY\\NETWORK SERVICE (S-1-5-20)',
    });
    const unknown = [...READERS, { identity: 'IIS AppPool\\gone', sid: null }];
    expect(judgeWindowsCertificate(cert, paths, facts(), unknown).detail).toBe(
      'key reader IIS AppPool\\gone is no account on this host',
    );
  });

  it('treats a file the script did not report as absent', () => {
    expect(
      judgeWindowsCertificate(cert, paths, facts({ files: [facts().files[0]!] }), READERS),
    ).toMatchObject({
      state: 'missing',
      detail: `file absent: ${CA}`,
    });
  });
});
