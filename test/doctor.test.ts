/**
 * `fleetctl doctor` and the API route behind it, against a real sshd (Linux, shell-free
 * over SFTP) and in-process Windows hosts that run the script's doctor action with the
 * real PowerShell. Nothing on any host changes.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type TextInput } from '@certfleet/cli';
import { diagnoseFrontEnd } from '@certfleet/ssh';
import { readFile } from 'node:fs/promises';
import {
  fleetEnvironments,
  startStack,
  type Stack,
  startInProcessHost,
  type InProcessHost,
  startFleet,
  type Fleet,
} from '@certfleet/test-kit';

interface Check {
  check: string;
  ok: boolean;
  detail: string;
}
interface Host {
  frontEnd: string;
  ok: boolean;
  checks: Check[];
}

let fleet: Fleet;
let windows: InProcessHost[];
let stack: Stack;

const READERS = ['IIS_IUSRS', 'IIS AppPool\\Shop'];

beforeAll(async () => {
  fleet = await startFleet({ count: 1 });
  windows = await Promise.all(
    [1, 2].map((i) =>
      startInProcessHost({
        flavour: 'windows',
        clientPublicKey: fleet.clientPublicKey,
        address: `127.0.32.${i}`,
      }),
    ),
  );
  windows[0]!.configure({
    accounts: { 'IIS AppPool\\Shop': 'S-1-5-82-1111' },
    facts: { ModuleLogging: true },
  });
  // the second: .NET 4.7.1, and no application pool Shop
  windows[1]!.configure({ facts: { DotNetRelease: 461308 } });
  const hosts = windows.map((h, i) => ({
    name: `fe-${i + 1}`,
    address: h.address,
    port: h.port,
    hostKeyLine: h.hostKeyLine,
  }));
  stack = await startStack({
    environments: [
      ...fleetEnvironments(fleet, { 'lnx-stg': 1 }),
      {
        name: 'win-ok',
        platform: 'windows',
        installDir: 'D:\\Certificates',
        windows: { keyReaders: READERS },
        hosts: [hosts[0]!],
      },
      {
        name: 'win-stg',
        platform: 'windows',
        installDir: 'D:\\Certificates',
        windows: { keyReaders: READERS },
        hosts,
      },
    ],
    username: fleet.username,
    privateKeyPath: fleet.clientKeyPath,
  });
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all((windows ?? []).map((h) => h.stop()));
  await fleet?.stop();
});

function byCheck(host: Host): Record<string, Check[]> {
  const out: Record<string, Check[]> = {};
  for (const c of host.checks) (out[c.check] ??= []).push(c);
  return out;
}

async function fleetctl(
  args: string[],
  principal = 'bob',
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: new PassThrough() as unknown as TextInput,
    env: { CERTFLEET_URL: stack.url, CERTFLEET_TOKEN: stack.tokens[principal]! },
    isTTY: false,
  });
  return { code, stdout, stderr };
}

describe('doctor on a Linux environment (real sshd, SFTP only)', () => {
  it('reports pin, login, a writable install directory, free space and clock skew, and leaves nothing behind', async () => {
    const before = readdirSync(fleet.hosts[0]!.dir);
    const { status, body } = await stack.request('bob', 'POST', '/v1/environments/lnx-stg/doctor');
    expect(status).toBe(200);
    expect(body.ok).toBe(true);
    const host = body.hosts[0] as Host;
    expect(host.checks.map((c) => c.check)).toEqual([
      'host_key',
      'login',
      'install_dir',
      'clock_skew',
      'free_space',
    ]);
    expect(host.checks.every((c) => c.ok)).toBe(true);
    expect(byCheck(host)['clock_skew']![0]!.detail).toMatch(/^[+-][0-2] s against certfleet's clock$/);
    expect(byCheck(host)['free_space']![0]!.detail).toMatch(/^\d+ MiB free$/);
    expect(readdirSync(fleet.hosts[0]!.dir)).toEqual(before);
    // sshd's log: one SFTP session, no command
    const log = await readFile(fleet.hosts[0]!.logFile, 'utf8');
    expect(log).not.toMatch(/Starting session: command/);
  });

  it('fails the host key check, and only that, for a host whose key is not the pin', async () => {
    const h = fleet.hosts[0]!;
    const report = await diagnoseFrontEnd(
      {
        host: h.address,
        port: h.port,
        username: fleet.username,
        privateKey: await readFile(fleet.clientKeyPath),
        hostKey: windows[0]!.hostKeyLine,
      },
      { platform: 'linux', installDir: fleet.installDir },
    );
    expect(report.ok).toBe(false);
    expect(report.checks.map((c) => [c.check, c.ok])).toEqual([['host_key', false]]);
  });
});

describe('doctor on a Windows environment (in-process hosts, the real PowerShell)', () => {
  it('reports PowerShell, .NET, language mode, FIPS, Module Logging, DefaultShell and each reader per host', async () => {
    const { status, body } = await stack.request('bob', 'POST', '/v1/environments/win-stg/doctor');
    expect(status).toBe(200);
    expect(body.ok).toBe(false);
    const [good, bad] = body.hosts as Host[];
    expect(good!.ok).toBe(true);
    const g = byCheck(good!);
    expect(Object.keys(g)).toEqual([
      'host_key',
      'login',
      'install_dir',
      'clock_skew',
      'free_space',
      'powershell',
      'dotnet',
      'language_mode',
      'fips',
      'module_logging',
      'default_shell',
      'reader',
    ]);
    expect(g['dotnet']![0]!.detail).toBe('.NET Framework 4.8 (release 528040)');
    expect(g['language_mode']![0]!.detail).toBe('FullLanguage');
    expect(g['module_logging']![0]!.detail).toMatch(/^on /);
    expect(g['default_shell']![0]!.detail).toMatch(/cmd\.exe/);
    expect(g['reader']!.map((c) => c.detail)).toEqual([
      'IIS_IUSRS = S-1-5-32-568',
      'IIS AppPool\\Shop = S-1-5-82-1111',
    ]);

    expect(bad!.ok).toBe(false);
    const failed = bad!.checks.filter((c) => !c.ok).map((c) => [c.check, c.detail]);
    expect(failed).toEqual([
      ['dotnet', '.NET Framework 4.7.1 (release 461308)'],
      ['reader', 'IIS AppPool\\Shop does not resolve on this host'],
    ]);
    // nothing was installed or left behind
    for (const h of windows) {
      expect(h.readStore().My).toEqual({});
      expect(readdirSync(join(h.root, 'D'))).toEqual([]);
    }
  });

  it('says so when PowerShell runs in Constrained Language Mode', async () => {
    windows[0]!.configure({ languageMode: 'ConstrainedLanguage' });
    try {
      const { body } = await stack.request('bob', 'POST', '/v1/environments/win-ok/doctor');
      const checks = (body.hosts[0] as Host).checks;
      expect(checks.filter((c) => !c.ok).map((c) => c.check)).toEqual(['language_mode']);
      expect(checks.find((c) => c.check === 'language_mode')!.detail).toMatch(/ConstrainedLanguage/);
    } finally {
      windows[0]!.configure({ accounts: { 'IIS AppPool\\Shop': 'S-1-5-82-1111' } });
    }
  });
});

describe('fleetctl doctor and its route', () => {
  it('prints one table and exits 0 when every check passed, 5 when one failed', async () => {
    const ok = await fleetctl(['doctor', 'win-ok']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^FRONT-END\s+CHECK\s+RESULT\s+DETAIL\n/);
    expect(ok.stdout).toContain('win-ok: every front-end is ready (1)');

    const failing = await fleetctl(['doctor', 'win-stg']);
    expect(failing.code).toBe(5);
    expect(failing.stdout).toMatch(/fe-2 \(127\.0\.32\.2:\d+\)\s+dotnet\s+FAIL/);
    expect(failing.stdout).toContain('win-stg: 1 of 2 front-ends need attention: fe-2');
  });

  it('is for approvers and admins, and answers unknown environments in the error shape', async () => {
    const operator = await stack.request('ticket-bot', 'POST', '/v1/environments/win-ok/doctor');
    expect(operator.status).toBe(403);
    expect(operator.body).toEqual({ error: 'forbidden', message: expect.any(String) });
    expect((await stack.request(null, 'POST', '/v1/environments/win-ok/doctor')).status).toBe(401);
    expect((await stack.request('carol', 'POST', '/v1/environments/win-ok/doctor')).status).toBe(200);
    const unknown = await stack.request('bob', 'POST', '/v1/environments/nope/doctor');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: 'not_found', message: "no environment 'nope' in the inventory" });
  });
});
