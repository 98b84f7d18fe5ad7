/**
 * The in-process front-end (packages/test-kit/src/inprocess-host.ts): the Linux adapter works against
 * its linux flavour end to end (the demo's fallback without root or sshd), and both flavours
 * refuse what their real counterparts would not do for certfleet.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TargetError,
  installOnHost,
  shQuote,
  withSshSession,
  type InstallRequest,
  type SshTarget,
  type TargetErrorCode,
} from '@certfleet/ssh';
import {
  generateClientKeyPair,
  splitShellWords,
  startInProcessHost,
  type InProcessHost,
} from '@certfleet/test-kit';

const INSTALL_DIR = '/srv/fleet-certs';
const client = generateClientKeyPair();
let linux: InProcessHost;
let windows: InProcessHost;

beforeAll(async () => {
  linux = await startInProcessHost({
    flavour: 'linux',
    clientPublicKey: client.publicKey,
    users: ['www-data'],
  });
  windows = await startInProcessHost({ flavour: 'windows', clientPublicKey: client.publicKey });
});

afterAll(async () => {
  await linux?.stop();
  await windows?.stop();
});

function target(host: InProcessHost, overrides: Partial<SshTarget> = {}): SshTarget {
  return {
    host: host.address,
    port: host.port,
    username: 'fleet',
    privateKey: client.privateKey,
    hostKey: host.hostKeyLine,
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

async function expectTargetError(promise: Promise<unknown>, code: TargetErrorCode): Promise<TargetError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TargetError);
  expect((err as TargetError).code, (err as TargetError).message).toBe(code);
  return err as TargetError;
}

describe('the Linux adapter against the linux flavour', () => {
  const name = 'acme-payments.client';
  const req = request(name);

  it('installs: files with mode 0640 on the host disk, read back over SFTP, with no command at all', async () => {
    const execs = linux.received.execs.length;
    const result = await installOnHost(target(linux), 'linux', req);
    expect(result).toEqual({
      path: `${INSTALL_DIR}/${name}.pfx`,
      sha256: sha256(req.pfx),
      unchanged: false,
      caPaths: [`${INSTALL_DIR}/${name}.ca1.cer`, `${INSTALL_DIR}/${name}.ca2.cer`],
    });
    expect(readdirSync(linux.root).sort()).toEqual([`${name}.ca1.cer`, `${name}.ca2.cer`, `${name}.pfx`]);
    [req.pfx, ...req.caCertificates].forEach((data, i) => {
      const file = join(linux.root, i === 0 ? `${name}.pfx` : `${name}.ca${i}.cer`);
      expect(readFileSync(file).equals(data)).toBe(true);
      expect(statSync(file).mode & 0o7777).toBe(0o640);
    });
    expect(linux.received.execs.slice(execs).map((e) => e.command)).toEqual([]);
    expect(linux.received.sftp.some((r) => r.op === 'posix-rename@openssh.com' && r.status === 'OK')).toBe(
      true,
    );
  });

  it('reports unchanged on a second install and writes nothing', async () => {
    const before = readdirSync(linux.root).map((f) => statSync(join(linux.root, f)));
    const result = await installOnHost(target(linux), 'linux', req);
    expect(result.unchanged).toBe(true);
    const after = readdirSync(linux.root).map((f) => statSync(join(linux.root, f)));
    expect(after.map((s) => [s.ino, s.mtimeMs])).toEqual(before.map((s) => [s.ino, s.mtimeMs]));
  });

  it('notices a damaged upload by reading it back from the host and removes it', async () => {
    linux.onWrite = (path, data) => (path.includes('.damaged.pfx.') ? Buffer.from(data).fill(0, 0, 1) : data);
    try {
      await expectTargetError(
        installOnHost(target(linux), 'linux', request('damaged', { pfx: Buffer.alloc(100, 1) })),
        'hash_mismatch',
      );
    } finally {
      linux.onWrite = undefined;
    }
    expect(readdirSync(linux.root).filter((f) => f.includes('damaged'))).toEqual([]);
  });

  it('creates a missing subdirectory (0750) and sets a numeric owner with SFTP setstat, no command', async () => {
    const execs = linux.received.execs.length;
    const owned = request('owned', { installDir: `${INSTALL_DIR}/tenant/certs`, owner: '33:33' });
    await installOnHost(target(linux), 'linux', owned);
    expect(statSync(join(linux.root, 'tenant', 'certs')).mode & 0o7777).toBe(0o750);
    expect(linux.received.execs.length).toBe(execs);
    const setstats = linux.received.sftp.filter((r) => r.op === 'setstat' || r.op === 'fsetstat');
    expect(setstats.some((r) => r.path === `${INSTALL_DIR}/tenant/certs`)).toBe(true);
  });

  it('refuses an owner name it cannot look up (the flavour runs no id) and leaves nothing behind', async () => {
    const err = await expectTargetError(
      installOnHost(target(linux), 'linux', request('nobody', { owner: 'no-such-user' })),
      'remote_command_failed',
    );
    expect(err.message).toContain('numeric uid:gid');
    expect(readdirSync(linux.root).filter((f) => f.includes('nobody'))).toEqual([]);
  });

  it('refuses a wrong pin before authenticating, and a wrong client key', async () => {
    const logins = linux.received.logins.length;
    await expectTargetError(
      installOnHost(target(linux, { hostKey: windows.hostKeyLine }), 'linux', request('pin')),
      'host_key_mismatch',
    );
    expect(linux.received.logins.length).toBe(logins);
    await expectTargetError(
      installOnHost(
        target(linux, { privateKey: generateClientKeyPair().privateKey }),
        'linux',
        request('key'),
      ),
      'auth_failed',
    );
  });

  it('keeps the disk at installDir: elsewhere is permission denied', async () => {
    await expectTargetError(
      installOnHost(target(linux), 'linux', request('elsewhere', { installDir: '/etc/certs' })),
      'permission_denied',
    );
  });
});

describe('what the emulated hosts refuse', () => {
  it('linux: runs only sha256sum and chown, and nothing a shell would interpret', async () => {
    await withSshSession(target(linux), async (session) => {
      for (const command of ['rm -rf /', 'sha256sum /etc/passwd', "sha256sum -- '/x'; id", 'echo $(id)']) {
        const result = await session.exec(command);
        expect(result.code, command).toBe(127);
      }
    });
  });

  it('windows: runs only certfleet’s bootstrap and answers others as cmd.exe does', async () => {
    await withSshSession(target(windows), async (session) => {
      const notFound = await session.exec('sha256sum -- x');
      expect(notFound.code).toBe(1);
      expect(notFound.stderr).toContain("'sha256sum' is not recognized as an internal or external command");
      const other = await session.exec(
        `powershell -NoProfile -NonInteractive -EncodedCommand ${Buffer.from('whoami', 'utf16le').toString('base64')}`,
      );
      expect(other.code).toBe(1);
      expect(other.stderr).toContain("not certfleet's bootstrap");
      expect((await session.exec(`powershell ${'x'.repeat(9000)}`)).stderr).toContain(
        'command line is too long',
      );
    });
  });

  it('windows: serves /D:/… paths only, and posix-rename deletes the target first as Win32-OpenSSH does', async () => {
    await withSshSession(target(windows), async (session) => {
      const fs = await session.sftp();
      expect(await fs.stat('/D:/')).toMatchObject({ isDirectory: true });
      expect(await fs.stat('D:/')).toBeUndefined();
      expect(await fs.stat('/Z:/')).toBeUndefined();
      await fs.mkdirp('/D:/t', 0o755);
      await fs.writeNewFile('/D:/t/a', Buffer.from('a'), 0o644);
      await fs.writeNewFile('/D:/t/b', Buffer.from('b'), 0o644);
      await fs.rename('/D:/t/a', '/D:/t/b');
      expect(readFileSync(join(windows.root, 'D', 't', 'b'), 'utf8')).toBe('a');
    });
  });
});

describe('splitShellWords', () => {
  it('reads back every word shQuote wrote, and refuses what a shell would interpret', () => {
    const words = [
      '',
      ' ',
      "it's",
      "'",
      `'"'"'`,
      '$(id)',
      '`id`',
      '; id',
      'a\nb',
      '*?[a]',
      '\\',
      'ünï 🔐',
      '--',
    ];
    expect(splitShellWords(words.map(shQuote).join(' '))).toEqual(words);
    expect(splitShellWords("chown -- 'www-data' /srv/x")).toEqual(['chown', '--', 'www-data', '/srv/x']);
    for (const command of ['a;b', 'a | b', 'a $x', 'a `b`', "a 'b", 'a > b', 'a\nb', 'a "b"']) {
      expect(splitShellWords(command), command).toBeUndefined();
    }
  });
});
