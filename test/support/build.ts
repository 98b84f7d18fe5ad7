/**
 * The integration tests' global set-up: `npm run build`, so that the tests of compiled
 * output (fleetctl, `node services/<name>/dist/main.js`) run what the source says now. tsc's
 * build mode only recompiles what changed since the last build.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** Builds every workspace to its dist/ (vitest calls this once before the integration tests). */
export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build'], {
    cwd: path.resolve(import.meta.dirname, '..', '..'),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
