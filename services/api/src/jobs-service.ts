import { createHash } from 'node:crypto';
import { CertError, inspectPfx } from '@certfleet/certs';
import { checkNotifyUrl, NotifyUrlError, type FleetConfig } from '@certfleet/config';
import { planCanary, planInstall, type Inventory } from '@certfleet/inventory';
import {
  approveAndStart,
  continueAfterCanary,
  JobName,
  queueWakeUp,
  roundOpening,
  startScheduled,
  windowGate,
  type FleetQueues,
} from '@certfleet/jobs';
import { canTransition, newJobId, type FleetStore, type Job, type JobRecord } from '@certfleet/store';
import { ApiError, conflict, invalid, notFound } from './errors.js';
import { assertKnownEnvironments } from './plan.js';
import { uninstallPlanHash } from './uninstall-service.js';
import type { SubmitBody } from '@certfleet/contract';

export interface JobsDeps {
  config: FleetConfig;
  store: FleetStore;
  queues: FleetQueues;
  inventory: () => Inventory;
  /** The maintenance-window clock; the system clock when absent (tests give their own). */
  clock?: () => Date;
}

/**
 * Whether two principal names are the same person for four eyes: names from a
 * ticket system (`ticket:<name>`) and API principals are compared without the
 * prefix and without case, so nobody approves what they asked for by another way in.
 */
export function samePerson(a: string, b: string): boolean {
  const person = (name: string): string => name.replace(/^ticket:/, '').toLowerCase();
  return person(a) === person(b);
}

export { newJobId } from '@certfleet/store';

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The certs package's refusals become API errors with their own status and code. */
function asApiError(err: unknown): never {
  if (err instanceof CertError) throw new ApiError(err.statusCode, err.code, err.message);
  throw err;
}

/**
 * Refuses notify URLs whose host is a forbidden address literal (422
 * notify_url_forbidden). Host names are checked after resolution at delivery.
 */
function assertNotifyUrls(config: FleetConfig, notify: Job['notify'] | undefined): void {
  for (const field of ['webhookUrl', 'slackUrl', 'callbackUrl'] as const) {
    const url = notify?.[field];
    if (url === undefined) continue;
    try {
      checkNotifyUrl(url, config.notifyAllow);
    } catch (err) {
      if (!(err instanceof NotifyUrlError)) throw err;
      const where = field === 'callbackUrl' ? field : `notify.${field}`;
      throw new ApiError(422, err.code, `${where}: ${err.message}`);
    }
  }
}

/**
 * Intake: inspect the PFX, resolve the plan, check rotation, then store the job
 * and its sealed secret. Nothing is queued: the job waits for approval.
 */
export async function submitJob(
  deps: JobsDeps,
  submittedBy: string,
  body: SubmitBody,
  source: JobRecord['source'],
  id = newJobId(),
): Promise<Job> {
  if (body.notify?.email?.length && !deps.config.smtpUrl) {
    throw invalid('notify.email: this certfleet sends no e-mail (FLEET_SMTP_URL is not set); leave it out');
  }
  assertNotifyUrls(deps.config, body.notify);
  const inventory = deps.inventory();
  // Unknown environments are refused before any PFX work: it is the cheaper check.
  assertKnownEnvironments(inventory, body.environments);
  const inspected = await inspectPfx(
    {
      pfx: Buffer.from(body.pfx, 'base64'),
      password: body.password,
      caCertificates: body.caCertificates ?? [],
      normalize: body.normalize ?? true,
    },
    { maxBytes: deps.config.maxPfxBytes, maxIterations: deps.config.maxKdfIterations },
  ).catch(asApiError);
  const cert = inspected.certificate;
  const pfxSha256 = sha256(inspected.pfx);
  const plan = planInstall(inventory, body.environments, body.name, cert.fingerprintSha256, pfxSha256);

  for (const env of body.environments) {
    const existing = await deps.store.registry.get(env, body.name);
    if (existing && existing.fingerprintSha256 !== cert.fingerprintSha256 && !body.replace) {
      throw conflict(
        'conflict',
        `'${body.name}' in ${env} already holds another certificate (${existing.subject}, ` +
          `fingerprint ${existing.fingerprintSha256.slice(0, 16)}…); send replace: true to rotate it`,
      );
    }
  }

  const now = new Date().toISOString();
  // canary rollout: fixed at submission, from the body's rollout or each environment's
  const canary = planCanary(inventory, plan.targets, body.rollout);
  const record: JobRecord = {
    id,
    ticket: body.ticket,
    name: body.name,
    environments: body.environments,
    status: 'pending_approval',
    source,
    submittedBy,
    approvedBy: null,
    rejectedBy: null,
    rejectReason: null,
    createdAt: now,
    updatedAt: now,
    planHash: plan.hash,
    replace: body.replace ?? false,
    round: 1,
    certificate: cert,
    paths: plan.paths,
    notify: body.notify ?? {},
    pfxSha256,
    ...(canary ? { canary } : {}),
  };
  const job = await deps.store.createJob(
    record,
    plan.targets,
    { pfx: inspected.pfx, password: inspected.password, caChain: inspected.caChain },
    deps.config.secretTtlMs,
  );
  await deps.store.audit.submitted(record);
  return job;
}

/** The environments of a job never share a maintenance window (within a year). */
function noCommonWindow(job: Job): ApiError {
  return conflict(
    'no_common_window',
    `the maintenance windows of ${job.environments.join(', ')} never overlap; submit one job per environment`,
  );
}

/** Four eyes, bound to the plan: the approver is not the submitter and the inventory has not moved. */
export async function approveJob(deps: JobsDeps, approver: string, id: string): Promise<Job> {
  const job = await deps.store.jobs.get(id);
  if (!job) throw notFound(`no job ${id}`);
  if (!canTransition(job.status, 'approve')) {
    throw conflict('conflict', `job ${id} is ${job.status}; only a job pending approval can be approved`);
  }
  if (samePerson(job.submittedBy, approver)) {
    throw conflict('self_approval', `${approver} submitted job ${id}; another approver must approve it`);
  }
  let planHash: string;
  try {
    planHash =
      job.action === 'uninstall'
        ? await uninstallPlanHash(deps, job)
        : planInstall(
            deps.inventory(),
            job.environments,
            job.name,
            job.certificate.fingerprintSha256,
            job.pfxSha256,
            // a repair job is planned for the hosts that needed it, and its hash binds to those alone
            job.source === 'reconcile' ? new Set(job.targets.map((t) => t.id)) : undefined,
          ).hash;
  } catch {
    planHash = '';
  }
  if (planHash !== job.planHash) {
    throw conflict(
      'plan_changed',
      `the inventory of ${job.environments.join(', ')} changed since job ${id} was submitted; submit it again`,
    );
  }
  // an uninstall has no secret: it installs nothing
  if (job.action !== 'uninstall' && !(await deps.store.secrets.has(id))) {
    throw conflict('conflict', `the sealed certificate of job ${id} has expired; submit it again`);
  }
  const started = await approveAndStart(
    deps.store,
    deps.queues,
    job,
    approver,
    deps.config.secretTtlMs,
    windowGate(deps),
  );
  if (started.kind === 'conflict') throw conflict('conflict', `job ${id} is no longer pending approval`);
  if (started.kind === 'queue_down') {
    throw new ApiError(503, 'unavailable', 'the queue is unreachable; approve again in a moment');
  }
  if (started.kind === 'no_window') throw noCommonWindow(job);
  await deps.store.audit.append({
    actor: approver,
    action: 'approve',
    jobId: id,
    ...(started.kind === 'scheduled' ? { detail: { scheduled: started.job.startsAt } } : {}),
  });
  return started.job;
}

/** An admin starts a scheduled job at once, outside its window, with a reason (audited). */
export async function startNowJob(deps: JobsDeps, admin: string, id: string, reason: string): Promise<Job> {
  const job = await deps.store.jobs.get(id);
  if (!job) throw notFound(`no job ${id}`);
  const notScheduled = (status: string): ApiError =>
    conflict('conflict', `job ${id} is ${status}; only a scheduled job can be started now`);
  if (job.status !== 'scheduled') throw notScheduled(job.status);
  const started = await startScheduled(deps.store, deps.queues, job);
  if (started.kind === 'conflict') throw notScheduled(started.job?.status ?? 'no longer scheduled');
  if (started.kind === 'queue_down') {
    throw new ApiError(503, 'unavailable', 'the queue is unreachable; start it again in a moment');
  }
  await deps.store.audit.append({
    actor: admin,
    action: 'start_now',
    jobId: id,
    detail: { reason, startsAt: job.startsAt },
  });
  return (await deps.store.jobs.get(id)) ?? started.job;
}

/** Rejects a pending job with a reason; its sealed secret is deleted at once. */
export async function rejectJob(deps: JobsDeps, approver: string, id: string, reason: string): Promise<Job> {
  const job = await deps.store.jobs.get(id);
  if (!job) throw notFound(`no job ${id}`);
  const moved = await deps.store.jobs.transition(id, 'reject', {
    rejectedBy: approver,
    rejectReason: reason,
  });
  if (!moved.ok) {
    throw conflict(
      'conflict',
      `job ${id} is ${moved.job?.status ?? job.status}; only a job pending approval can be rejected`,
    );
  }
  await deps.store.secrets.delete(id);
  await deps.store.metrics.countJob('rejected');
  await deps.store.audit.append({ actor: approver, action: 'reject', jobId: id, detail: { reason } });
  await deps.queues.add(JobName.Notify, { jobId: id, round: job.round, status: 'rejected' });
  return moved.job;
}

/** Queues the failed targets of a finished job again, as a new round. */
export async function retryJob(deps: JobsDeps, operator: string, id: string): Promise<Job> {
  const job = await deps.store.jobs.get(id);
  if (!job) throw notFound(`no job ${id}`);
  const ended = job.status;
  if (!canTransition(ended, 'retry')) {
    throw conflict(
      'conflict',
      `job ${id} is ${job.status}; only a job that ended with failures can be retried`,
    );
  }
  if (job.action !== 'uninstall' && !(await deps.store.secrets.has(id))) {
    throw conflict(
      'conflict',
      `the sealed certificate of job ${id} expired (FLEET_SECRET_TTL); submit the job again to install it`,
    );
  }
  const round = job.round + 1;
  const failed = job.targets.filter((t) => t.status === 'failed');
  // Maintenance windows: outside them the retry waits as `scheduled` for the next opening
  const gate = windowGate(deps);
  const opens = roundOpening(job, gate);
  if (opens === 'never') throw noCommonWindow(job);
  const moved = await deps.store.jobs.transition(
    id,
    'retry',
    opens === 'now'
      ? { round, status: 'queued' }
      : { round, status: 'scheduled', startsAt: opens.toISOString() },
  );
  if (!moved.ok) throw conflict('conflict', `job ${id} changed state; look at it again`);
  for (const t of failed) {
    await deps.store.jobs.putTarget(id, {
      ...t,
      status: 'pending',
      round,
      attempts: 0,
      error: null,
      finishedAt: null,
    });
  }
  await deps.store.secrets.persist(id);
  try {
    if (opens === 'now') {
      await deps.queues.addInstallFlow(
        id,
        round,
        failed.map((t) => ({ id: t.id })),
      );
    } else {
      await queueWakeUp(deps.queues, { jobId: id, round, check: 1 }, opens, gate);
    }
  } catch {
    for (const t of failed) await deps.store.jobs.putTarget(id, t).catch(() => undefined);
    await deps.store.jobs
      .transition(id, 'undoRetry', { status: ended, round: job.round })
      .catch(() => undefined);
    await deps.store.secrets.expire(id, deps.config.secretTtlMs).catch(() => undefined);
    throw new ApiError(503, 'unavailable', 'the queue is unreachable; retry again in a moment');
  }
  await deps.store.audit.append({
    actor: operator,
    action: 'retry',
    jobId: id,
    detail: {
      round,
      targets: failed.map((t) => t.id),
      ...(opens === 'now' ? {} : { scheduled: opens.toISOString() }),
    },
  });
  return (await deps.store.jobs.get(id)) ?? moved.job;
}

// --- canary rollout (README: Canary rollout) ----------------------------------------

/**
 * Continues a job resting in `canary`: four eyes as for approval (not the submitter);
 * the targets the canary round left pending are queued as the job's next round.
 */
export async function continueJob(deps: JobsDeps, approver: string, id: string): Promise<Job> {
  const job = await deps.store.jobs.get(id);
  if (!job) throw notFound(`no job ${id}`);
  if (job.status !== 'canary') {
    throw conflict(
      'conflict',
      `job ${id} is ${job.status}; only a job resting in canary (canary installed, waiting) can be continued`,
    );
  }
  if (samePerson(job.submittedBy, approver)) {
    throw conflict('self_approval', `${approver} submitted job ${id}; another approver must continue it`);
  }
  if (!(await deps.store.secrets.has(id))) {
    throw conflict('conflict', `the sealed certificate of job ${id} is gone; submit it again`);
  }
  const outcome = await continueAfterCanary(deps.store, deps.queues, job, approver, windowGate(deps));
  if (outcome.kind === 'conflict') throw conflict('conflict', `job ${id} is no longer resting in canary`);
  if (outcome.kind === 'queue_down') {
    throw new ApiError(503, 'unavailable', 'the queue is unreachable; continue again in a moment');
  }
  if (outcome.kind === 'no_window') throw noCommonWindow(job);
  await deps.store.audit.append({
    actor: approver,
    action: 'continue',
    jobId: id,
    detail: {
      round: outcome.job.round,
      targets: outcome.job.targets
        .filter((t) => t.round === outcome.job.round && t.status === 'pending')
        .map((t) => t.id),
      ...(outcome.kind === 'scheduled' ? { scheduled: outcome.job.startsAt } : {}),
    },
  });
  return outcome.job;
}
