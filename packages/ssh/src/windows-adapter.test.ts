import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { adapterFor } from './adapters.js';
import { TargetError, type TargetErrorCode } from './target-error.js';
import {
  interpretScriptResult,
  planWindowsFiles,
  redact,
  sftpPathFor,
  windowsAdapter,
} from './windows-adapter.js';

const ctx = { host: 'fe-1.acme-prd.example', port: 22, username: 'certfleet' };
const PATH = 'D:\\Certificates\\acme.pfx';
const THUMBPRINT = '0123456789ABCDEF0123456789ABCDEF01234567';

describe('sftpPathFor', () => {
  it('writes drive-letter paths in Windows OpenSSH form', () => {
    expect(sftpPathFor('D:\\Certificates')).toBe('/D:/Certificates');
    expect(sftpPathFor('C:\\certs\\sub')).toBe('/C:/certs/sub');
    expect(sftpPathFor('D:\\Certificates\\acme.pfx')).toBe('/D:/Certificates/acme.pfx');
    expect(sftpPathFor('d:\\x')).toBe('/D:/x');
    expect(sftpPathFor('D:\\')).toBe('/D:/');
    expect(sftpPathFor('D:')).toBe('/D:/');
    expect(sftpPathFor('E:\\Zertifikate Kunden\\über')).toBe('/E:/Zertifikate Kunden/über');
  });

  it('refuses shares and paths Windows would not take as they are', () => {
    expect(() => sftpPathFor('\\\\fs01\\certs')).toThrow(/drive letter/);
    expect(() => sftpPathFor('/srv/certs')).toThrow(/drive letter/);
    for (const path of [
      'D:\\a\\..\\b',
      'D:\\.\\b',
      'D:\\a<b',
      'D:\\a|b',
      'D:\\a"b',
      'D:\\a?',
      'D:\\a*',
      'D:\\a.',
      'D:\\a ',
    ]) {
      expect(() => sftpPathFor(path), path).toThrow(/not a usable Windows path/);
    }
  });
});

describe('the Windows adapter', () => {
  it('is what adapterFor gives for windows', () => {
    expect(adapterFor('windows')).toBe(windowsAdapter);
    expect(adapterFor('linux').platform).toBe('linux');
  });

  it('plans the files in both forms', () => {
    const pfx = Buffer.from('pfx');
    const ca = Buffer.from('ca');
    const files = planWindowsFiles('C:\\certs\\sub', {
      installDir: 'C:\\certs\\sub',
      name: 'acme',
      pfx,
      caCertificates: [ca],
    });
    expect(files.map(({ base, path, sftpPath, sha256 }) => ({ base, path, sftpPath, sha256 }))).toEqual([
      {
        base: 'acme.pfx',
        path: 'C:\\certs\\sub\\acme.pfx',
        sftpPath: '/C:/certs/sub/acme.pfx',
        sha256: createHash('sha256').update(pfx).digest('hex'),
      },
      {
        base: 'acme.ca1.cer',
        path: 'C:\\certs\\sub\\acme.ca1.cer',
        sftpPath: '/C:/certs/sub/acme.ca1.cer',
        sha256: createHash('sha256').update(ca).digest('hex'),
      },
    ]);
  });

  it('refuses hostile names and unusable folders before anything is sent', () => {
    expect(windowsAdapter.pathFor('D:\\Certificates', 'acme')).toBe(PATH);
    expect(windowsAdapter.pathFor('D:\\', 'acme')).toBe('D:\\acme.pfx');
    for (const name of [
      '',
      'Acme',
      '-acme',
      '.acme',
      'a b',
      'a&b',
      'a|b',
      'a^b',
      '%PATH%',
      '$(x)',
      '`x`',
      'a"b',
      "a'b",
      '..\\x',
      'a\\b',
      'a/b',
      'a:b',
      'a\nb',
      'ünï',
      'x'.repeat(65),
    ]) {
      expect(() => windowsAdapter.pathFor('D:\\Certificates', name), JSON.stringify(name)).toThrow(
        /invalid certificate name/,
      );
    }
    expect(() => windowsAdapter.pathFor('\\\\fs01\\certs', 'acme')).toThrow(/drive letter/);
    expect(() => windowsAdapter.pathFor('Certificates', 'acme')).toThrow(/absolute/);
  });
});

describe('interpretScriptResult', () => {
  const success = {
    thumbprint: THUMBPRINT,
    store: 'LocalMachine\\My',
    path: PATH,
    keyProvider: 'Microsoft Software Key Storage Provider',
    changed: ['acl:S-1-5-20'],
    kept: [],
  };

  function failWith(error: string, message: string, password?: string): TargetError {
    try {
      interpretScriptResult(
        ctx,
        { code: 2, stdout: JSON.stringify({ error, message }), stderr: '' },
        PATH,
        password,
      );
    } catch (err) {
      expect(err).toBeInstanceOf(TargetError);
      return err as TargetError;
    }
    throw new Error('expected a TargetError');
  }

  it('blames the password only for the probe, and the machine key store for the import', () => {
    expect(failWith('bad_password', 'The specified network password is not correct.').message).toMatch(
      /refused the PFX password/,
    );
    const store = failWith('key_store_failed', 'The parameter is incorrect.').message;
    expect(store).toMatch(/the password is right/);
    expect(store).toMatch(/machine key store/);
    expect(store).not.toMatch(/refused the PFX password/);
  });

  it('returns the answer of a script that succeeded', () => {
    expect(
      interpretScriptResult(
        ctx,
        { code: 0, stdout: `${JSON.stringify(success)}\r\n`, stderr: '' },
        PATH,
        'pw',
      ),
    ).toEqual(success);
  });

  it.each([
    ['hash_mismatch', 'hash_mismatch', false],
    ['permission_denied', 'permission_denied', true],
    ['disk_full', 'disk_full', true],
    ['bad_password', 'remote_command_failed', false],
    ['invalid_input', 'remote_command_failed', false],
    ['key_store_failed', 'remote_command_failed', false],
    ['unknown_reader', 'remote_command_failed', false],
    ['unsupported_host', 'remote_command_failed', false],
    ['constrained_language', 'remote_command_failed', false],
    ['failed', 'remote_command_failed', false],
    ['something new', 'remote_command_failed', false],
  ] as [string, TargetErrorCode, boolean][])('maps %s to %s', (error, code, permanent) => {
    const err = failWith(error, 'what Windows said');
    expect(err.code).toBe(code);
    expect(err.permanent).toBe(permanent);
    expect(err.message).toContain('what Windows said');
    expect(err.message).toContain('fe-1.acme-prd.example:22');
  });

  it('never repeats the password, wherever the host put it', () => {
    const password = 'S3cret-"$(pw)"';
    const err = failWith('failed', `could not open with ${password}`, password);
    expect(err.message).not.toContain(password);
    expect(err.message).toContain('[password]');
    const crashed = (): unknown =>
      interpretScriptResult(ctx, { code: 1, stdout: '', stderr: `boom ${password}` }, PATH, password);
    expect(crashed).toThrow(TargetError);
    expect(crashed).not.toThrow(password);
  });

  it('reports a script that did not answer, or answered about another path', () => {
    const silent = (): unknown =>
      interpretScriptResult(ctx, { code: 0, stdout: 'hello', stderr: '' }, PATH, undefined);
    expect(silent).toThrow(/did not answer \(exit code 0\): hello/);
    const killed = (): unknown =>
      interpretScriptResult(ctx, { code: -1, signal: 'KILL', stdout: '', stderr: '' }, PATH, undefined);
    expect(killed).toThrow(/signal KILL/);
    const elsewhere = (): unknown =>
      interpretScriptResult(
        ctx,
        { code: 0, stdout: JSON.stringify({ ...success, path: 'C:\\x.pfx' }), stderr: '' },
        PATH,
        undefined,
      );
    expect(elsewhere).toThrow(/certfleet bug/);
  });

  it('redacts the password both as it is and as the base64 of its stdin line', () => {
    const password = 'pä$$ "w"';
    const line = Buffer.from(password, 'utf8').toString('base64');
    expect(redact(`got ${password} and ${line}`, password)).toBe('got [password] and [password]');
  });

  it('redacts nothing when there is no password', () => {
    expect(redact('text', undefined)).toBe('text');
    expect(redact('text', '')).toBe('text');
    expect(redact('a pw b pw', 'pw')).toBe('a [password] b [password]');
  });
});
