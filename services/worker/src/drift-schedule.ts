import type { Inventory } from '@certfleet/inventory';
import { driftSchedulerId, JobName, type FleetQueues } from '@certfleet/jobs';

/**
 * One drift-check schedule per environment of the inventory, every `intervalMs`; the
 * schedules of environments no longer in it are removed. Every worker calls it at start
 * and after each inventory reload: upserting the same schedule again is a no-op.
 */
export async function scheduleDriftChecks(
  queues: FleetQueues,
  inventory: Inventory,
  intervalMs: number,
): Promise<void> {
  const wanted = new Set(inventory.environments.map((e) => driftSchedulerId(e.name)));
  for (const env of inventory.environments) {
    await queues.schedule(JobName.DriftCheck, driftSchedulerId(env.name), intervalMs, {
      environment: env.name,
    });
  }
  for (const id of await queues.schedulerIds(JobName.DriftCheck)) {
    if (!wanted.has(id)) await queues.unschedule(JobName.DriftCheck, id);
  }
}
