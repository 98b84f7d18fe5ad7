import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Workspace imports resolve to src/ (the packages' "source" export), not to the compiled dist/.
const conditions = ['source', ...defaultServerConditions];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    projects: [
      {
        // extends: the root's resolve conditions, so workspaces resolve to src/ without a build
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/**/src/**/*.test.ts', 'services/**/src/**/*.test.ts'],
          // a guard against hangs, not a speed check: the property tests (fast-check, PKCS#12 key
          // derivations) take seconds each and several times longer on a loaded 2-core machine
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // fleetctl and the compiled services run from dist/: build it first
          globalSetup: ['test/support/build.ts'],
          // real sshd, Redis and HTTP peers: one file at a time keeps 2 cores honest
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
