import type { CanaryPlan, Rollout, Target } from '@certfleet/contract';
import { findEnvironment, type Inventory } from './index.js';

/**
 * A job's canary plan (README: Canary rollout): every environment whose rollout is
 * `canary` (the job's `rollout` when given, else the environment's, else `all`) gets
 * one canary, its first front-end in inventory order among the job's targets. The job
 * continues by itself only when every canary environment says `canary.continue: auto`.
 * Undefined when no environment of the job goes canary first.
 */
export function planCanary(
  inventory: Inventory,
  targets: readonly Pick<Target, 'id' | 'environment'>[],
  requested: Rollout | undefined,
): CanaryPlan | undefined {
  const canaries: string[] = [];
  let auto = true;
  for (const envName of new Set(targets.map((t) => t.environment))) {
    const env = findEnvironment(inventory, envName);
    if ((requested ?? env?.rollout ?? 'all') !== 'canary') continue;
    const first = targets.find((t) => t.environment === envName);
    if (!first) continue;
    canaries.push(first.id);
    if (env?.canary?.continue !== 'auto') auto = false;
  }
  if (canaries.length === 0) return undefined;
  return { targets: canaries, continue: auto ? 'auto' : 'approve', round: 1, continuedBy: null };
}
