import { findEnvironment, planInstall, type Inventory, type Plan } from '@certfleet/inventory';
import { unprocessable } from './errors.js';

export type { Plan } from '@certfleet/inventory';

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

/** One target per environment × front-end (or only the `only` target ids), each with its path. */
export function computePlan(
  inventory: Inventory,
  environments: readonly string[],
  name: string,
  fingerprintSha256: string,
  pfxSha256: string,
  only?: ReadonlySet<string>,
): Plan {
  assertKnownEnvironments(inventory, environments);
  return planInstall(inventory, environments, name, fingerprintSha256, pfxSha256, only);
}
