import { findEnvironment, retainsSecrets } from '@certfleet/inventory';
import type { EnvCertificate, JobRecord, TargetRecord } from '@certfleet/store';
import { now, type WorkerDeps } from './worker-deps.js';

/**
 * What a finished job leaves for reconcile in one environment: the front-ends it
 * installed on and, where the environment retains secrets, the certificate's sealed
 * PFX, password and CA files (copied from the job's secret before that is deleted).
 * When the job replaced another certificate under the name (`current`, the registry's
 * entry before this job: a rotation or a rollback), the secret kept for that one becomes
 * the previous version, which a rollback installs.
 */
export async function keepForRepairs(
  deps: WorkerDeps,
  record: JobRecord,
  env: string,
  installed: readonly TargetRecord[],
  current: EnvCertificate | undefined,
): Promise<void> {
  await deps.store.installedHosts.record(
    env,
    installed.map((t) => ({
      name: record.name,
      frontEnd: t.frontEnd,
      host: t.host,
      port: t.port,
      fingerprintSha256: record.certificate.fingerprintSha256,
      jobId: record.id,
      installedAt: t.finishedAt ?? now(),
      goneAt: null,
    })),
  );
  const frontEnds = installed.map((t) => t.frontEnd);
  await deps.store.repairs.clearNeeded(env, record.name, frontEnds);
  await deps.store.repairs.clear(env, record.name, frontEnds);
  // a repair job's secret came from the retained one: nothing new to keep
  if (record.source === 'reconcile') return;
  const environment = findEnvironment(deps.inventory(), env);
  if (!retainsSecrets(environment, deps.config.retainSecrets)) {
    await deps.store.retained.delete(env, record.name);
    return;
  }
  const secret = await deps.store.secrets.open(record.id);
  if (!secret) return;
  const replaces =
    current !== undefined && current.fingerprintSha256 !== record.certificate.fingerprintSha256;
  await deps.store.retained.put(
    env,
    record.name,
    secret,
    record.certificate.notAfter,
    replaces ? { notAfter: current.notAfter } : undefined,
  );
}
