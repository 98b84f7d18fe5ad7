/**
 * The Windows adapter through `installOnHost`, against the in-process host that answers as
 * OpenSSH for Windows does and runs the install script with the real PowerShell (pwsh 7)
 * through its Windows-only seams (packages/test-kit/src/inprocess-host.ts). What this proves and
 * what it cannot (Windows itself) is written in that file's header.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KEY_READER_SIDS,
  TargetError,
  WINDOWS_BOOTSTRAP,
  WINDOWS_BOOTSTRAP_COMMAND,
  WINDOWS_STORE,
  decodePowerShellCommand,
  installOnHost,
  type InstallRequest,
  type SshTarget,
  type TargetErrorCode,
} from '@certfleet/ssh';
import { makeDemoCertificates } from '../deploy/demo/demo-certs.js';
import { CORPUS_PASSWORD, CORPUS_UNICODE_PASSWORD, makeCorpus, type Corpus } from './fixtures/corpus.js';
import {
  generateClientKeyPair,
  startInProcessHost,
  type InProcessHost,
  readKeys,
  removeCertificate,
  writeKeys,
} from '@certfleet/test-kit';

const client = generateClientKeyPair();
const demo = makeDemoCertificates('windows-test-client');
const rootDer = new X509Certificate(demo.caPem).raw;
let host: InProcessHost;
let corpus: Corpus;

beforeAll(async () => {
  host = await startInProcessHost({ flavour: 'windows', clientPublicKey: client.publicKey });
  corpus = await makeCorpus();
});

afterAll(async () => {
  await host?.stop();
});

function target(overrides: Partial<SshTarget> = {}): SshTarget {
  return {
    host: host.address,
    port: host.port,
    username: 'certfleet',
    privateKey: client.privateKey,
    hostKey: host.hostKeyLine,
    ...overrides,
  };
}

function request(name: string, overrides: Partial<InstallRequest> = {}): InstallRequest {
  return {
    installDir: 'D:\\Certificates',
    name,
    pfx: demo.pfx,
    caCertificates: [rootDer],
    password: demo.password,
    ...overrides,
  };
}

/** The bootstrap's three stdin lines: script, inputs, password. */
function stdinLines(stdin: string): { script: string; input: unknown; password: string } {
  const [script, input, password] = stdin.split('\n');
  const text = (b64: string | undefined): string => Buffer.from(b64 ?? '', 'base64').toString('utf8');
  return { script: text(script), input: JSON.parse(input ?? 'null'), password: text(password) };
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Uppercase SHA-1 hex, as Windows shows a thumbprint. */
function thumbprint(cert: X509Certificate): string {
  return cert.fingerprint.replace(/:/g, '');
}

/** The demo PFX's leaf, read with forge (the PFX is forge's own output). */
function pfxLeaf(
  pfx: Buffer,
  password: string,
): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } {
  const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(pfx.toString('binary')), password);
  const cert = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!]![0]!.cert!;
  const keyBags = p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! });
  return { cert, key: keyBags[forge.pki.oids.pkcs8ShroudedKeyBag!]![0]!.key as forge.pki.rsa.PrivateKey };
}

function leafThumbprint(pfx: Buffer, password: string): string {
  const der = forge.asn1.toDer(forge.pki.certificateToAsn1(pfxLeaf(pfx, password).cert)).getBytes();
  return thumbprint(new X509Certificate(Buffer.from(der, 'binary')));
}

/** The demo PFX again, protected by another password (TripleDES-SHA1 like the original). */
function withPassword(password: string): Buffer {
  const { cert, key } = pfxLeaf(demo.pfx, demo.password);
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, [cert], password, { algorithm: '3des' });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

function dirOf(...parts: string[]): string {
  return join(host.root, ...parts);
}

function listing(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
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

/** Runs `fn` and returns what the host received meanwhile. */
async function receivedDuring<T>(fn: () => Promise<T>): Promise<{
  result: T;
  execs: InProcessHost['received']['execs'];
  sftp: InProcessHost['received']['sftp'];
}> {
  const execs = host.received.execs.length;
  const sftp = host.received.sftp.length;
  const result = await fn();
  return { result, execs: host.received.execs.slice(execs), sftp: host.received.sftp.slice(sftp) };
}

describe('install on an emulated Windows front-end', () => {
  const name = 'acme-payments.client';
  const req = request(name);
  const leaf = leafThumbprint(demo.pfx, demo.password);
  const root = thumbprint(new X509Certificate(rootDer));

  it('uploads over SFTP in /D:/ form, runs only the bootstrap, and answers with thumbprint and store', async () => {
    const { result, execs, sftp } = await receivedDuring(() => installOnHost(target(), 'windows', req));

    expect(result).toEqual({
      path: `D:\\Certificates\\${name}.pfx`,
      sha256: sha256(demo.pfx),
      unchanged: false,
      caPaths: [`D:\\Certificates\\${name}.ca1.cer`],
      thumbprint: leaf,
      store: 'LocalMachine\\My',
      keyProvider: 'Microsoft Software Key Storage Provider',
      changed: [
        `store:LocalMachine\\Root:${root}`,
        `store:LocalMachine\\My:${leaf}`,
        'acl:S-1-5-32-568',
        'acl:S-1-5-20',
        `file:D:\\Certificates\\${name}.ca1.cer`,
        `file:D:\\Certificates\\${name}.pfx`,
      ],
    });

    // the files, exactly the bytes sent, and nothing else
    const dir = dirOf('D', 'Certificates');
    expect(listing(dir)).toEqual([`${name}.ca1.cer`, `${name}.pfx`]);
    expect(readFileSync(join(dir, `${name}.pfx`)).equals(demo.pfx)).toBe(true);
    expect(readFileSync(join(dir, `${name}.ca1.cer`)).equals(rootDer)).toBe(true);

    // SFTP saw Windows OpenSSH's path form only, and no posix-rename (the script swaps the files)
    const withPath = sftp.filter((r) => r.op !== 'limits@openssh.com');
    expect(withPath.length).toBeGreaterThan(0);
    for (const r of withPath) expect(r.path, r.op).toMatch(/^\/D:\/Certificates(\/|$)/);
    expect(sftp.filter((r) => r.op === 'mkdir').map((r) => r.path)).toEqual(['/D:/Certificates']);
    expect(sftp.some((r) => r.op.includes('rename'))).toBe(false);
    expect(sftp.filter((r) => r.op === 'open').map((r) => r.path)).toEqual([
      expect.stringMatching(new RegExp(`^/D:/Certificates/\\.${name}\\.pfx\\.certfleet-tmp-[0-9a-f]{16}$`)),
      expect.stringMatching(
        new RegExp(`^/D:/Certificates/\\.${name}\\.ca1\\.cer\\.certfleet-tmp-[0-9a-f]{16}$`),
      ),
    ]);

    // one exec: the constant bootstrap; the password and inputs went over stdin
    expect(execs).toHaveLength(1);
    const exec = execs[0]!;
    expect(exec.command).toBe(WINDOWS_BOOTSTRAP_COMMAND);
    expect(exec.command.length).toBeLessThan(4000);
    expect(decodePowerShellCommand(exec.command.split(' ').at(-1)!)).toBe(WINDOWS_BOOTSTRAP);
    expect(exec.command).not.toContain(demo.password);
    expect(exec.command).not.toContain(name);
    expect(exec.reply.code).toBe(0);
    const stdin = stdinLines(exec.stdin);
    expect(stdin.password).toBe(demo.password);
    expect(stdin.input).toMatchObject({
      version: 2,
      name,
      dir: 'D:\\Certificates',
      readers: [...KEY_READER_SIDS],
      pfx: { path: `D:\\Certificates\\${name}.pfx`, sha256: sha256(demo.pfx) },
      caFiles: [{ path: `D:\\Certificates\\${name}.ca1.cer`, sha256: sha256(rootDer) }],
    });

    // the emulated machine store: the leaf in My with its key readable by both SIDs, the root in Root
    const store = host.readStore();
    expect(store.My[leaf]).toMatchObject({
      friendlyName: `certfleet ${name}`,
      hasPrivateKey: true,
      keyProvider: 'Microsoft Software Key Storage Provider',
      keyAcl: [...KEY_READER_SIDS],
    });
    expect(Object.keys(store.Root)).toEqual([root]);
    expect(store.CA).toEqual({});
  });

  it('reports unchanged on a second install and leaves the files as they were', async () => {
    const dir = dirOf('D', 'Certificates');
    const before = listing(dir).map((f) => statSync(join(dir, f)));
    const result = await installOnHost(target(), 'windows', req);
    expect(result).toMatchObject({ unchanged: true, changed: [], thumbprint: leaf, store: WINDOWS_STORE });
    const after = listing(dir).map((f) => statSync(join(dir, f)));
    expect(after.map((s) => [s.ino, s.mtimeMs])).toEqual(before.map((s) => [s.ino, s.mtimeMs]));
  });

  it('grants the key ACL again after a re-import reset it, and re-imports a certificate that is gone', async () => {
    writeKeys(host.root, {
      ...readKeys(host.root),
      [leaf]: [{ provider: 'Microsoft Software Key Storage Provider', readers: [] }],
    });
    const regranted = await installOnHost(target(), 'windows', req);
    expect(regranted.unchanged).toBe(false);
    expect(regranted.changed).toEqual(['acl:S-1-5-32-568', 'acl:S-1-5-20']);

    removeCertificate(host.root, 'My', leaf);
    const reimported = await installOnHost(target(), 'windows', req);
    expect(reimported.changed).toEqual([
      `store:LocalMachine\\My:${leaf}`,
      'acl:S-1-5-32-568',
      'acl:S-1-5-20',
    ]);
    expect(host.readStore().My[leaf]!.keyAcl).toEqual([...KEY_READER_SIDS]);
  });

  it('removes temporary files of an interrupted attempt and CA files of a longer chain', async () => {
    const dir = dirOf('D', 'Certificates');
    const leftovers = [`.${name}.pfx.certfleet-tmp-0123456789abcdef`, `.${name}.ca1.cer.certfleet-tmp-feed`];
    const foreign = ['other.pfx', `.other.pfx.certfleet-tmp-0123456789abcdef`];
    for (const f of [...leftovers, ...foreign]) writeFileSync(join(dir, f), 'partial');
    writeFileSync(join(dir, `${name}.ca2.cer`), 'from a longer chain');

    const result = await installOnHost(target(), 'windows', req);
    expect(result.unchanged).toBe(false);
    expect(result.changed).toEqual([`removed:D:\\Certificates\\${name}.ca2.cer`]);
    expect(listing(dir)).toEqual([...foreign, `${name}.ca1.cer`, `${name}.pfx`].sort());
  });
});

describe("OpenSSH's DefaultShell", () => {
  it('installs the same way when DefaultShell is powershell.exe: the bootstrap still gets stdin', async () => {
    const ps = await startInProcessHost({
      flavour: 'windows',
      clientPublicKey: client.publicKey,
      defaultShell: 'powershell',
    });
    try {
      const result = await installOnHost(
        target({ host: ps.address, port: ps.port, hostKey: ps.hostKeyLine }),
        'windows',
        request('default-shell'),
      );
      expect(result.thumbprint).toBe(leafThumbprint(demo.pfx, demo.password));
      expect(ps.received.execs.map((e) => e.command)).toEqual([WINDOWS_BOOTSTRAP_COMMAND]);
      expect(ps.readStore().My[result.thumbprint!]).toMatchObject({ keyAcl: [...KEY_READER_SIDS] });
    } finally {
      await ps.stop();
    }
  });
});

describe('inputs that must not change what runs', () => {
  it('carries a hostile password on stdin only, unchanged, and Windows (emulated) opens the PFX with it', async () => {
    const password = `"'; $(Remove-Item C:\\ -Recurse) \`whoami\` %PATH% ^&|<> !x!\r\nline two ünïcødé 証明書 🔐 ${'x'.repeat(1000)}`;
    const pfx = withPassword(password);
    const { result, execs } = await receivedDuring(() =>
      installOnHost(target(), 'windows', request('hostile-password', { pfx, password })),
    );
    expect(result.thumbprint).toBe(leafThumbprint(demo.pfx, demo.password));
    expect(execs).toHaveLength(1);
    expect(execs[0]!.command).toBe(WINDOWS_BOOTSTRAP_COMMAND);
    // stdin is ASCII on the wire; its password line still holds the exact password
    expect(execs[0]!.stdin).toMatch(/^[\x20-\x7e\n]*$/);
    expect(stdinLines(execs[0]!.stdin).password).toBe(password);
  });

  it('refuses a UNC install folder before connecting', async () => {
    const connections = host.received.connections;
    await expect(
      installOnHost(target(), 'windows', request('unc', { installDir: '\\\\fs01\\certs' })),
    ).rejects.toThrow(/drive letter/);
    await expect(installOnHost(target(), 'windows', request('../x'))).rejects.toThrow(
      /invalid certificate name/,
    );
    expect(host.received.connections).toBe(connections);
  });
});

describe('chains and passwords from openssl (the corpus)', () => {
  it('puts the intermediate into CA and the root into Root, and creates a nested folder on C:', async () => {
    const leaf = thumbprint(new X509Certificate(corpus.file('leaf.pem')));
    const int = corpus.file('int.der');
    const root = corpus.file('root.der');
    const result = await installOnHost(
      target(),
      'windows',
      request('corpus-3des', {
        installDir: 'C:\\certs\\sub',
        pfx: corpus.file('3des.pfx'),
        password: CORPUS_PASSWORD,
        caCertificates: [int, root],
      }),
    );
    expect(result.thumbprint).toBe(leaf);
    expect(result.caPaths).toEqual([
      'C:\\certs\\sub\\corpus-3des.ca1.cer',
      'C:\\certs\\sub\\corpus-3des.ca2.cer',
    ]);
    expect(listing(dirOf('C', 'certs', 'sub'))).toEqual([
      'corpus-3des.ca1.cer',
      'corpus-3des.ca2.cer',
      'corpus-3des.pfx',
    ]);
    const store = host.readStore();
    expect(store.CA[thumbprint(new X509Certificate(int))]).toBeDefined();
    expect(store.Root[thumbprint(new X509Certificate(root))]).toBeDefined();
  });

  it('opens a PFX whose password is not ASCII', async () => {
    const result = await installOnHost(
      target(),
      'windows',
      request('corpus-unicode', {
        pfx: corpus.file('unicode.pfx'),
        password: CORPUS_UNICODE_PASSWORD,
        caCertificates: [],
      }),
    );
    expect(result.thumbprint).toBe(thumbprint(new X509Certificate(corpus.file('leaf.pem'))));
  });
});

describe('failures', () => {
  it('refuses a host whose key is not the pin, before authenticating, and writes nothing', async () => {
    const other = await startInProcessHost({ flavour: 'windows', clientPublicKey: client.publicKey });
    try {
      const before = { logins: host.received.logins.length, sftp: host.received.sftp.length };
      const err = await expectTargetError(
        installOnHost(target({ hostKey: other.hostKeyLine }), 'windows', request('pinned')),
        'host_key_mismatch',
      );
      expect(err.permanent).toBe(true);
      expect(host.received.logins.length).toBe(before.logins);
      expect(host.received.sftp.length).toBe(before.sftp);
      expect(listing(dirOf('D', 'Certificates')).filter((f) => f.includes('pinned'))).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  it('maps a PFX password Windows refuses to remote_command_failed, without the password, and keeps the old file', async () => {
    const name = 'refused';
    await installOnHost(target(), 'windows', request(name));
    const dir = dirOf('D', 'Certificates');
    const before = readFileSync(join(dir, `${name}.pfx`));
    const password = 'not-the-password-$(x)';
    const freshRoot = new X509Certificate(makeDemoCertificates('unused').caPem);
    const err = await expectTargetError(
      installOnHost(
        target(),
        'windows',
        request(name, { pfx: withPassword('another one'), password, caCertificates: [freshRoot.raw] }),
      ),
      'remote_command_failed',
    );
    expect(err.message).toMatch(/refused the PFX password/);
    expect(err.message).not.toContain(password);
    // the PFX is opened before anything is trusted: its CA did not reach Root
    expect(host.readStore().Root[thumbprint(freshRoot)]).toBeUndefined();
    expect(readFileSync(join(dir, `${name}.pfx`)).equals(before)).toBe(true);
    expect(listing(dir).filter((f) => f.startsWith(`.${name}.`))).toEqual([]);
  });

  it('maps a damaged upload to hash_mismatch and removes it', async () => {
    host.onWrite = (path, data) =>
      path.includes('.damaged.pfx.') ? Buffer.concat([data, Buffer.from('!')]) : data;
    try {
      await expectTargetError(installOnHost(target(), 'windows', request('damaged')), 'hash_mismatch');
    } finally {
      host.onWrite = undefined;
    }
    expect(listing(dirOf('D', 'Certificates')).filter((f) => f.includes('damaged'))).toEqual([]);
  });

  it.each([
    ['permission_denied', 'Access is denied.', true],
    ['disk_full', 'There is not enough space on the disk.', true],
    ['failed', 'Keyset does not exist', false],
  ] as const)('maps the script error %s to a TargetError', async (error, message, permanent) => {
    const password = 'Secret-in-a-message';
    host.onExec = () => ({ code: 2, stdout: `{"error":"${error}","message":"${message} ${password}"}\r\n` });
    try {
      const err = await expectTargetError(
        installOnHost(target(), 'windows', request(`scripted-${error.replace('_', '-')}`, { password })),
        error === 'failed' ? 'remote_command_failed' : error,
      );
      expect(err.permanent).toBe(permanent);
      expect(err.message).toContain(message);
      expect(err.message).not.toContain(password);
    } finally {
      host.onExec = undefined;
    }
    // the script never ran: the adapter removed its uploads itself
    expect(listing(dirOf('D', 'Certificates')).filter((f) => f.includes('scripted'))).toEqual([]);
  });

  it('never removes the upload of a file whose final path the failed script left empty', async () => {
    const name = 'emptied';
    await installOnHost(target(), 'windows', request(name));
    const dir = dirOf('D', 'Certificates');
    host.onExec = () => {
      rmSync(join(dir, `${name}.pfx`));
      return { code: 2, stdout: '{"error":"failed","message":"Unable to move the replacement file"}\r\n' };
    };
    try {
      await expectTargetError(
        installOnHost(target(), 'windows', request(name, { pfx: withPassword(demo.password) })),
        'remote_command_failed',
      );
    } finally {
      host.onExec = undefined;
    }
    const left = listing(dir).filter((f) => f.includes(name));
    expect(left).toEqual([
      expect.stringMatching(new RegExp(`^\\.${name}\\.pfx\\.certfleet-tmp-[0-9a-f]{16}$`)),
      `${name}.ca1.cer`,
    ]);
    // the next attempt installs it again
    await installOnHost(target(), 'windows', request(name));
    expect(listing(dir).filter((f) => f.includes(name))).toEqual([`${name}.ca1.cer`, `${name}.pfx`]);
  });

  it('reports PowerShell dying without an answer, with its CLIXML stderr made readable', async () => {
    host.onExec = () => ({
      code: 1,
      stderr:
        '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">' +
        '<S S="Error">ConvertFrom-Json : Invalid JSON primitive: &lt;x&gt;._x000D__x000A_</S></Objs>',
    });
    try {
      const err = await expectTargetError(
        installOnHost(target(), 'windows', request('crashed')),
        'remote_command_failed',
      );
      expect(err.message).toContain('exit code 1');
      expect(err.message).toContain('ConvertFrom-Json : Invalid JSON primitive: <x>.');
    } finally {
      host.onExec = undefined;
    }
  });
});
