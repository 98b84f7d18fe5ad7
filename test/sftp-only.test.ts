/**
 * Linux installs need SFTP and nothing else: real OpenSSH front-ends whose accounts have
 * no shell (`ForceCommand internal-sftp`, with and without `ChrootDirectory`) or a login
 * shell that takes 5 s to start. What sshd itself logged (LogLevel VERBOSE) shows which
 * sessions the install opened.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SshSession,
  TargetError,
  installOnHost,
  type InstallRequest,
  type SshTarget,
  type TargetErrorCode,
} from '@certfleet/ssh';
import { ensureUser, startFleet, type Fleet, type FleetHost } from '@certfleet/test-kit';

const execFileAsync = promisify(execFile);
const INSTALL_DIR = '/srv/fleet-certs';
/** `ForceCommand internal-sftp`, login shell nologin: no shell at all. */
const SFTP_USER = 'certfleet-sftp';
/** The same, jailed in `ChrootDirectory` (the host's disk, root-owned as sshd demands). */
const CHROOT_USER = 'certfleet-chroot';
/** bash whose ~/.bashrc (in its own home) sleeps 5 s before any command runs. */
const SLOW_USER = 'certfleet-slow';
const SLOW_HOME = `/home/${SLOW_USER}`;
const SHELL_DELAY_S = 5;
/** Each step's deadline in the slow-shell test: well under the shell's delay. */
const SHORT_STEP_MS = 2_000;
/** Unprivileged user that owns files installed by root over SFTP alone. */
const OWNER_USER = 'certfleet-test';

let fleet: Fleet;
let clientKey: Buffer;
const ids: Record<string, { uid: number; gid: number }> = {};

/** Host roles: which account logs in where, and what its install directory is. */
const ROLE = { sftp: 0, slow: 1, chroot: 2, rootSftp: 3, faults: 4 } as const;

beforeAll(async () => {
  ids[SFTP_USER] = await ensureUser(SFTP_USER, { shell: '/usr/sbin/nologin' });
  ids[CHROOT_USER] = await ensureUser(CHROOT_USER, { shell: '/usr/sbin/nologin' });
  ids[SLOW_USER] = await ensureUser(SLOW_USER, { shell: '/bin/bash', home: SLOW_HOME });
  ids[OWNER_USER] = await ensureUser(OWNER_USER);
  // the slow user's own rc file, never root's
  mkdirSync(SLOW_HOME, { recursive: true, mode: 0o755 });
  writeFileSync(join(SLOW_HOME, '.bashrc'), `sleep ${SHELL_DELAY_S}\n`);
  chownSync(SLOW_HOME, ids[SLOW_USER].uid, ids[SLOW_USER].gid);
  fleet = await startFleet({
    count: 5,
    installDir: INSTALL_DIR,
    extraConfig: ({ name }) => [
      `Match User ${SFTP_USER}`,
      '  ForceCommand internal-sftp',
      `Match User ${CHROOT_USER}`,
      '  ForceCommand internal-sftp',
      `  ChrootDirectory ${INSTALL_DIR}`,
      // root too can be an SFTP-only account, on this one host
      ...(name === `fe${ROLE.rootSftp + 1}` ? ['Match User root', '  ForceCommand internal-sftp'] : []),
    ],
  });
  clientKey = readFileSync(fleet.clientKeyPath);
  const own = (dir: string, user: string): void => chownSync(dir, ids[user]!.uid, ids[user]!.gid);
  own(host(ROLE.sftp).dir, SFTP_USER);
  own(host(ROLE.slow).dir, SLOW_USER);
  // inside the jail: the chroot itself stays root's (sshd refuses it otherwise), certs/ is the user's
  mkdirSync(join(host(ROLE.chroot).dir, 'certs'), { mode: 0o755 });
  own(join(host(ROLE.chroot).dir, 'certs'), CHROOT_USER);
});

afterAll(async () => {
  await fleet?.stop();
});

function host(i: number): FleetHost {
  return fleet.hosts[i]!;
}

function targetFor(h: FleetHost, username: string, overrides: Partial<SshTarget> = {}): SshTarget {
  return {
    host: h.address,
    port: h.port,
    username,
    privateKey: clientKey,
    hostKey: h.hostKeyLine,
    ...overrides,
  };
}

function request(name: string, overrides: Partial<InstallRequest> = {}): InstallRequest {
  return {
    installDir: INSTALL_DIR,
    name,
    pfx: randomBytes(3000),
    caCertificates: [randomBytes(900), randomBytes(700)],
    ...overrides,
  };
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function expectTargetError(promise: Promise<unknown>, code: TargetErrorCode): Promise<TargetError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TargetError);
  expect((err as TargetError).code, (err as TargetError).message).toBe(code);
  return err as TargetError;
}

/** Every file of `req` is in `dir` with the submitted bytes and mode 0640. */
function expectInstalled(dir: string, req: InstallRequest): void {
  const files = [`${req.name}.pfx`, ...req.caCertificates.map((_, i) => `${req.name}.ca${i + 1}.cer`)];
  [req.pfx, ...req.caCertificates].forEach((data, i) => {
    const path = join(dir, files[i]!);
    expect(readFileSync(path).equals(data), files[i]).toBe(true);
    expect(statSync(path).mode & 0o7777, files[i]).toBe(0o640);
  });
}

/**
 * The sessions sshd started for `user` since `from` (a log offset), as sshd names them:
 * `subsystem 'sftp'`, `command`, `forced-command (config) 'internal-sftp'`, `shell`.
 */
async function sessionsSince(h: FleetHost, from: number, user: string): Promise<string[]> {
  // sshd writes the log line as the session starts; give it a moment to land
  await new Promise((r) => setTimeout(r, 100));
  const log = readFileSync(h.logFile, 'utf8').slice(from);
  return [...log.matchAll(/Starting session: (.+?) for (\S+) from/g)]
    .filter((m) => m[2] === user)
    .map((m) => m[1]!);
}

const logOffset = (h: FleetHost): number => readFileSync(h.logFile, 'utf8').length;

const listing = (dir: string): string[] => readdirSync(dir).sort();

describe('an account with ForceCommand internal-sftp and no shell', () => {
  const h = (): FleetHost => host(ROLE.sftp);
  const name = 'acme-sftp';
  const first = request(name, { caCertificates: [randomBytes(900), randomBytes(700), randomBytes(600)] });

  it('has no shell: a command gets no answer of its own', async () => {
    const session = await SshSession.connect(targetFor(h(), SFTP_USER));
    try {
      const result = await session.exec('echo hello');
      expect(result.stdout).not.toContain('hello');
    } finally {
      await session.close();
    }
  });

  it('installs every file, with its mode, over SFTP alone', async () => {
    const from = logOffset(h());
    const result = await installOnHost(targetFor(h(), SFTP_USER), 'linux', first);
    expect(result).toEqual({
      path: `${INSTALL_DIR}/${name}.pfx`,
      sha256: sha256(first.pfx),
      unchanged: false,
      caPaths: [1, 2, 3].map((n) => `${INSTALL_DIR}/${name}.ca${n}.cer`),
    });
    expectInstalled(h().dir, first);
    for (const f of readdirSync(h().dir)) expect(statSync(join(h().dir, f)).uid, f).toBe(ids[SFTP_USER]!.uid);
    expect(await sessionsSince(h(), from, SFTP_USER)).toEqual(["forced-command (config) 'internal-sftp'"]);
  });

  it('reports unchanged when the same bytes are in place, and writes nothing', async () => {
    const before = listing(h().dir).map((f) => statSync(join(h().dir, f)));
    const result = await installOnHost(targetFor(h(), SFTP_USER), 'linux', first);
    expect(result.unchanged).toBe(true);
    const after = listing(h().dir).map((f) => statSync(join(h().dir, f)));
    expect(after.map((s) => [s.ino, s.mtimeMs])).toEqual(before.map((s) => [s.ino, s.mtimeMs]));
  });

  it('is not fooled by a file of the right size and mode whose bytes differ', async () => {
    const path = join(h().dir, `${name}.ca2.cer`);
    writeFileSync(path, randomBytes(700));
    const result = await installOnHost(targetFor(h(), SFTP_USER), 'linux', first);
    expect(result.unchanged).toBe(false);
    expectInstalled(h().dir, first);
  });

  it('rotates to a new certificate with a shorter chain and removes the stale CA file', async () => {
    const second = request(name, { caCertificates: [randomBytes(800)] });
    const result = await installOnHost(targetFor(h(), SFTP_USER), 'linux', second);
    expect(result.unchanged).toBe(false);
    expectInstalled(h().dir, second);
    // the replaced .pfx stays as .previous, for a rollback (README: Previous version and rollback)
    expect(listing(h().dir)).toEqual([`${name}.ca1.cer`, `${name}.pfx`, `${name}.pfx.previous`]);
    expect(readFileSync(join(h().dir, `${name}.pfx.previous`))).toEqual(first.pfx);
  });

  it('cleans temporary files a crashed attempt left', async () => {
    const leftover = `.${name}.pfx.certfleet-tmp-0123456789abcdef`;
    writeFileSync(join(h().dir, leftover), 'partial');
    chownSync(join(h().dir, leftover), ids[SFTP_USER]!.uid, ids[SFTP_USER]!.gid);
    await installOnHost(targetFor(h(), SFTP_USER), 'linux', request(name));
    expect(listing(h().dir)).toEqual([
      `${name}.ca1.cer`,
      `${name}.ca2.cer`,
      `${name}.pfx`,
      `${name}.pfx.previous`,
    ]);
  });

  it('fails permission_denied at once in a directory it may not write, leaving nothing', async () => {
    const f = host(ROLE.faults);
    expect(statSync(f.dir).uid).toBe(0);
    const err = await expectTargetError(
      installOnHost(targetFor(f, SFTP_USER), 'linux', request('denied')),
      'permission_denied',
    );
    expect(err.permanent).toBe(true);
    expect(err.message).toContain(SFTP_USER);
    expect(listing(f.dir)).toEqual([]);
  });

  it('fails disk_full at once on a full disk and removes its temporary file', async () => {
    const f = host(ROLE.faults);
    const { uid, gid } = ids[SFTP_USER]!;
    await f.stop();
    await execFileAsync('mount', [
      '-t',
      'tmpfs',
      '-o',
      `size=64k,mode=0755,uid=${uid},gid=${gid}`,
      'tmpfs',
      f.dir,
    ]);
    try {
      await execFileAsync('dd', ['if=/dev/zero', `of=${join(f.dir, 'fill')}`, 'bs=4k']).catch(
        () => undefined,
      );
      await f.start();
      const err = await expectTargetError(
        installOnHost(targetFor(f, SFTP_USER), 'linux', request('full', { pfx: randomBytes(32 * 1024) })),
        'disk_full',
      );
      expect(err.permanent).toBe(true);
      expect(listing(f.dir)).toEqual(['fill']);
    } finally {
      await f.stop();
      await execFileAsync('umount', [f.dir]);
      await f.start();
    }
  });
});

describe('root as an SFTP-only account', () => {
  const h = (): FleetHost => host(ROLE.rootSftp);

  it('hands files and a directory it creates to a numeric uid:gid owner with SFTP setstat', async () => {
    const { uid, gid } = ids[OWNER_USER]!;
    const from = logOffset(h());
    const owned = request('owned', { installDir: `${INSTALL_DIR}/tenant`, owner: `${uid}:${gid}` });
    await installOnHost(targetFor(h(), 'root'), 'linux', owned);
    const dir = join(h().dir, 'tenant');
    expect(statSync(dir).mode & 0o7777).toBe(0o750);
    expect([statSync(dir).uid, statSync(dir).gid]).toEqual([uid, gid]);
    expectInstalled(dir, owned);
    for (const f of readdirSync(dir))
      expect([statSync(join(dir, f)).uid, statSync(join(dir, f)).gid]).toEqual([uid, gid]);
    expect(await sessionsSince(h(), from, 'root')).toEqual(["forced-command (config) 'internal-sftp'"]);
    // the owner is part of "already in place"
    expect((await installOnHost(targetFor(h(), 'root'), 'linux', owned)).unchanged).toBe(true);
  });

  it('refuses an owner given by name with a message that says to use numbers, leaving nothing', async () => {
    const before = listing(h().dir);
    const err = await expectTargetError(
      installOnHost(targetFor(h(), 'root'), 'linux', request('by-name', { owner: OWNER_USER })),
      'remote_command_failed',
    );
    expect(err.message).toContain('numeric uid:gid');
    expect(listing(h().dir)).toEqual(before);
  });
});

describe('a chrooted SFTP account', () => {
  it('installs into an installDir inside the chroot, creating a missing directory there', async () => {
    const h = host(ROLE.chroot);
    const jailed = request('acme-jailed', { installDir: '/certs/tenant' });
    const from = logOffset(h);
    const result = await installOnHost(targetFor(h, CHROOT_USER), 'linux', jailed);
    // paths are as the account sees them, inside its chroot
    expect(result.path).toBe('/certs/tenant/acme-jailed.pfx');
    const dir = join(h.dir, 'certs', 'tenant');
    expectInstalled(dir, jailed);
    expect(statSync(dir).mode & 0o7777).toBe(0o750);
    expect(await sessionsSince(h, from, CHROOT_USER)).toEqual(["forced-command (config) 'internal-sftp'"]);
    expect((await installOnHost(targetFor(h, CHROOT_USER), 'linux', jailed)).unchanged).toBe(true);
  });
});

describe('a front-end whose login shell takes 5 s to start', () => {
  const h = (): FleetHost => host(ROLE.slow);

  it('really is slow: a command does not even start within the short step deadline', async () => {
    const session = await SshSession.connect(targetFor(h(), SLOW_USER));
    try {
      await expectTargetError(session.exec('true', { timeoutMs: SHORT_STEP_MS }), 'host_timeout');
    } finally {
      await session.close();
    }
  });

  it('installs and re-installs within that deadline, opening no shell, only the SFTP subsystem', async () => {
    const target = targetFor(h(), SLOW_USER, { commandTimeoutMs: SHORT_STEP_MS });
    const req = request('acme-slow');
    const from = logOffset(h());
    expect((await installOnHost(target, 'linux', req)).unchanged).toBe(false);
    expect((await installOnHost(target, 'linux', req)).unchanged).toBe(true);
    expectInstalled(h().dir, req);
    expect(await sessionsSince(h(), from, SLOW_USER)).toEqual(["subsystem 'sftp'", "subsystem 'sftp'"]);
  });
});
