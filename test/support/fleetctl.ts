/** The real fleetctl executable against a running stack, as an operator runs it. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './processes.js';

const BIN = path.join(REPO_ROOT, 'packages/cli/bin/fleetctl.js');

/** What one fleetctl run printed and its exit code. */
export interface FleetctlRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `fleetctl <args>` against `url` with `token` (CERTFLEET_URL, CERTFLEET_TOKEN), stdin closed. */
export function runFleetctl(url: string, token: string, args: readonly string[]): Promise<FleetctlRun> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, CERTFLEET_URL: url, CERTFLEET_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
