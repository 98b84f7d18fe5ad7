/**
 * The drift probe (`verifyOnHost`) against real front-ends: Linux on real OpenSSH hosts
 * (packages/test-kit/src/sshd-fleet.ts) and on the in-process host that records every SFTP
 * request, Windows on the in-process host that runs the install script with the real
 * PowerShell through its Windows-only seams. Every certificate is installed with
 * `installOnHost` first; every fault is made on the host's own disk or store.
 */
import { X509Certificate, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  readFileSync,
  readdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SessionPool,
  WINDOWS_BOOTSTRAP_COMMAND,
  WINDOWS_INSTALL_SCRIPT,
  expectedCertificate,
  installOnHost,
  parseWindowsVerification,
  verifyOnHost,
  windowsStdin,
  windowsVerifyInput,
  type ExpectedCertificate,
  type HostVerification,
  type InstallRequest,
  type SshTarget,
  type VerifyOptions,
} from '@certfleet/ssh';
import {
  ensureUser,
  generateClientKeyPair,
  readKeys,
  removeCertificate,
  runWindowsPowerShell,
  startFleet,
  startInProcessHost,
  writeKeys,
  type Fleet,
  type FleetHost,
  type InProcessHost,
} from '@certfleet/test-kit';
import { makeDemoCertificates } from '../deploy/demo/demo-certs.js';

const INSTALL_DIR = '/srv/fleet-certs';
const UNPRIVILEGED = 'certfleet-test';

/** Every file under `dir` with what a write would change: bytes' length, mode, owner, mtime. */
function snapshot(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((entry) => {
      const s = statSync(join(dir, entry));
      return `${relative(dir, join(dir, entry))} ${s.size} ${s.mode.toString(8)} ${s.uid}:${s.gid} ${s.mtimeMs}`;
    })
    .sort();
}

/** The only certificate of a one-certificate probe. */
function only(v: HostVerification): HostVerification['certificates'][number] {
  expect(v.certificates).toHaveLength(1);
  return v.certificates[0]!;
}

/** A front-end's login: the pinned host key and the test client key, as the worker builds it. */
function loginTo(
  h: { address: string; port: number; hostKeyLine: string },
  username: string,
  privateKey: string | Buffer,
  overrides: Partial<SshTarget> = {},
): SshTarget {
  return { host: h.address, port: h.port, username, privateKey, hostKey: h.hostKeyLine, ...overrides };
}

/** An in-process host of `flavour` for the enclosing describe, with the client key that logs in. */
function inProcessHost(flavour: 'linux' | 'windows'): {
  client: { privateKey: string };
  host: () => InProcessHost;
} {
  const client = generateClientKeyPair();
  let started: InProcessHost | undefined;
  beforeAll(async () => {
    started = await startInProcessHost({ flavour, clientPublicKey: client.publicKey });
  });
  afterAll(async () => {
    await started?.stop();
  });
  return { client, host: () => started! };
}

describe('drift probe on real OpenSSH Linux front-ends', () => {
  let fleet: Fleet;
  let clientKey: Buffer;
  let owner: { uid: number; gid: number };
  const linux: VerifyOptions = { platform: 'linux', installDir: INSTALL_DIR };

  beforeAll(async () => {
    owner = await ensureUser(UNPRIVILEGED);
    fleet = await startFleet({ count: 2, installDir: INSTALL_DIR });
    clientKey = readFileSync(fleet.clientKeyPath);
  });

  afterAll(async () => {
    await fleet?.stop();
  });

  function host(i: number): FleetHost {
    return fleet.hosts[i]!;
  }

  function targetFor(h: FleetHost, overrides: Partial<SshTarget> = {}): SshTarget {
    return loginTo(h, 'root', clientKey, overrides);
  }

  /** Installs `name` (a .pfx and two CA files of random bytes) on `h`; returns what to expect. */
  async function install(
    h: FleetHost,
    name: string,
    extra: Partial<InstallRequest> = {},
  ): Promise<ExpectedCertificate> {
    const req: InstallRequest = {
      installDir: INSTALL_DIR,
      name,
      pfx: randomBytes(3000),
      caCertificates: [randomBytes(900), randomBytes(700)],
      ...extra,
    };
    await installOnHost(targetFor(h), 'linux', req);
    return expectedCertificate(name, req.pfx, req.caCertificates);
  }

  it('reports ok for every certificate as installed, in order, and changes nothing on the host', async () => {
    const h = host(0);
    const expected = [await install(h, 'ok-one'), await install(h, 'ok-two')];
    const before = snapshot(h.dir);

    const v = await verifyOnHost(targetFor(h), expected, linux);

    expect(v).toEqual({
      host: h.address,
      port: h.port,
      certificates: [
        {
          name: 'ok-one',
          state: 'ok',
          detail: `as installed: ${INSTALL_DIR}/ok-one.pfx and 2 CA files, mode 0640`,
        },
        {
          name: 'ok-two',
          state: 'ok',
          detail: `as installed: ${INSTALL_DIR}/ok-two.pfx and 2 CA files, mode 0640`,
        },
      ],
    });
    expect(snapshot(h.dir)).toEqual(before);
  });

  it('reports a deleted .pfx or CA file as missing, naming the file', async () => {
    const h = host(0);
    const pfxGone = await install(h, 'gone-pfx');
    const caGone = await install(h, 'gone-ca');
    unlinkSync(join(h.dir, 'gone-pfx.pfx'));
    unlinkSync(join(h.dir, 'gone-ca.ca2.cer'));

    const v = await verifyOnHost(targetFor(h), [pfxGone, caGone], linux);

    expect(v.certificates).toEqual([
      { name: 'gone-pfx', state: 'missing', detail: `file absent: ${INSTALL_DIR}/gone-pfx.pfx` },
      { name: 'gone-ca', state: 'missing', detail: `file absent: ${INSTALL_DIR}/gone-ca.ca2.cer` },
    ]);
  });

  it('reports one altered byte as different by its SHA-256, and a longer file by its length', async () => {
    const h = host(0);
    const altered = await install(h, 'altered');
    const longer = await install(h, 'longer');
    const path = join(h.dir, 'altered.pfx');
    const bytes = readFileSync(path);
    bytes[1234] = bytes[1234]! ^ 0xff;
    writeFileSync(path, bytes);
    appendFileSync(join(h.dir, 'longer.ca1.cer'), 'x');

    const v = await verifyOnHost(targetFor(h), [altered, longer], linux);

    expect(v.certificates).toEqual([
      { name: 'altered', state: 'different', detail: `sha256 differs: ${INSTALL_DIR}/altered.pfx` },
      {
        name: 'longer',
        state: 'different',
        detail: `size 901 bytes, expected 900: ${INSTALL_DIR}/longer.ca1.cer`,
      },
    ]);
  });

  it('reports another mode or owner as different, and the expected owner as ok', async () => {
    const h = host(0);
    const numeric = `${owner.uid}:${owner.gid}`;
    const chmodded = await install(h, 'chmodded');
    const owned = await install(h, 'owned', { owner: numeric });
    chmodSync(join(h.dir, 'chmodded.pfx'), 0o644);

    expect(only(await verifyOnHost(targetFor(h), [chmodded], linux))).toEqual({
      name: 'chmodded',
      state: 'different',
      detail: `mode 0644, expected 0640: ${INSTALL_DIR}/chmodded.pfx`,
    });
    const withOwner = { ...linux, owner: numeric };
    expect(only(await verifyOnHost(targetFor(h), [owned], withOwner)).state).toBe('ok');

    chownSync(join(h.dir, 'owned.ca1.cer'), 0, 0);
    expect(only(await verifyOnHost(targetFor(h), [owned], withOwner))).toEqual({
      name: 'owned',
      state: 'different',
      detail: `owner 0:0, expected ${numeric}: ${INSTALL_DIR}/owned.ca1.cer`,
    });
  });

  it('lists every finding of a certificate; missing wins over different', async () => {
    const h = host(0);
    const both = await install(h, 'both');
    chmodSync(join(h.dir, 'both.pfx'), 0o600);
    unlinkSync(join(h.dir, 'both.ca1.cer'));

    expect(only(await verifyOnHost(targetFor(h), [both], linux))).toEqual({
      name: 'both',
      state: 'missing',
      detail: `mode 0600, expected 0640: ${INSTALL_DIR}/both.pfx; file absent: ${INSTALL_DIR}/both.ca1.cer`,
    });
  });

  it('reports a stopped host, a wrong port and another host key as unreachable for every certificate, not missing', async () => {
    const h = host(1);
    const expected = [await install(h, 'down-one'), await install(h, 'down-two')];

    const wrongKey = await verifyOnHost(targetFor(h, { hostKey: host(0).hostKeyLine }), expected, linux);
    expect(wrongKey.certificates.map((c) => [c.name, c.state, c.error])).toEqual([
      ['down-one', 'unreachable', 'host_key_mismatch'],
      ['down-two', 'unreachable', 'host_key_mismatch'],
    ]);
    expect(wrongKey.certificates[0]!.detail).toMatch(/^host_key_mismatch: .*presented host key/);

    const wrongPort = await verifyOnHost(targetFor(h, { port: h.port + 1 }), expected, linux);
    expect(wrongPort.certificates.map((c) => c.error)).toEqual(['host_unreachable', 'host_unreachable']);
    expect(wrongPort.certificates[0]!.detail).toMatch(/^host_unreachable: .*ECONNREFUSED/);

    await h.stop();
    try {
      const stopped = await verifyOnHost(targetFor(h), expected, linux);
      expect(stopped.certificates.map((c) => c.state)).toEqual(['unreachable', 'unreachable']);
      expect(stopped.certificates.map((c) => c.error)).toEqual(['host_unreachable', 'host_unreachable']);
    } finally {
      await h.start();
    }
    const back = await verifyOnHost(targetFor(h), expected, linux);
    expect(back.certificates.map((c) => c.state)).toEqual(['ok', 'ok']);
  });

  it('shares a pooled connection with installs', async () => {
    const h = host(0);
    const pool = new SessionPool({ idleMs: 60_000 });
    try {
      const req: InstallRequest = {
        installDir: INSTALL_DIR,
        name: 'pooled',
        pfx: randomBytes(2000),
        caCertificates: [],
      };
      await installOnHost(targetFor(h), 'linux', req, pool);
      const v = await verifyOnHost(targetFor(h), [expectedCertificate('pooled', req.pfx, [])], {
        ...linux,
        pool,
      });
      expect(only(v)).toEqual({
        name: 'pooled',
        state: 'ok',
        detail: `as installed: ${INSTALL_DIR}/pooled.pfx, mode 0640`,
      });
      expect(pool.stats).toEqual({ connected: 1, reused: 1 });
    } finally {
      await pool.close();
    }
  });

  it('refuses an invalid name or directory before connecting', async () => {
    const nowhere = targetFor(host(0), { port: 1 });
    const cert = expectedCertificate('fine', Buffer.from('x'), []);
    await expect(verifyOnHost(nowhere, [{ ...cert, name: '../etc' }], linux)).rejects.toThrow(
      /invalid certificate name/,
    );
    await expect(verifyOnHost(nowhere, [cert], { ...linux, installDir: 'relative' })).rejects.toThrow(
      /absolute/,
    );
  });
});

describe('drift probe requests on a Linux front-end that records them', () => {
  const recording = inProcessHost('linux');

  it('only stats and reads, and never opens a file whose length already differs', async () => {
    const host = recording.host();
    const target = loginTo(host, 'root', recording.client.privateKey);
    const req: InstallRequest = {
      installDir: INSTALL_DIR,
      name: 'huge',
      pfx: randomBytes(2500),
      caCertificates: [randomBytes(500)],
    };
    await installOnHost(target, 'linux', req);
    // the .pfx grows far beyond what was installed: reading it whole would cost 8 MiB
    appendFileSync(host.localPath(`${INSTALL_DIR}/huge.pfx`), Buffer.alloc(8 * 1024 * 1024));
    const from = host.received.sftp.length;

    const v = await verifyOnHost(target, [expectedCertificate('huge', req.pfx, req.caCertificates)], {
      platform: 'linux',
      installDir: INSTALL_DIR,
    });

    expect(only(v)).toEqual({
      name: 'huge',
      state: 'different',
      detail: `size ${2500 + 8 * 1024 * 1024} bytes, expected 2500: ${INSTALL_DIR}/huge.pfx`,
    });
    const requests = host.received.sftp.slice(from);
    // limits@openssh.com: ssh2 asks for the server's read and write lengths once per channel
    expect(new Set(requests.map((r) => r.op))).toEqual(
      new Set(['limits@openssh.com', 'stat', 'open', 'read', 'close']),
    );
    expect(requests.filter((r) => r.op === 'open').map((r) => r.path)).toEqual([
      `${INSTALL_DIR}/huge.ca1.cer`,
    ]);
    expect(requests.filter((r) => r.path.endsWith('.pfx')).map((r) => r.op)).toEqual(['stat']);
    expect(host.received.execs).toEqual([]);
  });
});

describe('drift probe on an emulated Windows front-end', () => {
  const INSTALL = 'D:\\Certificates';
  const windows: VerifyOptions = { platform: 'windows', installDir: INSTALL };
  const emulated = inProcessHost('windows');
  let host: InProcessHost;

  function target(overrides: Partial<SshTarget> = {}): SshTarget {
    return loginTo(host, 'certfleet', emulated.client.privateKey, overrides);
  }

  /** Installs a fresh certificate (its own leaf and root) as `name`; returns what to expect. */
  async function install(name: string): Promise<ExpectedCertificate> {
    const demo = makeDemoCertificates(`${name}-client`);
    const root = new X509Certificate(demo.caPem).raw;
    const result = await installOnHost(target(), 'windows', {
      installDir: INSTALL,
      name,
      pfx: demo.pfx,
      caCertificates: [root],
      password: demo.password,
    });
    return expectedCertificate(name, demo.pfx, [root], result.thumbprint);
  }

  /** What a write on the emulated host would change: its D: drive, store files and key records. */
  function machineState(): unknown {
    return {
      disk: snapshot(join(host.root, 'D')),
      stores: snapshot(join(host.root, '.home', '.dotnet', 'corefx', 'cryptography', 'x509stores')),
      store: host.readStore(),
      keys: readKeys(host.root),
    };
  }

  let ok: ExpectedCertificate;
  let unstored: ExpectedCertificate;
  let unreadable: ExpectedCertificate;
  let altered: ExpectedCertificate;

  beforeAll(async () => {
    host = emulated.host();
    ok = await install('win-ok');
    unstored = await install('win-unstored');
    unreadable = await install('win-unreadable');
    altered = await install('win-altered');
  });

  it('reports ok with one PowerShell run for all certificates, over no SFTP, and changes nothing', async () => {
    const before = machineState();
    const execs = host.received.execs.length;
    const sftp = host.received.sftp.length;

    const v = await verifyOnHost(target(), [ok, altered], windows);

    expect(v.certificates).toEqual([
      {
        name: 'win-ok',
        state: 'ok',
        detail: `as installed: ${INSTALL}\\win-ok.pfx and 1 CA file, ${ok.thumbprint} in LocalMachine\\My with its key readable by 2 readers`,
      },
      expect.objectContaining({ name: 'win-altered', state: 'ok' }),
    ]);
    expect(host.received.execs.length - execs).toBe(1);
    expect(host.received.execs.at(-1)!.stdin.split('\n')[2]).toBe('');
    expect(host.received.sftp.length - sftp).toBe(0);
    expect(machineState()).toEqual(before);
  });

  it('reports a certificate removed from LocalMachine\\My as missing, naming its thumbprint', async () => {
    removeCertificate(host.root, 'My', unstored.thumbprint!);
    expect(only(await verifyOnHost(target(), [unstored], windows))).toEqual({
      name: 'win-unstored',
      state: 'missing',
      detail: `certificate ${unstored.thumbprint} not in LocalMachine\\My`,
    });
  });

  it('reports a private key that gives a reader no Read as different, naming the reader', async () => {
    const keys = readKeys(host.root);
    const records = keys[unreadable.thumbprint!]!;
    records.at(-1)!.readers = records.at(-1)!.readers.filter((sid) => sid !== 'S-1-5-32-568');
    writeKeys(host.root, keys);

    expect(only(await verifyOnHost(target(), [unreadable], windows))).toEqual({
      name: 'win-unreadable',
      state: 'different',
      detail: 'private key gives no Read to S-1-5-32-568',
    });
    const named = await verifyOnHost(target(), [unreadable], {
      ...windows,
      keyReaders: ['IIS_IUSRS', 'S-1-5-20'],
    });
    expect(only(named).detail).toBe('private key gives no Read to IIS_IUSRS (S-1-5-32-568)');
  });

  it('reports a reader the host does not know as different', async () => {
    const v = await verifyOnHost(target(), [ok], { ...windows, keyReaders: ['IIS AppPool\\missing'] });
    expect(only(v)).toEqual({
      name: 'win-ok',
      state: 'different',
      detail: 'key reader IIS AppPool\\missing is no account on this host',
    });
  });

  it('reports an altered or deleted file as different or missing', async () => {
    const pfx = host.localPath(`${INSTALL}\\win-altered.pfx`);
    const bytes = readFileSync(pfx);
    bytes[100] = bytes[100]! ^ 0x01;
    writeFileSync(pfx, bytes);
    expect(only(await verifyOnHost(target(), [altered], windows))).toEqual({
      name: 'win-altered',
      state: 'different',
      detail: `sha256 differs: ${INSTALL}\\win-altered.pfx`,
    });

    unlinkSync(host.localPath(`${INSTALL}\\win-altered.ca1.cer`));
    expect(only(await verifyOnHost(target(), [altered], windows))).toEqual({
      name: 'win-altered',
      state: 'missing',
      detail: `sha256 differs: ${INSTALL}\\win-altered.pfx; file absent: ${INSTALL}\\win-altered.ca1.cer`,
    });
  });

  it('has the verify action refuse a path outside the install directory and another protocol, changing nothing', async () => {
    const before = machineState();
    const run = async (input: unknown): Promise<unknown> => {
      const stdin = windowsStdin(WINDOWS_INSTALL_SCRIPT, input);
      const result = await runWindowsPowerShell(
        WINDOWS_BOOTSTRAP_COMMAND.split(' ').slice(1),
        stdin,
        host.root,
      );
      expect(result.code, result.stderr).toBe(2);
      return parseWindowsVerification(result.stdout);
    };
    const input = windowsVerifyInput([ok], windows);
    const outside = { ...input.certificates[0]!, pfx: { path: 'D:\\Other\\win-ok.pfx', size: ok.size } };
    expect(await run({ ...input, certificates: [outside] })).toEqual({
      error: 'invalid_input',
      message: `D:\\Other\\win-ok.pfx is not a file in ${INSTALL}`,
    });
    expect(await run({ ...input, version: 3 })).toEqual({
      error: 'invalid_input',
      message: 'protocol 3, expected 2',
    });
    expect(machineState()).toEqual(before);
  });

  it('reports an unreachable host as unreachable, and refuses a certificate without thumbprint before connecting', async () => {
    const v = await verifyOnHost(target({ port: 1 }), [ok], windows);
    expect(only(v)).toMatchObject({ name: 'win-ok', state: 'unreachable', error: 'host_unreachable' });

    const { thumbprint: _, ...noThumbprint } = ok;
    await expect(verifyOnHost(target({ port: 1 }), [noThumbprint], windows)).rejects.toThrow(/thumbprint/);
  });
});
