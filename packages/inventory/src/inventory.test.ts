import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  InventoryError,
  InventoryHolder,
  isValidInstallDir,
  parseInventory,
  retainsSecrets,
} from './index.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

const good = `
defaults:
  ssh: { username: fleet, port: 22, privateKeyPath: /etc/certfleet/id_ed25519 }
environments:
  - name: acme-prd
    platform: windows
    installDir: 'D:\\Certificates'
    frontEnds:
      - { name: fe-1, host: fe-1.acme-prd.example, hostKey: ${KEY} }
      - { name: fe-2, host: 127.0.10.2, port: 2222, hostKey: 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU' }
  - name: acme-qa
    platform: linux
    installDir: /srv/fleet-certs
    owner: www-data
    frontEnds:
      - { name: fe-1, host: 127.0.10.3, hostKey: ${KEY}, username: deploy }
`;

function errorOf(text: string): string {
  try {
    parseInventory(text, 'inv.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(InventoryError);
    return (err as Error).message;
  }
  throw new Error('expected an InventoryError');
}

describe('parseInventory', () => {
  it('reads retain and repair per environment: repair defaults to approve, retain to the fleet default', () => {
    const inv = parseInventory(
      good.replace('    owner: www-data\n', '    owner: www-data\n    retain: false\n    repair: auto\n'),
    );
    expect(inv.environments.map((e) => [e.name, e.retain, e.repair])).toEqual([
      ['acme-prd', undefined, 'approve'],
      ['acme-qa', false, 'auto'],
    ]);
    expect(retainsSecrets(inv.environments[0], true)).toBe(true);
    expect(retainsSecrets(inv.environments[1], true)).toBe(false);
    expect(
      errorOf(good.replace('    owner: www-data\n', '    owner: www-data\n    repair: always\n')),
    ).toMatch(/environments\/1\/repair|environments\[1\]\.repair/);
  });

  it('takes the readers and key provider of a windows environment, and refuses them elsewhere or malformed', () => {
    const windows = good.replace(
      "    installDir: 'D:\\Certificates'\n",
      "    installDir: 'D:\\Certificates'\n    windows:\n      keyReaders: ['IIS AppPool\\Shop', 'NT SERVICE\\Payments', 'S-1-5-20', IIS_IUSRS]\n      keyProvider: Microsoft Software Key Storage Provider\n",
    );
    expect(parseInventory(windows, 'inv.yaml').environments[0]!.windows).toEqual({
      keyReaders: ['IIS AppPool\\Shop', 'NT SERVICE\\Payments', 'S-1-5-20', 'IIS_IUSRS'],
      keyProvider: 'Microsoft Software Key Storage Provider',
    });
    expect(errorOf(windows.replace('IIS AppPool\\Shop', 'a\\b\\c'))).toMatch(/keyReaders/);
    expect(
      errorOf(
        good.replace(
          '    owner: www-data\n',
          '    owner: www-data\n    windows: { keyReaders: [IIS_IUSRS] }\n',
        ),
      ),
    ).toMatch(/environments\[1\]\.windows: only windows environments/);
  });

  it('resolves defaults for every front-end', () => {
    const inv = parseInventory(good, 'inv.yaml');
    expect(inv.environments.map((e) => e.name)).toEqual(['acme-prd', 'acme-qa']);
    expect(inv.environments[0]!.frontEnds[0]).toEqual({
      name: 'fe-1',
      host: 'fe-1.acme-prd.example',
      port: 22,
      hostKey: KEY,
      username: 'fleet',
      privateKeyPath: '/etc/certfleet/id_ed25519',
    });
    expect(inv.environments[0]!.frontEnds[1]!.port).toBe(2222);
    expect(inv.environments[1]!.frontEnds[0]!.username).toBe('deploy');
    expect(inv.environments[1]!.owner).toBe('www-data');
  });

  it('names the file and field of a front-end without a host key', () => {
    const text = good.replace(`, hostKey: ${KEY}, username: deploy`, ', username: deploy');
    expect(errorOf(text)).toBe("inv.yaml: environments[1].frontEnds[0]: missing 'hostKey'");
  });

  it('refuses a host key that is not a key line or fingerprint', () => {
    expect(errorOf(good.replace(`hostKey: ${KEY}, username`, 'hostKey: trust-me, username'))).toMatch(
      /^inv\.yaml: environments\[1\]\.frontEnds\[0\]\.hostKey: must be an OpenSSH public key line/,
    );
  });

  it('refuses duplicate environments and front-ends', () => {
    expect(errorOf(good.replace('name: acme-qa', 'name: acme-prd'))).toBe(
      "inv.yaml: environments[1].name: duplicate environment 'acme-prd'",
    );
    expect(errorOf(good.replace('name: fe-2', 'name: fe-1'))).toBe(
      "inv.yaml: environments[0].frontEnds[1].name: duplicate front-end 'fe-1'",
    );
  });

  it('refuses a relative install directory for the platform', () => {
    expect(errorOf(good.replace('/srv/fleet-certs', 'srv/fleet-certs'))).toMatch(
      /^inv\.yaml: environments\[1\]\.installDir: must be an absolute linux path/,
    );
    expect(errorOf(good.replace("'D:\\Certificates'", '/srv/x'))).toMatch(
      /^inv\.yaml: environments\[0\]\.installDir: must be an absolute windows path/,
    );
  });

  it('refuses an unknown platform and unknown fields', () => {
    expect(errorOf(good.replace('platform: linux', 'platform: solaris'))).toBe(
      'inv.yaml: environments[1].platform: must be windows or linux',
    );
    expect(errorOf(good.replace('owner: www-data', 'owner: www-data\n    colour: blue'))).toBe(
      "inv.yaml: environments[1]: unknown field 'colour'",
    );
  });

  it('takes a numeric uid:gid owner, which needs no shell on the host', () => {
    const inv = parseInventory(
      good.replace('owner: www-data', "owner: '33:33'\n    sftpOnly: true"),
      'inv.yaml',
    );
    expect(inv.environments[1]).toMatchObject({ owner: '33:33', sftpOnly: true });
    expect(errorOf(good.replace('owner: www-data', "owner: '33'"))).toMatch(
      /^inv\.yaml: environments\[1\]\.owner: /,
    );
  });

  it('refuses an owner name for SFTP-only accounts and says to use numbers', () => {
    expect(errorOf(good.replace('owner: www-data', 'owner: www-data\n    sftpOnly: true'))).toBe(
      "inv.yaml: environments[1].owner: 'www-data' is a name, and an SFTP-only account has no shell to " +
        'look it up; write the numeric uid:gid instead (on the front-end: echo $(id -u NAME):$(id -g NAME))',
    );
  });

  it('refuses YAML that does not parse', () => {
    expect(errorOf('environments: [')).toMatch(/^inv\.yaml: not valid YAML/);
  });

  it('checks install directories', () => {
    expect(isValidInstallDir('linux', '/srv/certs')).toBe(true);
    expect(isValidInstallDir('linux', '/srv/../etc')).toBe(false);
    expect(isValidInstallDir('linux', '/srv/$(id)')).toBe(false);
    expect(isValidInstallDir('windows', 'D:\\Certificates')).toBe(true);
    expect(isValidInstallDir('windows', 'D:\\Cert"s')).toBe(false);
  });
});

describe('InventoryHolder', () => {
  it('keeps the old inventory when a reload is refused', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'inv-'));
    const file = path.join(dir, 'inventory.yaml');
    await writeFile(file, good);
    const holder = await InventoryHolder.open(file);
    await writeFile(file, good.replace('platform: linux', 'platform: nope'));
    await expect(holder.reload()).rejects.toThrow(/platform: must be windows or linux/);
    expect(holder.current.environments).toHaveLength(2);
    await writeFile(file, good.replace(/ {2}- name: acme-qa[\s\S]*$/, ''));
    await holder.reload();
    expect(holder.current.environments.map((e) => e.name)).toEqual(['acme-prd']);
  });
});

describe('maintenance windows in the inventory', () => {
  const withWindows = (yaml: string): string =>
    good.replace('    owner: www-data\n', `    owner: www-data\n    maintenanceWindows:\n${yaml}`);

  it('reads weekly and cron windows per environment; an environment without is always open', () => {
    const inv = parseInventory(
      withWindows(
        '      - { days: [sat, sun], from: "02:00", to: "05:00", tz: Europe/Lisbon }\n' +
          '      - { cron: "0 22 * * 3", duration: 90m, tz: UTC }\n',
      ),
    );
    expect(inv.environments[0]?.maintenanceWindows).toBeUndefined();
    expect(inv.environments[1]?.maintenanceWindows).toEqual([
      { kind: 'weekly', days: ['sat', 'sun'], from: '02:00', to: '05:00', tz: 'Europe/Lisbon' },
      { kind: 'cron', cron: '0 22 * * 3', durationMs: 90 * 60_000, tz: 'UTC' },
    ]);
  });

  it('refuses bad day names, times and time zones with the field named', () => {
    expect(
      errorOf(withWindows('      - { days: [saturday], from: "02:00", to: "05:00", tz: UTC }\n')),
    ).toMatch(
      /environments\[1\]\.maintenanceWindows\[0\]\.days\[0\]: must be mon, tue, wed, thu, fri, sat or sun/,
    );
    expect(errorOf(withWindows('      - { days: [sat], from: "2am", to: "05:00", tz: UTC }\n'))).toMatch(
      /maintenanceWindows\[0\]\.from: must be a time of day HH:MM/,
    );
    expect(
      errorOf(withWindows('      - { days: [sat], from: "02:00", to: "05:00", tz: Mars/Olympus }\n')),
    ).toMatch(/environments\[1\]\.maintenanceWindows\[0\]\.tz: 'Mars\/Olympus' is not an IANA time zone/);
  });
});
