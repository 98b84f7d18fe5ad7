import { createJobWorkers, JobName, startJobWorkers } from '@certfleet/jobs';
import type { Worker } from 'bullmq';
import nodemailer, { type Transporter } from 'nodemailer';
import { processNotify, type NotifierDeps } from './notify.js';

export interface FleetNotifier {
  worker: Worker;
  /** Starts taking work. */
  start(): void;
  close(): Promise<void>;
}

/** An SMTP transport from `smtp://user:pass@host:port` (or `smtps://`). */
export function createMailer(smtpUrl: string): Transporter {
  return nodemailer.createTransport(smtpUrl);
}

/** Builds the notify worker; `start()` (called by start.ts) runs it. */
export function createNotifier(deps: NotifierDeps): FleetNotifier {
  const mailer = deps.mailer ?? (deps.config.smtpUrl ? createMailer(deps.config.smtpUrl) : undefined);
  const withMailer: NotifierDeps = { ...deps, ...(mailer ? { mailer } : {}) };
  const { notify: worker } = createJobWorkers(
    [JobName.Notify],
    { [JobName.Notify]: (run) => processNotify(withMailer, run) },
    {
      connection: deps.connection,
      prefix: deps.config.prefix,
      onError: (err) => deps.logger.error({ err: err.message }, 'notifier error'),
      settings: { [JobName.Notify]: { concurrency: 8, lockDuration: deps.config.lockDurationMs } },
    },
  );
  return {
    worker,
    start() {
      startJobWorkers([worker]);
    },
    async close() {
      await worker.close();
      mailer?.close();
    },
  };
}
