import { findEnvironment, planUninstall } from '@certfleet/inventory';
import { newJobId, pendingJobRecord, type EnvCertificate, type Job, type JobRecord } from '@certfleet/store';
import type { CertificateSummary } from '@certfleet/contract';
import { conflict, notFound } from './errors.js';
import type { JobsDeps } from './jobs-service.js';

/** The ticket of an uninstall: the install's, else this. */
const UNINSTALL_TICKET = 'uninstall';

/** The certificate as the job shows it: the install's summary, or what the registry knows. */
async function summaryOf(deps: JobsDeps, entry: EnvCertificate): Promise<CertificateSummary> {
  const install = await deps.store.jobs.getRecord(entry.jobId);
  if (install && install.certificate.fingerprintSha256 === entry.fingerprintSha256)
    return install.certificate;
  return {
    subject: entry.subject,
    issuer: '',
    serialNumber: '',
    fingerprintSha256: entry.fingerprintSha256,
    notBefore: entry.installedAt,
    notAfter: entry.notAfter,
    pfxEncryption: { key: 'none', certificates: 'none', mac: 'none', iterations: 0 },
    normalized: false,
    chain: [entry.subject],
    warnings: ['the record of the job that installed it is gone: issuer and chain are unknown'],
  };
}

/**
 * `POST /v1/environments/:env/certificates/:name/uninstall`: a job (pending approval) that
 * removes the registry's certificate of that name from every front-end of the environment.
 * 404 when the environment or the certificate is unknown (a finished uninstall leaves no
 * entry), 409 while another uninstall of it is open.
 */
export async function submitUninstall(
  deps: JobsDeps,
  submittedBy: string,
  envName: string,
  name: string,
): Promise<Job> {
  const inventory = deps.inventory();
  if (!findEnvironment(inventory, envName)) throw notFound(`no environment '${envName}' in the inventory`);
  const entry = await deps.store.registry.get(envName, name);
  if (!entry) {
    throw notFound(
      `${envName} holds no certificate named '${name}' (never installed, or already uninstalled)`,
    );
  }
  const id = newJobId();
  const holder = await deps.store.uninstalls.claim(envName, name, id);
  if (holder !== undefined) {
    throw conflict(
      'conflict',
      `uninstall job ${holder} of '${name}' in ${envName} is still open; approve, reject or retry that one`,
    );
  }
  try {
    const plan = planUninstall(inventory, envName, entry);
    const record = pendingJobRecord({
      id,
      ticket: entry.ticket ?? UNINSTALL_TICKET,
      name,
      environments: [envName],
      source: 'api',
      action: 'uninstall',
      submittedBy,
      planHash: plan.hash,
      replace: false,
      certificate: await summaryOf(deps, entry),
      paths: plan.paths,
      notify: {},
      pfxSha256: entry.sha256 ?? '',
    });
    const job = await deps.store.createJob(record, plan.targets, undefined, deps.config.secretTtlMs);
    await deps.store.audit.submitted(record, { fingerprintSha256: entry.fingerprintSha256 });
    return job;
  } catch (err) {
    await deps.store.uninstalls.release(envName, name, id);
    throw err;
  }
}

/** The plan hash an uninstall's approval must match now: '' when the certificate is gone or changed. */
export async function uninstallPlanHash(deps: JobsDeps, job: JobRecord): Promise<string> {
  const envName = job.environments[0] ?? '';
  const entry = await deps.store.registry.get(envName, job.name);
  if (!entry || entry.fingerprintSha256 !== job.certificate.fingerprintSha256) return '';
  return planUninstall(deps.inventory(), envName, entry).hash;
}
