import type { JobRun } from '@certfleet/jobs';
import { isFinalStatus } from '@certfleet/store';
import { compareEnvironment, type CertificateState } from './reconcile-compare.js';
import { requestRepair, type RepairOutcome } from './repair.js';
import { now, type WorkerDeps } from './worker-deps.js';

/** What one reconcile run did, per environment and certificate. */
export interface ReconcileResult {
  environment: string;
  name: string;
  frontEnds: string[];
  reason: string;
  outcome: RepairOutcome['kind'];
  jobId?: string;
}

/**
 * Compares every environment's front-ends with the certificates in its registry and
 * where each was installed; a front-end that lacks a current one gets a repair job.
 * Records of front-ends that left the inventory are kept, marked gone (`goneAt`).
 * Secrets retained under a previous master key are sealed again under the current one.
 */
export async function reconcileAll(deps: WorkerDeps): Promise<ReconcileResult[]> {
  const resealed = await deps.store.retained.resealAll();
  const results: ReconcileResult[] = [];
  for (const env of deps.inventory().environments) {
    const certificates: CertificateState[] = [];
    for (const entry of await deps.store.registry.list(env.name)) {
      const install = await deps.store.jobs.get(entry.jobId);
      certificates.push({
        entry,
        installTargets: install?.targets.filter((t) => t.environment === env.name) ?? [],
        installing: install !== undefined && !isFinalStatus(install.status),
      });
    }
    const ledger = await deps.store.installedHosts.list(env.name);
    const { missing, gone } = compareEnvironment(
      env.frontEnds.map((fe) => fe.name),
      certificates,
      ledger,
      Date.now(),
    );
    if (gone.length > 0) {
      await deps.store.installedHosts.markGone(env.name, gone, now());
      deps.logger.info(
        { environment: env.name, frontEnds: [...new Set(gone.map((g) => g.frontEnd))] },
        'front-ends gone from the inventory: their records are kept, marked gone',
      );
    }
    for (const m of missing) {
      const reason = m.reasons.join('; ');
      let outcome: RepairOutcome;
      try {
        outcome = await requestRepair(deps, env.name, m.name, m.frontEnds, reason);
      } catch (err) {
        // one certificate that cannot be repaired does not hold up the others
        deps.logger.error(
          { environment: env.name, name: m.name, err: (err as Error).message },
          'repair refused',
        );
        continue;
      }
      results.push({
        environment: env.name,
        name: m.name,
        frontEnds: m.frontEnds,
        reason,
        outcome: outcome.kind,
        ...(outcome.kind === 'created' ? { jobId: outcome.job.id } : {}),
      });
    }
  }
  deps.logger.info({ repairs: results.length, resealed }, 'reconcile done');
  return results;
}

/** The `reconcile` job's handler. */
export async function processReconcile(
  deps: WorkerDeps,
  { payload }: JobRun<'reconcile'>,
): Promise<{ results: ReconcileResult[] }> {
  deps.logger.debug({ trigger: payload.trigger }, 'reconcile');
  return { results: await reconcileAll(deps) };
}
