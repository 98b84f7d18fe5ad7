/**
 * The Windows scripts under the real PowerShell (pwsh 7 on Linux): the parser and the
 * Windows PowerShell 5.1 checker over every file, then the exact bootstrap command line's
 * arguments and the exact stdin document the adapter sends, run end to end on an emulated
 * host folder. Only the script's Windows-only functions are replaced
 * (packages/test-kit/src/windows-prelude.ps1); every other line is the script's own.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  KEY_READER_SIDS,
  WINDOWS_BOOTSTRAP_COMMAND,
  WINDOWS_INSTALL_SCRIPT,
  windowsStdin,
  type WindowsScriptInput,
} from '@certfleet/ssh';
import { makeDemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  findPwsh,
  runPwsh,
  runWindowsPowerShell,
  configureWindowsHost,
  readKeys,
  readWindowsStore,
  writeKeys,
  type WindowsHostConfig,
} from '@certfleet/test-kit';

const WINDOWS_DIR = new URL('../packages/ssh/src/windows/', import.meta.url).pathname;
const CHECKER = new URL('./support/ps51-check.ps1', import.meta.url).pathname;
const PRELUDE = new URL('../packages/test-kit/src/windows-prelude.ps1', import.meta.url).pathname;
const FIXTURE = new URL('./fixtures/ps7-only.ps1', import.meta.url).pathname;
const KSP = 'Microsoft Software Key Storage Provider';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'certfleet-pwsh-'));
  mkdirSync(join(root, 'D', 'Certificates'), { recursive: true });
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function thumbprintOf(der: Buffer): string {
  return createHash('sha1').update(der).digest('hex').toUpperCase();
}

function local(...parts: string[]): string {
  return join(root, 'D', 'Certificates', ...parts);
}

interface Run {
  code: number;
  answer: Record<string, unknown>;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  name?: string;
  pfx?: Buffer;
  password?: string;
  caFiles?: Buffer[];
  readers?: string[];
  keyProvider?: string;
  config?: WindowsHostConfig;
  /** Changes the inputs after they were built (for invalid ones). */
  edit?: (input: WindowsScriptInput) => unknown;
  /** The bytes uploaded for the .pfx, when not the .pfx itself. */
  uploaded?: Buffer;
}

const demo = makeDemoCertificates('pwsh-client');

/** Uploads the files as the adapter does, then runs the bootstrap with the script. */
async function install(options: RunOptions = {}): Promise<Run> {
  const name = options.name ?? 'acme';
  const pfx = options.pfx ?? demo.pfx;
  const file = (base: string, data: Buffer, upload = data): WindowsScriptInput['pfx'] => {
    const temp = `.${base}.certfleet-tmp-0123456789abcdef`;
    writeFileSync(local(temp), upload);
    return { path: `D:\\Certificates\\${base}`, temp: `D:\\Certificates\\${temp}`, sha256: sha256(data) };
  };
  const input: WindowsScriptInput = {
    version: 2,
    name,
    dir: 'D:\\Certificates',
    pfx: file(`${name}.pfx`, pfx, options.uploaded),
    caFiles: (options.caFiles ?? []).map((ca, i) => file(`${name}.ca${i + 1}.cer`, ca)),
    readers: options.readers ?? [...KEY_READER_SIDS],
    keyProvider: options.keyProvider ?? KSP,
  };
  configureWindowsHost(root, options.config ?? {});
  const stdin = windowsStdin(
    WINDOWS_INSTALL_SCRIPT,
    options.edit ? options.edit(input) : input,
    options.password ?? demo.password,
  );
  const result = await runWindowsPowerShell(WINDOWS_BOOTSTRAP_COMMAND.split(' ').slice(1), stdin, root);
  const last = result.stdout.trim().split('\n').at(-1) ?? '';
  let answer: Record<string, unknown> = {};
  try {
    answer = JSON.parse(last) as Record<string, unknown>;
  } catch {
    // left empty: the assertions show stdout and stderr
  }
  return { ...result, answer };
}

function expectFailure(run: Run, error: string): string {
  expect(run.answer['error'], `${run.stdout}\n${run.stderr}`).toBe(error);
  expect(run.code).toBe(2);
  return String(run.answer['message']);
}

function expectSuccess(run: Run): { changed: string[]; kept: string[]; keyProvider: string } {
  expect(run.answer['thumbprint'], `${run.stdout}\n${run.stderr}`).toBeTypeOf('string');
  expect(run.code).toBe(0);
  return run.answer as { changed: string[]; kept: string[]; keyProvider: string };
}

function certificateFiles(): string[] {
  return readdirSync(local()).sort();
}

describe('the scripts, read by PowerShell', () => {
  it('fails with a message that says how to install pwsh when there is none', () => {
    vi.stubEnv('PATH', root);
    vi.stubEnv('HOME', root);
    vi.stubEnv('PWSH', undefined);
    try {
      expect(() => findPwsh()).toThrow(
        /pwsh \(PowerShell 7\) is not installed.*dotnet tool install --global PowerShell --version 7\.6\.9/,
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('parse without error, pass the 5.1 checker, and the checker refuses each PowerShell 7 construct with its line', async () => {
    const scripts = readdirSync(WINDOWS_DIR)
      .filter((f) => f.endsWith('.ps1'))
      .map((f) => join(WINDOWS_DIR, f));
    expect(scripts.map((s) => s.split('/').at(-1))).toEqual(
      expect.arrayContaining(['bootstrap.ps1', 'install.ps1']),
    );
    const result = await runPwsh(['-File', CHECKER, ...scripts, FIXTURE]);
    const findings = result.stdout
      .split('\n')
      .filter((l) => l.includes(': '))
      .map((l) => {
        const m = /^(.*?):(\d+): ([a-z0-9-]+): /.exec(l);
        return { file: m?.[1], line: Number(m?.[2]), rule: m?.[3] };
      });
    expect(result.code, result.stderr).toBe(1);
    // the real scripts: nothing
    expect(findings.filter((f) => f.file !== FIXTURE)).toEqual([]);
    // the fixture: exactly the marked lines, with the marked rule
    const expected = readFileSync(FIXTURE, 'utf8')
      .split('\n')
      .flatMap((text, i) => {
        const m = /# expect: ([a-z0-9-]+)$/.exec(text);
        return m ? [{ file: FIXTURE, line: i + 1, rule: m[1] }] : [];
      });
    expect(expected.length).toBeGreaterThanOrEqual(15);
    expect(findings.filter((f) => f.file === FIXTURE)).toEqual(expected);
  });

  it('replaces in the tests only functions the script defines, all of them in its Windows-only part', () => {
    const script = readFileSync(join(WINDOWS_DIR, 'install.ps1'), 'utf8');
    const windowsOnly = script.slice(0, script.indexOf('# The install, the same on every platform.'));
    const defined = [...windowsOnly.matchAll(/^function ([A-Za-z]+-[A-Za-z]+)/gm)].map((m) => m[1]);
    const prelude = readFileSync(PRELUDE, 'utf8');
    const list = /foreach \(\$name in ([^)]*)\)/.exec(prelude)?.[1] ?? '';
    const replaced = [...list.matchAll(/'([A-Za-z]+-[A-Za-z]+)'/g)].map((m) => m[1]);
    // Get-CertKey is a helper of the replaced key functions, never called by the rest
    expect(replaced.sort()).toEqual(defined.filter((f) => f !== 'Get-CertKey').sort());
    expect(script.slice(windowsOnly.length)).not.toMatch(/Get-CertKey|LocalMachine\)|NTAccount|HKLM:/);
  });
});

describe('the install script end to end under pwsh, through the bootstrap', () => {
  it('installs, then changes nothing on a re-run', async () => {
    const rootDer = Buffer.from(demo.caPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    const first = expectSuccess(await install({ caFiles: [rootDer] }));
    const leaf = thumbprintOf(demo.leafDer);
    expect(first.changed).toEqual([
      `store:LocalMachine\\Root:${thumbprintOf(rootDer)}`,
      `store:LocalMachine\\My:${leaf}`,
      'acl:S-1-5-32-568',
      'acl:S-1-5-20',
      'file:D:\\Certificates\\acme.ca1.cer',
      'file:D:\\Certificates\\acme.pfx',
    ]);
    expect(first.keyProvider).toBe(KSP);
    expect(certificateFiles()).toEqual(['acme.ca1.cer', 'acme.pfx']);
    expect(readFileSync(local('acme.pfx')).equals(demo.pfx)).toBe(true);
    expect(readWindowsStore(root).My[leaf]).toMatchObject({
      friendlyName: 'certfleet acme',
      keyProvider: KSP,
      keyAcl: [...KEY_READER_SIDS],
    });

    const again = expectSuccess(await install({ caFiles: [rootDer] }));
    expect(again.changed).toEqual([]);
    expect(again.kept).toEqual([]);
    expect(certificateFiles()).toEqual(['acme.ca1.cer', 'acme.pfx']);
  });

  it('answers bad_password for a wrong password, and leaves no temporary file and no certificate', async () => {
    const message = expectFailure(await install({ password: 'not the password' }), 'bad_password');
    expect(message).toMatch(/password/i);
    expect(certificateFiles()).toEqual([]);
    expect(readWindowsStore(root).My).toEqual({});
  });

  it('answers hash_mismatch for a damaged upload and removes it', async () => {
    const damaged = Buffer.concat([demo.pfx, Buffer.from('!')]);
    const message = expectFailure(await install({ uploaded: damaged }), 'hash_mismatch');
    expect(message).toContain(sha256(damaged));
    expect(certificateFiles()).toEqual([]);
  });

  it('refuses invalid input: another protocol, a path outside the folder, a missing field', async () => {
    const runs = await Promise.all([
      install({ edit: (i) => ({ ...i, version: 1 }) }),
      install({
        name: 'outside',
        edit: (i) => ({ ...i, pfx: { ...i.pfx, path: 'C:\\Windows\\System32\\x.pfx' } }),
      }),
    ]);
    expect(expectFailure(runs[0]!, 'invalid_input')).toMatch(/protocol 1, expected 2/);
    expect(expectFailure(runs[1]!, 'invalid_input')).toMatch(/is not a file in D:\\Certificates/);
    expect(readWindowsStore(root).My).toEqual({});
  });

  it.each([
    [
      'quotes, $(...), backticks and non-ASCII',
      `'"; $(Remove-Item C:\\ -Recurse) \`whoami\` ünïcødé 証明書 🔐 "'`,
    ],
    ['1 000 characters', `$(x)\`'"é${'p'.repeat(990)}`],
  ])(
    'hands a hostile password (%s) to the PFX import unchanged, and binds it to no parameter of any command',
    async (_, password) => {
      expect(password.length).toBeGreaterThan(30);
      const pfx = makeDemoCertificates('pwsh-hostile', { password });
      const trace = join(root, 'binding.trace');
      const run = await install({ name: 'hostile', pfx: pfx.pfx, password, config: { trace } });
      expectSuccess(run);
      expect(run.answer['thumbprint']).toBe(thumbprintOf(pfx.leafDer));
      // PowerShell's ParameterBinding trace records every value bound to any cmdlet or
      // function parameter (what Module Logging writes to event 4103): the inputs are there,
      // the password is not
      const bound = readFileSync(trace, 'utf8');
      expect(bound).toContain('BIND arg [');
      expect(bound).toContain('"name":"hostile"');
      expect(bound).not.toContain(password);
      expect(bound).not.toContain(password.slice(0, 20));
    },
  );
});

describe('hardened where Windows bites', () => {
  it('blames the machine key store, not the password, when the import after the probe fails with 0x80070056', async () => {
    const message = expectFailure(await install({ config: { importFault: 0x80070056 } }), 'key_store_failed');
    expect(message).toMatch(/password opened the PFX/);
    expect(message).toMatch(/machine key store/);
    expect(certificateFiles()).toEqual([]);
  });

  it('puts the old file back when the swap fails half-way (ReplaceFileW 1176), and keeps nothing temporary', async () => {
    expectSuccess(await install());
    const other = makeDemoCertificates('pwsh-rotated', { password: demo.password });
    const run = await install({ pfx: other.pfx, config: { replaceFault: true } });
    expectFailure(run, 'failed');
    expect(String(run.answer['message'])).toMatch(/Unable to move the replacement file/);
    expect(readFileSync(local('acme.pfx')).equals(demo.pfx)).toBe(true);
    expect(certificateFiles()).toEqual(['acme.pfx']);
  });

  it('restores a file an interrupted earlier swap left only under its backup name', async () => {
    expectSuccess(await install());
    writeFileSync(local('acme.pfx.certfleet-backup'), readFileSync(local('acme.pfx')));
    rmSync(local('acme.pfx'));
    const run = expectSuccess(await install());
    expect(run.changed).toEqual([]);
    expect(certificateFiles()).toEqual(['acme.pfx']);
  });

  it('refuses a host without .NET Framework 4.7.2 before changing anything', async () => {
    const message = expectFailure(
      await install({ config: { facts: { DotNetRelease: 461308 } } }),
      'unsupported_host',
    );
    expect(message).toMatch(
      /\.NET Framework 4\.7\.2 or later is needed \(release 461808\); this host has release 461308/,
    );
    expect(certificateFiles()).toEqual([]);
    expect(readWindowsStore(root).My).toEqual({});
  });

  it('puts the key in the provider the environment names, and moves a legacy CAPI key to it', async () => {
    const leaf = thumbprintOf(demo.leafDer);
    expectSuccess(await install());
    // as protocol 1 left it: the key in the legacy CAPI provider
    const legacy = 'Microsoft Enhanced RSA and AES Cryptographic Provider';
    writeKeys(root, { [leaf]: [{ provider: legacy, readers: [...KEY_READER_SIDS] }] });
    const moved = expectSuccess(await install());
    expect(moved.keyProvider).toBe(KSP);
    expect(moved.changed).toEqual([
      `store:LocalMachine\\My:${leaf}`,
      `removed:key:${legacy}:${leaf}`,
      'acl:S-1-5-32-568',
      'acl:S-1-5-20',
    ]);
    expect(readKeys(root)[leaf]).toEqual([{ provider: KSP, readers: [...KEY_READER_SIDS] }]);

    const tpm = expectSuccess(await install({ keyProvider: 'Microsoft Platform Crypto Provider' }));
    expect(tpm.keyProvider).toBe('Microsoft Platform Crypto Provider');
  });

  it('verifies the ACL after setting it: a grant that did not take fails the install', async () => {
    const message = expectFailure(await install({ config: { aclIgnored: true } }), 'key_store_failed');
    expect(message).toMatch(/still gives no Read to S-1-5-32-568, S-1-5-20/);
  });

  it('resolves the readers an environment names to SIDs, and refuses an unknown one before changing anything', async () => {
    const accounts = { 'IIS AppPool\\Shop': 'S-1-5-82-1111', 'NT SERVICE\\Payments': 'S-1-5-80-2222' };
    const ok = expectSuccess(
      await install({
        readers: ['IIS_IUSRS', 'IIS AppPool\\Shop', 'NT SERVICE\\Payments'],
        config: { accounts },
      }),
    );
    expect(ok.changed).toContain('acl:S-1-5-82-1111');
    expect(readWindowsStore(root).My[thumbprintOf(demo.leafDer)]!.keyAcl).toEqual([
      'S-1-5-32-568',
      'S-1-5-82-1111',
      'S-1-5-80-2222',
    ]);

    rmSync(join(root, '.home'), { recursive: true, force: true });
    const message = expectFailure(
      await install({ name: 'other', readers: ['IIS AppPool\\Nope', 'IIS_IUSRS'], config: { accounts } }),
      'unknown_reader',
    );
    expect(message).toBe('this host knows no account IIS AppPool\\Nope');
    expect(readWindowsStore(root).My).toEqual({});
  });

  it('says so when PowerShell runs in Constrained Language Mode, before reading anything', async () => {
    const message = expectFailure(
      await install({ config: { languageMode: 'ConstrainedLanguage' } }),
      'constrained_language',
    );
    expect(message).toMatch(/ConstrainedLanguage .*AppLocker or WDAC/);
    // the script never ran: the uploads are the adapter's to remove
    expect(certificateFiles().filter((f) => f.startsWith('.'))).toHaveLength(1);
  });

  it('removes the superseded certificate and its key on a rotation, unless an IIS binding uses it', async () => {
    const older = makeDemoCertificates('pwsh-v1', { password: demo.password });
    const newer = makeDemoCertificates('pwsh-v2', { password: demo.password });
    const newest = makeDemoCertificates('pwsh-v3', { password: demo.password });
    const [t1, t2, t3] = [older, newer, newest].map((c) => thumbprintOf(c.leafDer));
    expectSuccess(await install({ pfx: older.pfx }));
    const rotated = expectSuccess(await install({ pfx: newer.pfx }));
    expect(rotated.changed).toContain(`removed:store:LocalMachine\\My:${t1}`);
    expect(Object.keys(readWindowsStore(root).My)).toEqual([t2]);
    expect(Object.keys(readKeys(root))).toEqual([t2]);

    const bound = expectSuccess(await install({ pfx: newest.pfx, config: { bindings: [t2!] } }));
    expect(bound.changed).not.toContain(`removed:store:LocalMachine\\My:${t2}`);
    expect(bound.kept).toEqual([`LocalMachine\\My:${t2}: still used by an IIS (HTTP.sys) binding`]);
    expect(Object.keys(readWindowsStore(root).My).sort()).toEqual([t2, t3].sort());
    expect(existsSync(local('acme.pfx'))).toBe(true);
  });

  it('keeps the previous version it is told to keep through a rotation and a rollback, and removes it at the next install', async () => {
    const older = makeDemoCertificates('pwsh-keep-v1', { password: demo.password });
    const newer = makeDemoCertificates('pwsh-keep-v2', { password: demo.password });
    const newest = makeDemoCertificates('pwsh-keep-v3', { password: demo.password });
    const [t1, t2, t3] = [older, newer, newest].map((c) => thumbprintOf(c.leafDer)) as [
      string,
      string,
      string,
    ];
    const keeping = (thumbprint: string) => (input: WindowsScriptInput) => ({ ...input, keep: [thumbprint] });
    expectSuccess(await install({ pfx: older.pfx }));

    // the rotation: the replaced certificate stays in the store, with its key
    const rotated = expectSuccess(await install({ pfx: newer.pfx, edit: keeping(t1) }));
    expect(rotated.kept).toEqual([`LocalMachine\\My:${t1}: the previous version, kept for a rollback`]);
    expect(Object.keys(readWindowsStore(root).My).sort()).toEqual([t1, t2].sort());
    expect(Object.keys(readKeys(root)).sort()).toEqual([t1, t2].sort());

    // the rollback: the previous one is already in the store, only the file changes; the newer one stays
    const rolledBack = expectSuccess(await install({ pfx: older.pfx, edit: keeping(t2) }));
    expect(rolledBack.changed).not.toContain(`store:LocalMachine\\My:${t1}`);
    expect(rolledBack.changed).toContain('file:D:\\Certificates\\acme.pfx');
    expect(rolledBack.kept).toEqual([`LocalMachine\\My:${t2}: the previous version, kept for a rollback`]);
    expect(readFileSync(local('acme.pfx')).equals(older.pfx)).toBe(true);
    expect(Object.keys(readWindowsStore(root).My).sort()).toEqual([t1, t2].sort());

    // the next install keeps the one it replaces and removes the one before
    const next = expectSuccess(await install({ pfx: newest.pfx, edit: keeping(t1) }));
    expect(next.changed).toContain(`removed:store:LocalMachine\\My:${t2}`);
    expect(Object.keys(readWindowsStore(root).My).sort()).toEqual([t1, t3].sort());
    expect(Object.keys(readKeys(root)).sort()).toEqual([t1, t3].sort());
  });
});
