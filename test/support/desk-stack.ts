/**
 * certfleet for a help desk suite: an adapters file with the suite's instances, and the
 * stack (real Redis, BullMQ, sshd front-ends) of one `acme-prd` environment over the
 * fleet's two hosts.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fleetEnvironments, startStack, type Fleet, type Stack } from '@certfleet/test-kit';
import type { LogCapture } from './log-capture.js';

export async function startDeskStack(
  fleet: Fleet,
  logs: LogCapture,
  /** The `instances:` entries, as YAML lines. */
  instances: string[],
  options: { env?: Record<string, string>; clock?: () => Date } = {},
): Promise<Stack> {
  const adaptersPath = path.join(fleet.baseDir, 'adapters.yaml');
  await writeFile(adaptersPath, ['instances:', ...instances, ''].join('\n'));
  return startStack({
    environments: fleetEnvironments(fleet, { 'acme-prd': 2 }),
    username: fleet.username,
    privateKeyPath: fleet.clientKeyPath,
    logger: logs.logger,
    ...(options.clock ? { clock: options.clock } : {}),
    env: { FLEET_ADAPTERS: adaptersPath, LOG_LEVEL: 'debug', ...options.env },
  });
}
