/**
 * `npm run demo` is the README's first command: run it for real, both with real
 * sshd front-ends (CI runs as root) and with the in-process fallback.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SOURCE_NODE_ARGS } from './support/processes.js';

const run = promisify(execFile);

async function demo(hosts: 'sshd' | 'inprocess'): Promise<string> {
  const { stdout } = await run(process.execPath, [...SOURCE_NODE_ARGS, 'deploy/demo/demo.ts'], {
    env: { ...process.env, CERTFLEET_DEMO_HOSTS: hosts, LOG_LEVEL: 'silent' },
    timeout: 120_000,
  });
  return stdout;
}

describe('npm run demo', () => {
  it.each(['sshd', 'inprocess'] as const)('installs on every %s front-end and exits 0', async (hosts) => {
    const out = await demo(hosts);
    expect(out).toContain(hosts === 'sshd' ? '4 real sshd processes' : '4 in-process SSH servers');
    expect(out).toMatch(/alice tries to approve her own job: 409 self_approval/);
    expect(out).toMatch(/Job \S+: completed/);
    expect(out).toMatch(/acme-prd: \/srv\/fleet-certs\/demo-payments-client\.pfx/);
    expect(out).toMatch(/Notification received: job\.finished/);
    expect(out.match(/ ok, ca1\.cer \d+ bytes/g)).toHaveLength(4);
    expect(out).toContain('Demo complete');
  });
});
