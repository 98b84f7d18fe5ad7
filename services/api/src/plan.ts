import { findEnvironment, type Inventory } from '@certfleet/inventory';
import { unprocessable } from './errors.js';

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
