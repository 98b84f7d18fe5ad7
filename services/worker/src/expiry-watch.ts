import { CERTIFICATE_EXPIRING } from '@certfleet/contract';
import { JobName, type JobRun } from '@certfleet/jobs';
import type { ExpiryClaim } from '@certfleet/store';
import { crossedThreshold, daysLeft } from './expiry-thresholds.js';
import type { WorkerDeps } from './worker-deps.js';

/** What the expiry watch needs besides the worker's own parts: a clock. */
export interface ExpiryWatchDeps extends WorkerDeps {
  /** The scheduler's clock (tests fake it here); a run asked for with `at` counts from that instead. */
  clock: () => Date;
}

/** One warning a run queued. */
export interface ExpiryWarning {
  environment: string;
  name: string;
  daysLeft: number;
  threshold: number;
}

/** What one run of the watch did. */
export interface ExpiryWatchResult {
  /** The time it counted days from. */
  at: string;
  /** Certificates looked at, in every environment of the inventory. */
  checked: number;
  /** Warnings queued by this run (those sent by an earlier run are not sent again). */
  warned: ExpiryWarning[];
}

/**
 * One run of the expiry watch: for every certificate of every environment in the
 * inventory, the threshold it has crossed (`FLEET_EXPIRY_WARN_DAYS`), and for each
 * one not yet claimed in the ledger a `certificate.expiring` report through the
 * notifier. An expired certificate gets no warning (the metric and its alert show it).
 */
export async function processExpiryWatch(
  deps: ExpiryWatchDeps,
  { payload }: JobRun<'expiry-watch'>,
): Promise<ExpiryWatchResult> {
  const at = payload.at === undefined ? deps.clock() : new Date(payload.at);
  const warned: ExpiryWarning[] = [];
  let checked = 0;
  for (const env of deps.inventory().environments) {
    for (const cert of await deps.store.registry.list(env.name)) {
      checked += 1;
      const days = daysLeft(cert.notAfter, at);
      const threshold = crossedThreshold(days, deps.config.expiryWarnDays);
      if (threshold === undefined) continue;
      const claim: ExpiryClaim = {
        environment: env.name,
        fingerprintSha256: cert.fingerprintSha256,
        threshold,
        notAfter: cert.notAfter,
      };
      // of every worker and every run, only the first claim of a warning sends it
      if (!(await deps.store.expiry.claim(claim, at))) continue;
      try {
        await deps.queues.add(JobName.Notify, {
          event: CERTIFICATE_EXPIRING,
          jobId: cert.jobId,
          environment: env.name,
          name: cert.name,
          fingerprintSha256: cert.fingerprintSha256,
          threshold,
          daysLeft: days,
        });
      } catch (err) {
        // not queued: give the claim back so that the retry (or tomorrow's run) sends it
        await deps.store.expiry.release(claim).catch(() => undefined);
        throw err;
      }
      await deps.store.audit.append({
        actor: 'worker',
        action: 'expiry.warned',
        jobId: cert.jobId,
        detail: { environment: env.name, name: cert.name, daysLeft: days, threshold },
      });
      warned.push({ environment: env.name, name: cert.name, daysLeft: days, threshold });
    }
  }
  deps.logger.info({ at: at.toISOString(), checked, warned: warned.length }, 'expiry watch done');
  return { at: at.toISOString(), checked, warned };
}
