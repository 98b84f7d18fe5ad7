import type { Logger } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runMain } from './run-main.js';
import { StartError } from './start-error.js';

class Exited extends Error {}

/** Runs `runMain` with a start that throws `thrown`; answers what reached stderr and the log. */
async function failedStart(thrown: unknown): Promise<{ stderr: string; logged: unknown[][] }> {
  vi.stubEnv('LOG_LEVEL', 'silent');
  vi.stubEnv('FLEET_PREFIX', 'run-main-test');
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  const exit = vi.spyOn(process, 'exit').mockImplementation(() => {
    throw new Exited();
  });
  const logged: unknown[][] = [];
  await expect(
    runMain(
      'worker',
      (_config, logger: Logger) => {
        vi.spyOn(logger, 'error').mockImplementation((...args: unknown[]) => {
          logged.push(args);
        });
        return Promise.reject(thrown);
      },
      { requireMasterKey: false },
    ),
  ).rejects.toBeInstanceOf(Exited);
  expect(exit).toHaveBeenCalledWith(1);
  return { stderr, logged };
}

describe('runMain', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('prints a start-up refusal as one line and logs nothing', async () => {
    const { stderr, logged } = await failedStart(new StartError('inventory_invalid', 'inventory.yaml: bad'));
    expect(stderr).toBe('certfleet worker: inventory.yaml: bad\n');
    expect(logged).toEqual([]);
  });

  it('prints a TypeError at start with its stack and logs it', async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'host')");
    const { stderr, logged } = await failedStart(bug);
    expect(stderr.startsWith(`certfleet worker: ${bug.stack ?? ''}`)).toBe(true);
    expect(stderr.split('\n').length).toBeGreaterThan(2);
    expect(logged).toEqual([[{ err: bug }, 'start failed']]);
  });
});
