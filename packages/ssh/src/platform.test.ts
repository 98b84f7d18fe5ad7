import { describe, expect, it } from 'vitest';
import { assertCertName, caPath, installPath } from './platform.js';

describe('installPath', () => {
  it('joins a Linux directory and the name', () => {
    expect(installPath('linux', '/srv/fleet-certs', 'acme-client')).toBe('/srv/fleet-certs/acme-client.pfx');
    expect(installPath('linux', '/srv/fleet-certs/', 'a.b_c-d')).toBe('/srv/fleet-certs/a.b_c-d.pfx');
    expect(installPath('linux', '/srv//certs///', 'x')).toBe('/srv/certs/x.pfx');
    expect(installPath('linux', '/', 'x')).toBe('/x.pfx');
  });

  it('joins a Windows directory with backslashes', () => {
    expect(installPath('windows', 'D:\\Certificates', 'x')).toBe('D:\\Certificates\\x.pfx');
    expect(installPath('windows', 'D:\\Certificates\\', 'x')).toBe('D:\\Certificates\\x.pfx');
    expect(installPath('windows', 'D:/Certificates/Client', 'x')).toBe('D:\\Certificates\\Client\\x.pfx');
    expect(installPath('windows', 'D:\\', 'x')).toBe('D:\\x.pfx');
    expect(installPath('windows', 'c:/', 'x')).toBe('c:\\x.pfx');
    expect(installPath('windows', '\\\\fs01\\certs', 'x')).toBe('\\\\fs01\\certs\\x.pfx');
  });

  it('refuses relative directories', () => {
    for (const dir of ['srv/certs', '', './x', 'C:relative']) {
      expect(() => installPath('linux', dir, 'x'), dir).toThrow(/absolute/);
      expect(() => installPath('windows', dir, 'x'), dir).toThrow(/absolute/);
    }
    expect(() => installPath('windows', '/srv/certs', 'x')).toThrow(/absolute Windows/);
    expect(() => installPath('linux', 'D:\\Certificates', 'x')).toThrow(/absolute Linux/);
    expect(() => installPath('linux', '/srv/\0', 'x')).toThrow(/absolute/);
  });

  it('refuses names outside [a-z0-9][a-z0-9._-]{0,63}', () => {
    for (const name of [
      '',
      '.hidden',
      '-x',
      'Upper',
      'a/b',
      '..',
      'a b',
      "a'b",
      'a\nb',
      'a'.repeat(65),
      'é',
    ]) {
      expect(() => installPath('linux', '/srv', name), name).toThrow(/invalid certificate name/);
      expect(() => assertCertName(name), name).toThrow();
    }
    expect(installPath('linux', '/srv', 'a'.repeat(64))).toBe(`/srv/${'a'.repeat(64)}.pfx`);
  });
});

describe('caPath', () => {
  it('numbers CA files from 1', () => {
    expect(caPath('linux', '/srv/fleet-certs', 'acme', 1)).toBe('/srv/fleet-certs/acme.ca1.cer');
    expect(caPath('windows', 'D:\\Certificates', 'acme', 2)).toBe('D:\\Certificates\\acme.ca2.cer');
    expect(() => caPath('linux', '/srv', 'acme', 0)).toThrow();
  });
});
