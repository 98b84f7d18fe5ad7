import { findEnvironment, planInstall, retainsSecrets } from '@certfleet/inventory';
import { approveAndStart, windowGate } from '@certfleet/jobs';
import {
  isFinalStatus,
  jobIdAgeMs,
  newJobId,
  pendingJobRecord,
  type Job,
  type JobRecord,
  type SecretBundle,
} from '@certfleet/store';
import { RepairError } from './repair-error.js';
import { now, type WorkerDeps } from './worker-deps.js';

/** The actor of what certfleet does by itself: repair jobs are submitted (and, with `repair: auto`, approved) by it. */
export const SYSTEM_ACTOR = 'system';

/** How long a claim whose job record does not exist yet counts as being created. */
const CLAIM_GRACE_MS = 60_000;

/** What a repair request came to. */
export type RepairOutcome =
  /** A repair job for the hosts not already under repair; `queued` under `repair: auto`. */
  | { kind: 'created'; job: Job; queued: boolean; alreadyOpen: string[] }
  /** Every host already has an open repair job, or an open uninstall holds the certificate. */
  | { kind: 'open'; jobIds: string[] }
  /** Nothing to install from: the environment keeps no secret, or none is kept for this certificate. */
  | { kind: 'submission_needed'; frontEnds: string[]; message: string };

/**
 * Asks for a repair of one certificate on some front-ends of an environment (the
 * reason as text, or made for the hosts the job ends up with): a
 * normal job (plan hash, approval rules, report) for those hosts alone, with
 * `source: reconcile` and the reason; at most one open per host. Reconcile calls
 * it for front-ends that lack a certificate, and so may the drift check.
 */
export async function requestRepair(
  deps: WorkerDeps,
  env: string,
  certificateName: string,
  frontEnds: readonly string[],
  reasonOf: string | ((frontEnds: readonly string[]) => string),
): Promise<RepairOutcome> {
  // the reason of a job for some of the hosts says what was seen on those
  const reasonFor = (hosts: readonly string[]): string =>
    typeof reasonOf === 'string' ? reasonOf : reasonOf(hosts);
  const inventory = deps.inventory();
  const environment = findEnvironment(inventory, env);
  if (!environment) throw new RepairError('unknown_environment', `no environment ${env} in the inventory`);
  const entry = await deps.store.registry.get(env, certificateName);
  if (!entry) {
    throw new RepairError('unknown_certificate', `${env} holds no certificate named ${certificateName}`);
  }
  // a certificate being uninstalled is not put back (README: Uninstall)
  const uninstalling = await deps.store.uninstalls.openHolder(env, certificateName);
  if (uninstalling !== undefined) return { kind: 'open', jobIds: [uninstalling] };
  const unknown = frontEnds.filter((fe) => !environment.frontEnds.some((f) => f.name === fe));
  if (unknown.length > 0) {
    throw new RepairError('unknown_front_end', `${env} has no front-end ${unknown.join(', ')}`);
  }
  const install = await deps.store.jobs.getRecord(entry.jobId);
  let secret: SecretBundle | undefined;
  let why: string;
  if (!retainsSecrets(environment, deps.config.retainSecrets)) {
    why = `${env} keeps no certificate secrets (retain: false)`;
  } else if (!install || install.certificate.fingerprintSha256 !== entry.fingerprintSha256) {
    why = `the record of job ${entry.jobId} that installed it is gone`;
  } else {
    secret = await deps.store.retained.open(env, certificateName);
    why = `no secret is retained for it (installed before retention, or it expired)`;
  }
  if (!secret || !install) {
    return submissionNeeded(deps, env, certificateName, frontEnds, reasonFor(frontEnds), why);
  }

  const id = newJobId();
  const isOpen = async (holder: string): Promise<boolean> => {
    const held = await deps.store.jobs.getRecord(holder);
    // no record yet: another worker is creating it, unless it crashed doing so long ago
    if (!held) return jobIdAgeMs(holder) < CLAIM_GRACE_MS;
    // a repair an approver rejected is not asked for again; an install of the certificate there clears it
    return !isFinalStatus(held.status) || held.status === 'rejected';
  };
  const claimed: string[] = [];
  const alreadyOpen = new Set<string>();
  for (const fe of frontEnds) {
    const holder = await deps.store.repairs.claim(env, certificateName, fe, id, isOpen);
    if (holder === undefined) claimed.push(fe);
    else alreadyOpen.add(holder);
  }
  if (claimed.length === 0) return { kind: 'open', jobIds: [...alreadyOpen] };
  try {
    const job = await createRepairJob(deps, install, env, claimed, reasonFor(claimed), secret, id);
    const queued = environment.repair === 'auto' && (await queueAtOnce(deps, job));
    return {
      kind: 'created',
      job: (await deps.store.jobs.get(id)) ?? job,
      queued,
      alreadyOpen: [...alreadyOpen],
    };
  } catch (err) {
    for (const fe of claimed) await deps.store.repairs.release(env, certificateName, fe, id);
    throw err;
  }
}

async function createRepairJob(
  deps: WorkerDeps,
  install: JobRecord,
  env: string,
  frontEnds: readonly string[],
  reason: string,
  secret: SecretBundle,
  id: string,
): Promise<Job> {
  const plan = planInstall(
    deps.inventory(),
    [env],
    install.name,
    install.certificate.fingerprintSha256,
    install.pfxSha256,
    new Set(frontEnds.map((fe) => `${env}/${fe}`)),
  );
  const record = pendingJobRecord(
    {
      id,
      ticket: install.ticket,
      name: install.name,
      environments: [env],
      source: 'reconcile',
      reason,
      submittedBy: SYSTEM_ACTOR,
      planHash: plan.hash,
      replace: false,
      certificate: install.certificate,
      paths: plan.paths,
      notify: install.notify,
      pfxSha256: install.pfxSha256,
    },
    now(),
  );

  const job = await deps.store.createJob(record, plan.targets, secret, deps.config.secretTtlMs);
  await deps.store.audit.submitted(record, { reason, repairOf: install.id });
  deps.logger.info(
    { jobId: id, environment: env, name: install.name, frontEnds, reason },
    'repair job submitted',
  );
  return job;
}

/** `repair: auto`: approved by `system` and queued at once; a queue that is down leaves it pending approval. */
async function queueAtOnce(deps: WorkerDeps, job: Job): Promise<boolean> {
  const started = await approveAndStart(
    deps.store,
    deps.queues,
    job,
    SYSTEM_ACTOR,
    deps.config.secretTtlMs,
    windowGate(deps),
  );
  if (started.kind === 'conflict' || started.kind === 'no_window') return false;
  if (started.kind === 'queue_down') {
    deps.logger.warn(
      { jobId: job.id, err: started.err.message },
      'repair job left pending approval: queue unreachable',
    );
    return false;
  }
  await deps.store.audit.append({
    actor: SYSTEM_ACTOR,
    action: 'approve',
    jobId: job.id,
    detail: {
      policy: 'repair: auto',
      ...(started.kind === 'scheduled' ? { scheduled: started.job.startsAt } : {}),
    },
  });
  return true;
}

/** Records, once per host, that a repair needs a new submission, in the audit and the log. */
async function submissionNeeded(
  deps: WorkerDeps,
  env: string,
  name: string,
  frontEnds: readonly string[],
  reason: string,
  why: string,
): Promise<RepairOutcome> {
  const message =
    `${name} is missing on ${frontEnds.join(', ')} of ${env} (${reason}), and ${why}: ` +
    `submit ${name} for ${env} again to install it there`;
  const at = now();
  const fresh = await deps.store.repairs.noteNeeded(
    env,
    frontEnds.map((frontEnd) => ({ name, frontEnd, reason: message, at })),
  );
  if (fresh.length > 0) {
    await deps.store.audit.append({
      actor: SYSTEM_ACTOR,
      action: 'repair.submission_needed',
      detail: { environment: env, name, frontEnds: fresh.map((n) => n.frontEnd), reason, message },
    });
    deps.logger.warn({ environment: env, name, frontEnds: fresh.map((n) => n.frontEnd) }, message);
  }
  return { kind: 'submission_needed', frontEnds: [...frontEnds], message };
}
