/**
 * @certfleet/ssh against real OpenSSH front-ends (packages/test-kit/src/sshd-fleet.ts): every
 * install is read back from the host's own disk.
 */
import { execFile } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateClientKeyPair,
  ensureUser,
  startFleet,
  type Fleet,
  type FleetHost,
} from '@certfleet/test-kit';
import {
  SshSession,
  TargetError,
  installOnHost,
  shQuote,
  withSshSession,
  type InstallRequest,
  type SshTarget,
  type TargetErrorCode,
} from '@certfleet/ssh';
import { watchFile } from './support/file-watch.js';

const execFileAsync = promisify(execFile);
const UNPRIVILEGED = 'certfleet-test';
const INSTALL_DIR = '/srv/fleet-certs';

let fleet: Fleet;
let clientKey: Buffer;
let unprivileged: { uid: number; gid: number };

beforeAll(async () => {
  unprivileged = await ensureUser(UNPRIVILEGED);
  fleet = await startFleet({ count: 6, installDir: INSTALL_DIR });
  clientKey = readFileSync(fleet.clientKeyPath);
});

afterAll(async () => {
  await fleet?.stop();
});

function host(i: number): FleetHost {
  return fleet.hosts[i]!;
}

/** A login whose shell is /bin/sh with no rc file, for commands a test cuts off. */
const PLAIN_USER = 'certfleet-plain';

function targetFor(h: FleetHost, overrides: Partial<SshTarget> = {}): SshTarget {
  return {
    host: h.address,
    port: h.port,
    username: 'root',
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

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function listing(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** The TargetError `promise` rejects with, checked for its code. */
async function expectTargetError(promise: Promise<unknown>, code: TargetErrorCode): Promise<TargetError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TargetError);
  const targetError = err as TargetError;
  expect(targetError.code, targetError.message).toBe(code);
  return targetError;
}

/** Every file of `req` on `h`'s disk has the submitted bytes and mode 0640. */
function expectInstalled(h: FleetHost, req: InstallRequest, subdir = ''): void {
  const dir = join(h.dir, subdir);
  const expected = [`${req.name}.pfx`, ...req.caCertificates.map((_, i) => `${req.name}.ca${i + 1}.cer`)];
  const contents = [req.pfx, ...req.caCertificates];
  expected.forEach((file, i) => {
    const path = join(dir, file);
    expect(readFileSync(path).equals(contents[i]!), file).toBe(true);
    expect(statSync(path).mode & 0o7777, file).toBe(0o640);
  });
}

describe('install on real OpenSSH hosts', () => {
  const name = 'acme-payments.client';
  const req = request(name);

  it('installs on 4 hosts at once, each on its own disk', async () => {
    const hosts = fleet.hosts.slice(0, 4);
    const results = await Promise.all(hosts.map((h) => installOnHost(targetFor(h), 'linux', req)));
    for (const [i, h] of hosts.entries()) {
      expect(results[i]).toEqual({
        path: `${INSTALL_DIR}/${name}.pfx`,
        sha256: sha256(req.pfx),
        unchanged: false,
        caPaths: [`${INSTALL_DIR}/${name}.ca1.cer`, `${INSTALL_DIR}/${name}.ca2.cer`],
      });
      expect(listing(h.dir)).toEqual([`${name}.ca1.cer`, `${name}.ca2.cer`, `${name}.pfx`]);
      expectInstalled(h, req);
    }
    // the machine's own install directory is untouched: the hosts have their own disks
    expect(readdirSync(fleet.installDir)).toEqual([]);
  });

  it('reports unchanged on a second install and writes nothing', async () => {
    const hosts = fleet.hosts.slice(0, 4);
    const before = hosts.map((h) => listing(h.dir).map((f) => statSync(join(h.dir, f))));
    const results = await Promise.all(hosts.map((h) => installOnHost(targetFor(h), 'linux', req)));
    for (const [i, h] of hosts.entries()) {
      expect(results[i]!.unchanged).toBe(true);
      expect(results[i]!.sha256).toBe(sha256(req.pfx));
      const after = listing(h.dir).map((f) => statSync(join(h.dir, f)));
      expect(after.map((s) => [s.ino, s.mtimeMs])).toEqual(before[i]!.map((s) => [s.ino, s.mtimeMs]));
    }
  });

  it('accepts a SHA256 fingerprint pin as ssh-keygen prints it', async () => {
    const h = host(0);
    const { stdout } = await execFileAsync('ssh-keygen', [
      '-l',
      '-f',
      join(h.configDir, 'ssh_host_ed25519_key.pub'),
    ]);
    const fingerprint = stdout.split(' ')[1]!;
    expect(fingerprint).toMatch(/^SHA256:/);
    const result = await installOnHost(targetFor(h, { hostKey: fingerprint }), 'linux', req);
    expect(result.unchanged).toBe(true);
  });

  it('replaces a certificate atomically: readers see the old file or the new one, never a part or nothing', async () => {
    const h = host(0);
    const rotate = 'rotate';
    const first = request(rotate, { pfx: randomBytes(2 * 1024 * 1024) });
    await installOnHost(targetFor(h), 'linux', first);
    const path = join(h.dir, `${rotate}.pfx`);
    const oldState = `${statSync(path).ino}:${first.pfx.length}`;

    // a different size tells the states apart; the new chain is one certificate shorter
    const second = request(rotate, { pfx: randomBytes(3 * 1024 * 1024), caCertificates: [randomBytes(800)] });
    const watcher = await watchFile(path);
    let reading = true;
    const reads = { old: 0, new: 0 };
    const reader = (async () => {
      while (reading) {
        const data = await readFile(path);
        if (data.equals(first.pfx)) reads.old++;
        else if (data.equals(second.pfx)) reads.new++;
        else throw new Error(`a reader saw ${data.length} bytes that are neither the old nor the new file`);
      }
    })();
    try {
      const result = await installOnHost(targetFor(h), 'linux', second);
      expect(result.unchanged).toBe(false);
      expect(result.caPaths).toEqual([`${INSTALL_DIR}/${rotate}.ca1.cer`]);
    } finally {
      reading = false;
      await reader;
    }
    const newState = `${statSync(path).ino}:${second.pfx.length}`;
    await new Promise((r) => setTimeout(r, 50));
    const seen = await watcher.stop();
    expect(seen.missing).toBe(0);
    expect([...seen.states.keys()].sort()).toEqual([oldState, newState].sort());
    expect(reads.old).toBeGreaterThan(0);
    expectInstalled(h, second);
    // the replaced bytes stay beside it, for a rollback (README: Previous version and rollback)
    expect(listing(h.dir).filter((f) => f.startsWith(`${rotate}.`) || f.startsWith(`.${rotate}.`))).toEqual([
      `${rotate}.ca1.cer`,
      `${rotate}.pfx`,
      `${rotate}.pfx.previous`,
    ]);
    expect(await readFile(join(h.dir, `${rotate}.pfx.previous`))).toEqual(first.pfx);
  });

  it('cleans temporary files a crashed attempt left, and only those of its name', async () => {
    const h = host(1);
    const leftovers = [
      `.${name}.pfx.certfleet-tmp-0123456789abcdef`,
      `.${name}.ca2.cer.certfleet-tmp-deadbeef`,
    ];
    const foreign = ['other.pfx', '.other.pfx.certfleet-tmp-0123456789abcdef', `${name}.pfx.bak`];
    for (const f of [...leftovers, ...foreign]) writeFileSync(join(h.dir, f), 'partial');

    const result = await installOnHost(targetFor(h), 'linux', req);
    expect(result.unchanged).toBe(true);
    expect(listing(h.dir)).toEqual([...foreign, `${name}.ca1.cer`, `${name}.ca2.cer`, `${name}.pfx`].sort());
  });

  it('creates a missing install directory (0750) and hands files and directory to the owner', async () => {
    const h = host(2);
    const owned = request('owned', { installDir: `${INSTALL_DIR}/tenant/certs`, owner: UNPRIVILEGED });
    await installOnHost(targetFor(h), 'linux', owned);
    const dir = join(h.dir, 'tenant', 'certs');
    expect(statSync(dir).mode & 0o7777).toBe(0o750);
    expect(statSync(join(h.dir, 'tenant')).mode & 0o7777).toBe(0o755);
    expect(statSync(dir).uid).toBe(unprivileged.uid);
    expectInstalled(h, owned, join('tenant', 'certs'));
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).uid, f).toBe(unprivileged.uid);
  });

  it('fails with remote_command_failed for an unknown owner and leaves nothing behind', async () => {
    const h = host(2);
    const before = listing(h.dir);
    const err = await expectTargetError(
      installOnHost(targetFor(h), 'linux', request('nobody-owns', { owner: 'no-such-user-certfleet' })),
      'remote_command_failed',
    );
    expect(err.message).toContain('cannot look up the owner "no-such-user-certfleet"');
    expect(listing(h.dir)).toEqual(before);
  });
});

describe('failures', () => {
  it('refuses a host whose key is not the pin, before authenticating, and writes nothing', async () => {
    const h = host(3);
    const before = listing(h.dir);
    const logBefore = readFileSync(h.logFile, 'utf8').length;
    const err = await expectTargetError(
      installOnHost(targetFor(h, { hostKey: host(0).hostKeyLine }), 'linux', request('pinned')),
      'host_key_mismatch',
    );
    expect(err.permanent).toBe(true);
    expect(err.message).toMatch(/SHA256:/);
    expect(err.message).not.toContain(host(0).hostKeyLine.split(' ')[1]!);
    expect(listing(h.dir)).toEqual(before);
    // sshd saw the connection but no authentication attempt
    await new Promise((r) => setTimeout(r, 200));
    const log = readFileSync(h.logFile, 'utf8').slice(logBefore);
    expect(log).toContain('Connection from');
    expect(log).not.toMatch(/publickey|Accepted|Failed/);
  });

  it('reports an invalid pin as host_key_mismatch without connecting', async () => {
    await expectTargetError(
      installOnHost(targetFor(host(3), { hostKey: 'not a key' }), 'linux', request('pinned')),
      'host_key_mismatch',
    );
  });

  it('reports a refused key as auth_failed', async () => {
    const other = generateClientKeyPair();
    const err = await expectTargetError(
      installOnHost(targetFor(host(3), { privateKey: other.privateKey }), 'linux', request('auth')),
      'auth_failed',
    );
    expect(err.permanent).toBe(true);
    expect(err.message).toContain("user 'root'");
    const unusable = await expectTargetError(
      installOnHost(targetFor(host(3), { privateKey: 'not a key' }), 'linux', request('auth')),
      'auth_failed',
    );
    expect(unusable.message).toContain('privateKeyPath');
  });

  it('refuses an invalid name or directory before connecting', async () => {
    const stopped = targetFor(host(3), { port: 1 });
    await expect(installOnHost(stopped, 'linux', request('../etc/passwd'))).rejects.toThrow(
      /invalid certificate name/,
    );
    await expect(installOnHost(stopped, 'linux', request('ok', { installDir: 'relative' }))).rejects.toThrow(
      /absolute/,
    );
  });

  it('reports a stopped host as host_unreachable (transient)', async () => {
    const h = host(4);
    await h.stop();
    try {
      const err = await expectTargetError(
        installOnHost(targetFor(h), 'linux', request('down')),
        'host_unreachable',
      );
      expect(err.permanent).toBe(false);
      expect(err.message).toContain('ECONNREFUSED');
    } finally {
      await h.start();
    }
    await installOnHost(targetFor(h), 'linux', request('back-up'));
  });

  it('reports a hanging host as host_timeout within readyTimeout', async () => {
    const h = host(4);
    h.pause();
    const started = Date.now();
    try {
      const err = await expectTargetError(
        installOnHost(targetFor(h, { readyTimeoutMs: 800 }), 'linux', request('hang')),
        'host_timeout',
      );
      expect(err.permanent).toBe(false);
    } finally {
      h.resume();
    }
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('times out a step on a host that hangs after connecting, and still closes', async () => {
    const h = host(4);
    const session = await SshSession.connect(targetFor(h));
    h.pause();
    try {
      await expectTargetError(session.exec('true', { timeoutMs: 500 }), 'host_timeout');
      const started = Date.now();
      await session.close();
      expect(Date.now() - started).toBeLessThan(500);
    } finally {
      h.resume();
    }
  });

  it('reports an install directory the login user may not write as permission_denied', async () => {
    const h = host(5);
    expect(statSync(h.dir).uid).toBe(0);
    expect(statSync(h.dir).mode & 0o777).toBe(0o755);
    const err = await expectTargetError(
      installOnHost(targetFor(h, { username: UNPRIVILEGED }), 'linux', request('denied')),
      'permission_denied',
    );
    expect(err.permanent).toBe(true);
    expect(err.message).toContain(UNPRIVILEGED);
    expect(listing(h.dir)).toEqual([]);
  });

  it('reports a full disk as disk_full and removes its temporary file', async () => {
    const h = host(5);
    await h.stop();
    await execFileAsync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', h.dir]);
    try {
      // dd stops with ENOSPC once the file system is full
      await execFileAsync('dd', ['if=/dev/zero', `of=${join(h.dir, 'fill')}`, 'bs=4k']).catch(
        () => undefined,
      );
      await h.start();
      const err = await expectTargetError(
        installOnHost(targetFor(h), 'linux', request('full', { pfx: randomBytes(32 * 1024) })),
        'disk_full',
      );
      expect(err.permanent).toBe(true);
      expect(listing(h.dir)).toEqual(['fill']);
    } finally {
      await h.stop();
      await execFileAsync('umount', [h.dir]);
      await h.start();
    }
  });
});

describe('SshSession', () => {
  it('passes hostile strings through the remote shell unchanged when quoted', async () => {
    const marker = `/tmp/certfleet-pwned-${randomBytes(4).toString('hex')}`;
    const hostile = [
      '',
      ' ',
      "it's",
      "'",
      "''",
      `'"'"'`,
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `; touch ${marker}`,
      `&& touch ${marker} #`,
      '$HOME ${PATH} $0 $@ $*',
      '\\',
      '\\n\\t\\0',
      'line one\nline two\r\n',
      '*?[a-z]~',
      '!! !$ ^old^new',
      '-n',
      '--',
      'tab\there',
      '\u0001\u001b[31m\u007f',
      'ünïcødé 証明書 🔐',
      '"double" \'single\' `back`',
    ];
    await withSshSession(targetFor(host(1)), async (session) => {
      // one command line holding every hostile word, each printed back NUL-terminated
      const result = await session.exec(`printf '%s\\0' ${hostile.map(shQuote).join(' ')}`);
      expect(result.code).toBe(0);
      expect(result.stdout.split('\0')).toEqual([...hostile, '']);
    });
    expect(existsSync(marker)).toBe(false);
  });

  it('sends stdin, returns non-zero exits as results, and times out a command that hangs', async () => {
    await withSshSession(targetFor(host(1)), async (session) => {
      const input = randomBytes(100_000).toString('base64');
      expect((await session.exec('cat', { stdin: input })).stdout).toBe(input);
      expect(await session.exec('echo oops >&2; exit 3')).toEqual({ code: 3, stdout: '', stderr: 'oops\n' });
      await expectTargetError(session.run('exit 4', 'the test command'), 'remote_command_failed');
    });
    // A command cut off by its timeout: as a login with a plain /bin/sh, since cutting off
    // root's bash while its ~/.bashrc runs `pyenv rehash` leaves pyenv's lock behind.
    await ensureUser(PLAIN_USER);
    await withSshSession(targetFor(host(1), { username: PLAIN_USER }), async (session) => {
      await expectTargetError(session.exec('sleep 5', { timeoutMs: 300 }), 'host_timeout');
    });
  });
});
