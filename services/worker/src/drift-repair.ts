import type { DriftCheck, DriftFinding } from '@certfleet/contract';
import type { JobStatus } from '@certfleet/store';
import { requestRepair, type RepairOutcome } from './repair.js';
import type { WorkerDeps } from './worker-deps.js';

/** Statuses of a job that may be changing hosts right now: a drift seen meanwhile may be its work. */
export const HOST_CHANGING_STATUSES = [
  'queued',
  'running',
  // canary rollout: the canary holds the new certificate, the others the old, until it is continued
  'canary',
] as const satisfies readonly JobStatus[];

/** Jobs looked at per status when asking what is changing an environment. */
const IN_FLIGHT_SCAN = 200;

/** One certificate to repair on some front-ends, and why. */
export interface DriftRepairRequest {
  name: string;
  frontEnds: string[];
  /** The reason of a repair of some of them (those not already under repair): what the check saw there. */
  reason: (frontEnds: readonly string[]) => string;
}

/** What the drift check asked for, per certificate. */
export interface DriftRepairResult {
  name: string;
  frontEnds: string[];
  /** What the repair came to; `in_flight`: a job is changing this certificate, so nothing was asked. */
  outcome: RepairOutcome['kind'] | 'in_flight' | 'refused';
  jobId?: string;
}

/**
 * Groups a check's findings into repair requests: one per certificate, for the hosts
 * where it is `missing` or `different` (an `unreachable` host is not known to be
 * wrong). Certificates named in `inFlight` are left out, with the job that changes
 * them: during a rotation the hosts already done differ from the registry by design.
 */
export function driftRepairs(
  checkId: string,
  findings: readonly DriftFinding[],
  inFlight: ReadonlyMap<string, string>,
): { requests: DriftRepairRequest[]; leftAlone: { name: string; frontEnds: string[]; jobId: string }[] } {
  const byName = new Map<string, DriftFinding[]>();
  for (const f of findings) {
    if (f.state !== 'missing' && f.state !== 'different') continue;
    byName.set(f.name, [...(byName.get(f.name) ?? []), f]);
  }
  const requests: DriftRepairRequest[] = [];
  const leftAlone: { name: string; frontEnds: string[]; jobId: string }[] = [];
  for (const [name, found] of byName) {
    const frontEnds = [...new Set(found.map((f) => f.frontEnd))];
    const busy = inFlight.get(name);
    if (busy !== undefined) {
      leftAlone.push({ name, frontEnds, jobId: busy });
      continue;
    }
    const reason = (only: readonly string[]): string => {
      const parts = (['missing', 'different'] as const)
        .map((state) => [state, found.filter((f) => f.state === state && only.includes(f.frontEnd))] as const)
        .filter(([, hosts]) => hosts.length > 0)
        .map(([state, hosts]) => `${state} on ${hosts.map((f) => f.frontEnd).join(', ')}`);
      return `drift check ${checkId}: ${parts.join('; ')}`;
    };
    requests.push({ name, frontEnds, reason });
  }
  return { requests, leftAlone };
}

/** Certificate name → a job that may be changing it on the environment's hosts now. */
async function certificatesInFlight(deps: WorkerDeps, environment: string): Promise<Map<string, string>> {
  const busy = new Map<string, string>();
  for (const status of HOST_CHANGING_STATUSES) {
    const { items } = await deps.store.jobs.list({ status, limit: IN_FLIGHT_SCAN });
    for (const job of items) {
      if (job.environments.includes(environment) && !busy.has(job.name)) busy.set(job.name, job.id);
    }
  }
  return busy;
}

/**
 * The drift check's hook: asks for a repair of every certificate found missing or
 * different, under the environment's `repair` policy (queued at once with `auto`,
 * waiting for an approver with `approve`), exactly as reconcile does for a new
 * front-end. Nothing is asked while a job is changing that certificate there.
 */
export async function repairDrift(
  deps: WorkerDeps,
  check: DriftCheck,
  findings: readonly DriftFinding[],
): Promise<DriftRepairResult[]> {
  const environment = check.environment;
  const { requests, leftAlone } = driftRepairs(
    check.id,
    findings,
    await certificatesInFlight(deps, environment),
  );
  const results: DriftRepairResult[] = leftAlone.map(({ name, frontEnds, jobId }) => {
    deps.logger.info(
      { environment, name, frontEnds, jobId },
      'drift left alone: a job is changing this certificate',
    );
    return { name, frontEnds, outcome: 'in_flight', jobId };
  });
  for (const r of requests) {
    try {
      const outcome = await requestRepair(deps, environment, r.name, r.frontEnds, r.reason);
      results.push({
        name: r.name,
        frontEnds: r.frontEnds,
        outcome: outcome.kind,
        ...(outcome.kind === 'created' ? { jobId: outcome.job.id } : {}),
      });
    } catch (err) {
      // a certificate that cannot be repaired (removed from the registry meanwhile) does not hold up the others
      deps.logger.error({ environment, name: r.name, err: (err as Error).message }, 'drift repair refused');
      results.push({ name: r.name, frontEnds: r.frontEnds, outcome: 'refused' });
    }
  }
  return results;
}
