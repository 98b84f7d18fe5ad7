import { createHash } from 'node:crypto';
import type { Job } from '@certfleet/store';
import { conflict } from './errors.js';
import { approveJob, newJobId, samePerson, submitJob, type JobsDeps } from './jobs-service.js';
import type { WebhookBody } from '@certfleet/contract';

/** How long a delivery id is remembered, so a late re-delivery still finds its job. */
const DELIVERY_MEMORY_MS = 30 * 24 * 3600 * 1000;

/** The principal a webhook-submitted job is recorded under. */
export function webhookSubmitter(body: Pick<WebhookBody, 'requestedBy'>): string {
  return body.requestedBy ? `ticket:${body.requestedBy}` : 'ticket-webhook';
}

/**
 * A signed ticket webhook: one job per delivery id. The same delivery again
 * answers the job it made; the same id with another body is a replay. A signed
 * approval queues the job at once only when the policy allows it and the
 * approver is not the requester.
 */
export async function receiveTicketWebhook(
  deps: JobsDeps,
  rawBody: Buffer,
  body: WebhookBody,
): Promise<{ created: boolean; job: Job }> {
  const bodySha256 = createHash('sha256').update(rawBody).digest('hex');
  const id = newJobId();
  const earlier = await deps.store.webhooks.claim(body.deliveryId, bodySha256, id, DELIVERY_MEMORY_MS);
  if (earlier) {
    if (earlier.bodySha256 !== bodySha256) {
      throw conflict(
        'webhook_replay',
        `delivery ${body.deliveryId} was received before with another body; send a new deliveryId for a new request`,
      );
    }
    const job = await deps.store.jobs.get(earlier.jobId);
    if (!job)
      throw conflict(
        'conflict',
        `delivery ${body.deliveryId} is still being processed; send it again shortly`,
      );
    return { created: false, job };
  }

  const { deliveryId, requestedBy, approvedBy, callbackUrl, ...submit } = body;
  const submitter = webhookSubmitter(body);
  let job: Job;
  try {
    job = await submitJob(
      deps,
      submitter,
      { ...submit, notify: { ...submit.notify, ...(callbackUrl ? { callbackUrl } : {}) } },
      'webhook',
      id,
    );
  } catch (err) {
    await deps.store.webhooks.release(deliveryId, id);
    throw err;
  }
  await deps.store.audit.append({
    actor: submitter,
    action: 'webhook',
    jobId: id,
    detail: { deliveryId, ...(requestedBy ? { requestedBy } : {}), ...(approvedBy ? { approvedBy } : {}) },
  });

  const mayApprove =
    deps.config.webhookAutoApprove &&
    approvedBy !== undefined &&
    !samePerson(approvedBy, requestedBy ?? submitter);
  if (mayApprove) {
    try {
      job = await approveJob(deps, `ticket:${approvedBy}`, id);
    } catch (err) {
      // The job stays pending approval; an approver can still approve it.
      await deps.store.audit.append({
        actor: submitter,
        action: 'webhook.approval_refused',
        jobId: id,
        detail: { reason: err instanceof Error ? err.message : String(err) },
      });
    }
  }
  return { created: true, job: (await deps.store.jobs.get(id)) ?? job };
}
