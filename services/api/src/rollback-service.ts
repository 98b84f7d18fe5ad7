import { createHash } from 'node:crypto';
import { findEnvironment, planInstall, retainsSecrets } from '@certfleet/inventory';
import {
  claimForJob,
  isFinalStatus,
  jobIdAgeMs,
  newJobId,
  pendingJobRecord,
  releaseForJob,
  type EnvCertificate,
  type Job,
  type JobRecord,
  type PreviousEnvCertificate,
  type SecretBundle,
} from '@certfleet/store';
import { conflict, notFound } from './errors.js';
import type { JobsDeps } from './jobs-service.js';

/** How long a rollback claim whose job record does not exist yet counts as being created. */
const CLAIM_GRACE_MS = 60_000;

function short(fingerprint: string): string {
  return `${fingerprint.slice(0, 16)}…`;
}

/** What a rollback installs: the previous version's install record and its retained secret. */
interface PreviousVersion {
  entry: PreviousEnvCertificate;
  install: JobRecord;
  secret: SecretBundle;
}

/** The previous version of a certificate, or 409 no_previous_version saying why there is none to go back to. */
async function previousVersion(
  deps: JobsDeps,
  env: string,
  name: string,
  current: EnvCertificate,
): Promise<PreviousVersion> {
  const refuse = (why: string): never => {
    throw conflict('no_previous_version', `${name} in ${env} cannot be rolled back: ${why}`);
  };
  const entry = current.previous;
  if (!entry) return refuse('no previous version is kept (it was never rotated since certfleet keeps one)');
  if (!retainsSecrets(findEnvironment(deps.inventory(), env), deps.config.retainSecrets)) {
    return refuse(
      `${env} keeps no certificate secrets (retain: false); submit the previous certificate again with replace: true`,
    );
  }
  const install = await deps.store.jobs.getRecord(entry.jobId);
  if (!install || install.certificate.fingerprintSha256 !== entry.fingerprintSha256) {
    return refuse(`the record of job ${entry.jobId} that installed the previous version is gone`);
  }
  const secret = await deps.store.retained.open(env, name, 'previous');
  const pfxSha256 = secret ? createHash('sha256').update(secret.pfx).digest('hex') : undefined;
  if (!secret || pfxSha256 !== install.pfxSha256) {
    return refuse(
      `no secret of the previous version (${short(entry.fingerprintSha256)}) is kept (it expired, or it was ` +
        'installed before certfleet kept previous versions); submit it again with replace: true',
    );
  }
  return { entry, install, secret };
}

/**
 * `POST /v1/environments/:env/certificates/:name/rollback`: a job (`action: rollback`,
 * pending approval, approved like any other) that installs the previous version of a
 * certificate on every front-end of the environment from its retained secret. At most
 * one is open per certificate (409 rollback_open).
 */
export async function requestRollback(
  deps: JobsDeps,
  operator: string,
  env: string,
  name: string,
): Promise<Job> {
  const inventory = deps.inventory();
  if (!findEnvironment(inventory, env)) throw notFound(`no environment ${env} in the inventory`);
  const current = await deps.store.registry.get(env, name);
  if (!current) throw notFound(`${env} holds no certificate named ${name}`);
  const { entry, install, secret } = await previousVersion(deps, env, name, current);

  const id = newJobId();
  // at most one open rollback per certificate, across API instances; an ended one's claim is taken over
  const claim = deps.store.keys.rollbackClaim(env, name);
  const holder = await claimForJob(deps.store.redis, claim, id, async (held) => {
    const record = await deps.store.jobs.getRecord(held);
    return record ? !isFinalStatus(record.status) : jobIdAgeMs(held) < CLAIM_GRACE_MS;
  });
  if (holder !== undefined) {
    throw conflict(
      'rollback_open',
      `a rollback of ${name} in ${env} is already open (job ${holder}); approve, reject or wait for it`,
    );
  }
  try {
    const plan = planInstall(inventory, [env], name, entry.fingerprintSha256, install.pfxSha256);
    const reason =
      `rollback of ${name} in ${env} to ${short(entry.fingerprintSha256)} (installed by job ${entry.jobId}), ` +
      `replacing ${short(current.fingerprintSha256)} (job ${current.jobId})`;
    const record = pendingJobRecord({
      id,
      ticket: current.ticket ?? install.ticket,
      name,
      environments: [env],
      source: 'api',
      action: 'rollback',
      reason,
      submittedBy: operator,
      planHash: plan.hash,
      replace: true,
      certificate: install.certificate,
      paths: plan.paths,
      notify: {},
      pfxSha256: install.pfxSha256,
    });
    const job = await deps.store.createJob(record, plan.targets, secret, deps.config.secretTtlMs);
    await deps.store.audit.submitted(record, {
      from: current.fingerprintSha256,
      to: entry.fingerprintSha256,
      reason,
    });
    return job;
  } catch (err) {
    await releaseForJob(deps.store.redis, claim, id);
    throw err;
  }
}
