import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isLeftoverTemp, parseSha256sum, planFiles, staleCaFiles, tempNameFor } from './linux-adapter.js';

const HEX_A = 'a'.repeat(64);
const HEX_B = '0123456789abcdef'.repeat(4);

describe('temporary files', () => {
  it('recognises its own temporary names and those of earlier attempts', () => {
    for (const base of ['acme.pfx', 'acme.ca1.cer', 'acme.ca12.cer']) {
      const temp = tempNameFor(base);
      expect(temp).toMatch(/^\.acme\..*\.certfleet-tmp-[0-9a-f]{16}$/);
      expect(isLeftoverTemp('acme', temp), temp).toBe(true);
    }
    expect(tempNameFor('acme.pfx')).not.toBe(tempNameFor('acme.pfx'));
  });

  it('leaves other names, other files and look-alikes alone', () => {
    for (const file of [
      'acme.pfx',
      '.acme.pfx',
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

describe('parseSha256sum', () => {
  it('reads one digest per line, in order', () => {
    expect(parseSha256sum(`${HEX_A}  /srv/a.pfx\n${HEX_B}  /srv/a.ca1.cer\n`, 2)).toEqual([HEX_A, HEX_B]);
    expect(parseSha256sum(`${HEX_A.toUpperCase()} */srv/a.pfx\n`, 1)).toEqual([HEX_A]);
  });

  it('reads lines whose file name sha256sum escaped', () => {
    expect(parseSha256sum(`\\${HEX_A}  /srv/odd\\ndir/a.pfx\n`, 1)).toEqual([HEX_A]);
  });

  it('refuses output with the wrong number of lines or shape', () => {
    expect(parseSha256sum(`${HEX_A}  /srv/a.pfx\n`, 2)).toBeUndefined();
    expect(parseSha256sum(`welcome!\n${HEX_A}  /srv/a.pfx\n`, 1)).toBeUndefined();
    expect(parseSha256sum(`${HEX_A.slice(1)}  /srv/a.pfx\n`, 1)).toBeUndefined();
    expect(parseSha256sum('', 1)).toBeUndefined();
  });
});

describe('planFiles', () => {
  it('plans the .pfx then the CA files in chain order with their digests', () => {
    const pfx = Buffer.from('pfx');
    const ca = [Buffer.from('issuer'), Buffer.from('root')];
    const plan = planFiles('/srv/fleet-certs', {
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
