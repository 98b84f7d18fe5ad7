import { createHash } from 'node:crypto';
import { findEnvironment, type Inventory } from '@certfleet/inventory';
import { installPath } from '@certfleet/ssh';
import type { TargetRecord } from '@certfleet/store';
import { unprocessable } from './errors.js';

export interface Plan {
  targets: TargetRecord[];
  paths: Record<string, string>;
  /** Binds an approval to exactly this certificate, these hosts, host keys and paths. */
  hash: string;
}

/** Refuses environments the inventory does not hold (422 unknown_environment, listing the known ones). */
export function assertKnownEnvironments(inventory: Inventory, environments: readonly string[]): void {
  const unknown = environments.filter((e) => !findEnvironment(inventory, e));
  if (unknown.length > 0) {
    const known = inventory.environments.map((e) => e.name).join(', ') || '(none)';
    throw unprocessable(
      'unknown_environment',
      `unknown environment ${unknown.map((u) => `'${u}'`).join(', ')}; known: ${known}`,
    );
  }
}

/** One target per environment × front-end, each with the path the customer is told. */
export function computePlan(
  inventory: Inventory,
  environments: readonly string[],
  name: string,
  fingerprintSha256: string,
  pfxSha256: string,
): Plan {
  assertKnownEnvironments(inventory, environments);
  const targets: TargetRecord[] = [];
  const paths: Record<string, string> = {};
  const pins: string[] = [];
  for (const envName of environments) {
    const env = findEnvironment(inventory, envName)!;
    const path = installPath(env.platform, env.installDir, name);
    paths[env.name] = path;
    for (const fe of env.frontEnds) {
      targets.push({
        id: `${env.name}/${fe.name}`,
        environment: env.name,
        frontEnd: fe.name,
        host: fe.host,
        port: fe.port,
        status: 'pending',
        path,
        sha256: null,
        unchanged: false,
        attempts: 0,
        error: null,
        finishedAt: null,
        round: 1,
      });
      pins.push(`${env.name}/${fe.name}|${env.platform}|${fe.host}|${fe.port}|${fe.hostKey}|${path}`);
    }
  }
  const hash = createHash('sha256')
    .update(JSON.stringify({ fingerprintSha256, pfxSha256, name, targets: pins }))
    .digest('hex');
  return { targets, paths, hash };
}
