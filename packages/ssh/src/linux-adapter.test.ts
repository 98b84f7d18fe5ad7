import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  isLeftoverTemp,
  parseIdOutput,
  parseNumericOwner,
  staleCaFiles,
  tempNameFor,
} from './linux-adapter.js';
import { planFiles } from './planned-file.js';

describe('temporary files', () => {
  it('recognises its own temporary names and those of earlier attempts', () => {
    for (const base of ['acme.pfx', 'acme.pfx.previous', 'acme.ca1.cer', 'acme.ca12.cer']) {
      const temp = tempNameFor(base);
      expect(temp).toMatch(/^\.acme\..*\.certfleet-tmp-[0-9a-f]{16}$/);
      expect(isLeftoverTemp('acme', temp), temp).toBe(true);
    }
    expect(tempNameFor('acme.pfx')).not.toBe(tempNameFor('acme.pfx'));
  });

  it('leaves other names, other files and look-alikes alone', () => {
    for (const file of [
      'acme.pfx',
      'acme.pfx.previous',
      '.acme.pfx',
      '.acme.pfx.previous.previous.certfleet-tmp-abc',
      '.acme.pfx.certfleet-tmp-',
      '.acme.pfx.certfleet-tmp-abc/def',
      '.acme.ca0.cer.certfleet-tmp-abc',
      '.acme.key.certfleet-tmp-abc',
      '.acmex.pfx.certfleet-tmp-abc',
      '.acme.pfx.pfx.certfleet-tmp-abc', // belongs to name "acme.pfx"
      '.other.pfx.certfleet-tmp-abc',
      'xacme.pfx.certfleet-tmp-abc',
    ]) {
      expect(isLeftoverTemp('acme', file), file).toBe(false);
    }
    // a dot in the name is literal
    expect(isLeftoverTemp('a.b', '.aXb.pfx.certfleet-tmp-1')).toBe(false);
    expect(isLeftoverTemp('a.b', '.a.b.pfx.certfleet-tmp-1')).toBe(true);
  });
});

describe('staleCaFiles', () => {
  const files = [
    'acme.pfx',
    'acme.ca1.cer',
    'acme.ca2.cer',
    'acme.ca3.cer',
    'acme.ca10.cer',
    'acme.ca01.cer',
  ];

  it('lists CA files beyond the new chain length', () => {
    expect(staleCaFiles('acme', files, 2)).toEqual(['acme.ca3.cer', 'acme.ca10.cer']);
    expect(staleCaFiles('acme', files, 0)).toEqual([
      'acme.ca1.cer',
      'acme.ca2.cer',
      'acme.ca3.cer',
      'acme.ca10.cer',
    ]);
    expect(staleCaFiles('acme', files, 10)).toEqual([]);
  });

  it('never touches files certfleet did not write for that name', () => {
    expect(staleCaFiles('acm', files, 0)).toEqual([]);
    expect(
      staleCaFiles('acme', ['acme.ca3.cer.bak', 'acme.ca3.pem', 'acmeXca3.cer', 'other.ca3.cer'], 0),
    ).toEqual([]);
  });
});

describe('owner', () => {
  it('takes uid:gid as numbers, which need no lookup on the host', () => {
    expect(parseNumericOwner('1001:1001')).toEqual({ uid: 1001, gid: 1001 });
    expect(parseNumericOwner('0:33')).toEqual({ uid: 0, gid: 33 });
  });

  it('treats anything else as a name to look up', () => {
    for (const owner of ['www-data', '1001', '1001:', ':1001', '10 01:1', 'a:b', '1:2:3']) {
      expect(parseNumericOwner(owner), owner).toBeUndefined();
    }
  });

  it('reads the two lines of id -u and id -g, and nothing else', () => {
    expect(parseIdOutput('33\n33\n')).toEqual({ uid: 33, gid: 33 });
    expect(parseIdOutput('1001\n100')).toEqual({ uid: 1001, gid: 100 });
    // an SFTP-only account answers a command with nothing (or SFTP bytes)
    for (const out of ['', '33\n', 'welcome!\n33\n33\n', '\u0000\u0000\u0000\u0005\u0002']) {
      expect(parseIdOutput(out), JSON.stringify(out)).toBeUndefined();
    }
  });
});

describe('planFiles', () => {
  it('plans the .pfx then the CA files in chain order with their digests', () => {
    const pfx = Buffer.from('pfx');
    const ca = [Buffer.from('issuer'), Buffer.from('root')];
    const plan = planFiles('linux', '/srv/fleet-certs', {
      installDir: '/srv/fleet-certs',
      name: 'acme',
      pfx,
      caCertificates: ca,
    });
    expect(plan.map((f) => [f.base, f.path])).toEqual([
      ['acme.pfx', '/srv/fleet-certs/acme.pfx'],
      ['acme.ca1.cer', '/srv/fleet-certs/acme.ca1.cer'],
      ['acme.ca2.cer', '/srv/fleet-certs/acme.ca2.cer'],
    ]);
    expect(plan[2]!.sha256).toBe(createHash('sha256').update('root').digest('hex'));
  });
});
