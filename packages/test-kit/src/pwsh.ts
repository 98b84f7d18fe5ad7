/**
 * PowerShell 7 (`pwsh`) as a child process: the engine that runs certfleet's Windows
 * scripts in the tests. `.ci/run` installs it (`dotnet tool install --global PowerShell`);
 * without it the tests that need it fail with a message saying so.
 *
 * No test-framework imports: the in-process host (and so the demo) uses it too.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Where pwsh is: $PWSH, then PATH, then the .NET global tool folder. */
export function findPwsh(): string {
  const candidates = [
    process.env['PWSH'],
    ...(process.env['PATH'] ?? '').split(delimiter).map((dir) => (dir ? join(dir, 'pwsh') : undefined)),
    join(homedir(), '.dotnet', 'tools', 'pwsh'),
  ];
  const found = candidates.find((c): c is string => c !== undefined && existsSync(c));
  if (found === undefined) {
    throw new Error(
      'pwsh (PowerShell 7) is not installed, and the Windows install script is tested with it: run ' +
        '`dotnet tool install --global PowerShell --version 7.6.9` and put ~/.dotnet/tools on PATH ' +
        '(.ci/run does both), or set PWSH to its path.',
    );
  }
  return found;
}

/** How a pwsh run ended. */
export interface PwshResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of `runPwsh`. */
export interface PwshOptions {
  stdin?: string | Buffer;
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

/** Runs `pwsh -NoProfile -NonInteractive <args>` and collects its output. */
export function runPwsh(args: string[], options: PwshOptions = {}): Promise<PwshResult> {
  const child = spawn(findPwsh(), ['-NoProfile', '-NonInteractive', ...args], {
    env: {
      ...process.env,
      POWERSHELL_TELEMETRY_OPTOUT: '1',
      POWERSHELL_UPDATECHECK: 'Off',
      DOTNET_CLI_TELEMETRY_OPTOUT: '1',
      ...options.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.stdin ?? '');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });
}

/** Stands in for powershell.exe: the prelude, then the -EncodedCommand as given. */
export const WINDOWS_POWERSHELL = new URL('./windows-powershell.ps1', import.meta.url).pathname;

/** The environment of a PowerShell on an emulated Windows host folder. */
export function windowsHostEnv(hostRoot: string): Record<string, string> {
  return { HOME: join(hostRoot, '.home'), CERTFLEET_WINDOWS_HOST: hostRoot };
}

/**
 * Runs powershell.exe's arguments (`-NoProfile -NonInteractive … -EncodedCommand <b64>`) on
 * an emulated Windows host folder: the test prelude first, then the bootstrap that
 * PowerShell itself decodes from the base64, with `stdin` as sent.
 */
export function runWindowsPowerShell(
  args: string[],
  stdin: string | Buffer,
  hostRoot: string,
): Promise<PwshResult> {
  return runPwsh(['-File', WINDOWS_POWERSHELL, ...args], { stdin, env: windowsHostEnv(hostRoot) });
}
