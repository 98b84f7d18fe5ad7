import type { JobRecord, JobStatus, TargetRecord } from '@certfleet/store';
import type { WorkerDeps } from './worker-deps.js';

/**
 * What an uninstall leaves when it ends (README: Uninstall). Completed: the certificate is
 * forgotten in its environment (registry entry, retained secret, installed-hosts records,
 * repair claims and notes) and the uninstall's hold is released, so a second uninstall is
 * a 404. Ended with failures: everything is kept, the hold too, so reconcile repairs
 * nothing of it and a retry of the job finishes the remaining hosts.
 */
export async function forgetUninstalled(
  deps: WorkerDeps,
  record: JobRecord,
  status: JobStatus,
  targets: readonly TargetRecord[],
): Promise<void> {
  if (status !== 'completed') return;
  for (const env of record.environments) {
    const held = (await deps.store.installedHosts.list(env)).filter((i) => i.name === record.name);
    const frontEnds = [
      ...new Set([
        ...targets.filter((t) => t.environment === env).map((t) => t.frontEnd),
        ...held.map((i) => i.frontEnd),
      ]),
    ];
    await deps.store.registry.delete(env, record.name);
    await deps.store.retained.delete(env, record.name);
    await deps.store.installedHosts.forget(env, record.name);
    await deps.store.repairs.clear(env, record.name, frontEnds);
    await deps.store.repairs.clearNeeded(env, record.name, frontEnds);
    await deps.store.uninstalls.release(env, record.name, record.id);
    await deps.store.audit.append({
      actor: 'worker',
      action: 'certificate.removed',
      jobId: record.id,
      detail: {
        environment: env,
        name: record.name,
        fingerprintSha256: record.certificate.fingerprintSha256,
      },
    });
  }
}
