import type { FleetConfig, Resolver } from '@certfleet/config';
import { CERTIFICATE_EXPIRING, type ExpiryReport } from '@certfleet/contract';
import type { JobRun, NotifyPayload } from '@certfleet/jobs';
import type { FleetStore, Job } from '@certfleet/store';
import { UnrecoverableError, type ConnectionOptions } from 'bullmq';
import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import { expiryReport, jobReport, type Report } from './reports.js';
import {
  DeliveryError,
  emailSink,
  slackSink,
  ticketSink,
  webhookSink,
  type PostOptions,
  type Sink,
} from './sinks.js';
import type { HelpdeskAdapters } from '@certfleet/helpdesk';
import type { TicketLink } from '@certfleet/store';

export interface NotifierDeps {
  config: FleetConfig;
  store: FleetStore;
  connection: ConnectionOptions;
  logger: Logger;
  /** Per-request timeout for sinks. */
  timeoutMs?: number;
  /** Resolves notify URL host names (tests give their own); the system resolver when absent. */
  resolve?: Resolver;
  /** SMTP transport; made from FLEET_SMTP_URL when absent. */
  mailer?: Transporter;
  /** The help desk instances (FLEET_ADAPTERS) a job's ticket note goes to. */
  adapters?: HelpdeskAdapters;
}

/** The job's own sinks plus the configured ones, each once. */
export function sinksFor(job: Job, deps: NotifierDeps, ticket?: TicketLink): Sink[] {
  const { config } = deps;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  // A submitter's URLs go through the address policy; the operator's FLEET_NOTIFY_* URLs are configuration.
  const submitted: PostOptions = {
    timeoutMs,
    addressPolicy: { allow: config.notifyAllow, ...(deps.resolve ? { resolve: deps.resolve } : {}) },
  };
  const configured: PostOptions = { timeoutMs };
  const sinks: Sink[] = [];
  const add = (sink: Sink): void => {
    if (!sinks.some((s) => s.key === sink.key)) sinks.push(sink);
  };
  for (const url of [job.notify.webhookUrl, job.notify.callbackUrl]) {
    if (url) add(webhookSink(url, config.notifyWebhookSecret, submitted));
  }
  if (config.notifyWebhookUrl)
    add(webhookSink(config.notifyWebhookUrl, config.notifyWebhookSecret, configured));
  if (job.notify.slackUrl) add(slackSink(job.notify.slackUrl, submitted));
  if (config.notifySlackUrl) add(slackSink(config.notifySlackUrl, configured));
  if (job.notify.email?.length && deps.mailer) {
    add(emailSink(deps.mailer, config.emailFrom ?? 'certfleet@localhost', job.notify.email));
  }
  // Help desks: the ticket the job came from gets an internal note
  const desk = ticket && deps.adapters?.get(ticket.system, ticket.instance);
  if (ticket && desk) add(ticketSink(desk, ticket.ticketId));
  return sinks;
}

/** A report due: the job it concerns, what it says, and how the ledger and the audit name it. */
interface Notice {
  job: Job;
  report: Report;
  /** Its part of the per-job delivery ledger key (`<round>:<status>`, `expiry:…`). */
  ledgerKey: string;
  /** What the audit entries of its deliveries say about it. */
  detail: Record<string, unknown>;
}

/** Reads what a payload's report says; undefined when an expiry warning is no longer due. */
async function noticeOf(deps: NotifierDeps, payload: NotifyPayload): Promise<Notice | undefined> {
  const job = await deps.store.jobs.get(payload.jobId);
  if (!job) throw new UnrecoverableError(`job ${payload.jobId} is gone`);
  if (!('event' in payload)) {
    const { round, status } = payload;
    return {
      job,
      report: jobReport(job, round, status),
      ledgerKey: `${round}:${status}`,
      detail: { round, status },
    };
  }
  // --- expiry watch: the registry entry says where it is and until when ---
  const { environment, name, threshold, daysLeft, fingerprintSha256 } = payload;
  const entry = await deps.store.registry.get(environment, name);
  // replaced (or removed) since the watch ran: the old certificate's warning is moot
  if (entry?.fingerprintSha256 !== fingerprintSha256) return undefined;
  const body: ExpiryReport = {
    event: CERTIFICATE_EXPIRING,
    environment,
    name,
    notAfter: entry.notAfter,
    daysLeft,
    threshold,
    path: entry.path,
    ticket: job.ticket,
  };
  return {
    job,
    report: expiryReport(body, job.id, fingerprintSha256),
    ledgerKey: `expiry:${environment}:${threshold}:${fingerprintSha256}`,
    detail: { event: CERTIFICATE_EXPIRING, environment, name, threshold },
  };
}

/** The longest Retry-After honoured; a receiver asking for more is tried again after this. */
const MAX_RETRY_AFTER_MS = 3600_000;

/** Delivers one report to every sink not yet served; throws to retry those that failed transiently. */
export async function processNotify(
  deps: NotifierDeps,
  run: JobRun<'notify'>,
): Promise<{ delivered: string[] }> {
  const { payload, attempt, maxAttempts } = run;
  const notice = await noticeOf(deps, payload);
  if (!notice) return { delivered: [] };
  const { job, report, ledgerKey, detail } = notice;
  const jobId = job.id;
  const delivered: string[] = [];
  const transient: string[] = [];
  /** The longest wait a receiver asked for (Retry-After), when one did. */
  let retryAfterMs: number | undefined;
  if (job.notify.email?.length && !deps.mailer) {
    await deps.store.audit.append({
      actor: 'notifier',
      action: 'notify.refused',
      jobId,
      detail: { sink: 'email', ...detail, reason: 'no FLEET_SMTP_URL is configured' },
    });
  }
  const ticket = 'event' in payload ? undefined : await deps.store.intakes.ticketOf(jobId);
  for (const sink of sinksFor(job, deps, ticket)) {
    const deliveryKey = `${ledgerKey}:${sink.key}`;
    if (await deps.store.deliveries.isDelivered(jobId, deliveryKey)) continue;
    try {
      await sink.deliver(report);
      await deps.store.deliveries.markDelivered(jobId, deliveryKey);
      await deps.store.metrics.countNotification(sink.kind, 'delivered');
      await deps.store.audit.append({
        actor: 'notifier',
        action: 'notify.delivered',
        jobId,
        detail: { sink: sink.kind, target: sink.target, ...detail, attempt },
      });
      delivered.push(sink.key);
    } catch (err) {
      const failure = err instanceof DeliveryError ? err : new DeliveryError(String(err), false);
      const attemptsLeft = attempt < maxAttempts;
      const result = failure.permanent ? 'refused' : attemptsLeft ? 'retrying' : 'failed';
      await deps.store.metrics.countNotification(sink.kind, result);
      await deps.store.audit.append({
        actor: 'notifier',
        action: failure.permanent ? 'notify.refused' : 'notify.failed',
        jobId,
        detail: {
          sink: sink.kind,
          target: sink.target,
          ...detail,
          reason: failure.message,
          attempt,
          attemptsLeft,
        },
      });
      deps.logger.warn(
        { jobId, sink: sink.kind, permanent: failure.permanent, attemptsLeft },
        failure.message,
      );
      if (failure.permanent) await deps.store.deliveries.markDelivered(jobId, deliveryKey);
      else {
        transient.push(failure.message);
        if (failure.retryAfterMs !== undefined)
          retryAfterMs = Math.max(retryAfterMs ?? 0, failure.retryAfterMs);
      }
    }
  }
  // a receiver that said when: the next try waits that long (the backoff may be sooner)
  if (transient.length > 0 && retryAfterMs !== undefined && attempt < maxAttempts) {
    await run.postpone(Date.now() + Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
  }
  if (transient.length > 0) throw new Error(`delivery will be retried: ${transient.join('; ')}`);
  return { delivered };
}
