/**
 * Help desk intake (README: Help desks): a verified doorbell becomes a pending intake
 * with a one-time password link, and the password typed on certfleet's own page
 * becomes the job, through the same code as a signed ticket webhook.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  DeskHttpError,
  type DeskAttachment,
  type HelpdeskAdapter,
  type HelpdeskAdapters,
} from '@certfleet/helpdesk';
import { PERSON_PATTERN } from '@certfleet/contract';
import type { JobRun } from '@certfleet/jobs';
import type { PendingIntake } from '@certfleet/store';
import { UnrecoverableError } from 'bullmq';
import { ApiError, unprocessable } from './errors.js';
import type { JobsDeps } from './jobs-service.js';
import { assertKnownEnvironments } from './plan.js';
import { receiveTicketWebhook } from './webhook-service.js';

export interface IntakeDeps extends JobsDeps {
  adapters: HelpdeskAdapters;
  /** Where customers reach certfleet: the base of the password links. */
  publicUrl: () => string;
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  clock?: () => Date;
}

/** How long the ticket a help desk job reports to is remembered. */
const TICKET_MEMORY_MS = 30 * 24 * 3600 * 1000;
/** Passwords tried on one link before it stops working. */
export const MAX_PASSWORD_ATTEMPTS = 5;

const PFX_FILE = /\.(pfx|p12)$/i;
const CA_FILE = /\.(cer|crt|pem)$/i;

/** Who may be named as requester or approver of a job (the webhook's pattern). */
const PERSON = new RegExp(PERSON_PATTERN);

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** The SHA-256 under which a link's token is stored (the token itself never is). */
export function tokenKey(token: string): string {
  return sha256(`intake-link:${token}`);
}

/** The internal note of a refusal: the same code and message the API answers. */
export function refusalNote(err: ApiError, fileName?: string): string {
  return `certfleet refused this request${fileName ? ` (${fileName})` : ''}: ${err.code}: ${err.message}`;
}

function adapterOf(deps: IntakeDeps, system: string, instance: string): HelpdeskAdapter {
  const adapter = deps.adapters.get(system, instance);
  if (!adapter) throw new UnrecoverableError(`no help desk ${system}/${instance} is configured`);
  return adapter;
}

/** Refuses an attachment the desk flagged or that is larger than the cap, before downloading it. */
function assertAcceptable(att: DeskAttachment, maxBytes: number): void {
  if (att.malware) {
    throw unprocessable(
      'malware_found',
      `${att.fileName}: the help desk's malware scan flagged it; not downloaded`,
    );
  }
  if (att.size > maxBytes) {
    throw new ApiError(
      413,
      'payload_too_large',
      `${att.fileName}: ${att.size} bytes, more than FLEET_MAX_PFX_BYTES (${maxBytes})`,
    );
  }
}

/** The offer of one ticket attachment: at most one live password link (or job) per offer. */
export function offerKey(system: string, instance: string, ticketId: string, attachmentId: string): string {
  return sha256(`helpdesk-offer:${system}/${instance}/${ticketId}/${attachmentId}`);
}

/** The key a password sent inside a desk's webhook is sealed under until its intake takes it. */
export function doorbellKey(system: string, instance: string, deliveryId: string): string {
  return sha256(`helpdesk-doorbell:${system}/${instance}/${deliveryId}`);
}

/**
 * An internal note written once: its marker (from `seed`) is looked for first, so a
 * desk that rings again (its retries, a poll, its webhook firing on certfleet's own
 * notes) gets no second copy.
 */
async function noteOnce(
  adapter: HelpdeskAdapter,
  ticketId: string,
  body: string,
  seed: string,
): Promise<void> {
  const marker = `[certfleet intake ${sha256(seed).slice(0, 20)}]`;
  if (await adapter.hasNote(ticketId, marker)) return;
  await adapter.writeNote(ticketId, `${body}\n\n${marker}`);
}

interface CheckedRequest {
  intake: Omit<PendingIntake, 'pfxSha256' | 'expiresAt'>;
  pfxAttachment: DeskAttachment;
  cas: DeskAttachment[];
  pending: boolean;
}

/** What the ticket asks for, checked as far as can be without downloading or the password. */
async function checkRequest(
  deps: IntakeDeps,
  adapter: HelpdeskAdapter,
  ticketId: string,
): Promise<CheckedRequest> {
  const ticket = await adapter.readTicket(ticketId);
  if (ticket.approval?.state === 'declined') {
    throw unprocessable(
      'not_approved',
      `the ticket's approval was declined${ticket.approval.by ? ` by ${ticket.approval.by}` : ''}; nothing is installed`,
    );
  }
  if (!ticket.name) throw unprocessable('invalid_request', "the ticket's certificate name field is empty");
  if (ticket.environments.length === 0) {
    throw unprocessable('invalid_request', "the ticket's environments field is empty");
  }
  assertKnownEnvironments(deps.inventory(), ticket.environments);
  const attachments = ticket.attachments ?? (await adapter.listAttachments(ticketId));
  const pfxs = attachments.filter((a) => PFX_FILE.test(a.fileName));
  if (pfxs.length !== 1) {
    throw unprocessable(
      'missing_attachment',
      pfxs.length === 0
        ? 'the ticket has no .pfx or .p12 attachment; attach the certificate'
        : `the ticket has ${pfxs.length} .pfx/.p12 attachments; keep exactly one`,
    );
  }
  const max = deps.config.maxPfxBytes;
  const cas = attachments.filter((a) => CA_FILE.test(a.fileName));
  for (const att of [...pfxs, ...cas]) assertAcceptable(att, max);
  const pfxAttachment = pfxs[0]!;
  const approvedBy = ticket.approval?.state === 'approved' ? ticket.approval.by : undefined;
  return {
    intake: {
      system: adapter.system,
      instance: adapter.instance,
      ticketId,
      ticketRef: ticket.ref,
      requester: ticket.requester,
      name: ticket.name,
      environments: ticket.environments,
      replace: ticket.replace,
      ...(approvedBy ? { approvedBy } : {}),
      fileName: pfxAttachment.fileName,
    },
    pfxAttachment,
    cas,
    pending: ticket.approval?.state === 'pending',
  };
}

/** Downloads the checked attachments, each under the byte cap; the PFX must look like PKCS#12. */
async function download(
  deps: IntakeDeps,
  adapter: HelpdeskAdapter,
  { pfxAttachment, cas }: CheckedRequest,
): Promise<{ pfx: Buffer; caChain: Buffer[] }> {
  const max = deps.config.maxPfxBytes;
  const pfx = await adapter.download(pfxAttachment, max);
  // A PKCS#12 file is one DER SEQUENCE; anything else (a renamed PDF) is refused before the password
  if (pfx[0] !== 0x30) {
    throw unprocessable('pfx_unreadable', `${pfxAttachment.fileName} is not a PKCS#12 file (.pfx/.p12)`);
  }
  const caChain: Buffer[] = [];
  for (const att of cas) caChain.push(await adapter.download(att, max));
  return { pfx, caChain };
}

/** A desk call that failed: retried later, postponed to its Retry-After, or given up. */
async function deskFailure(err: DeskHttpError, run: JobRun<'helpdesk-intake'>): Promise<never> {
  if (err.permanent && err.code !== 'too_large') throw new UnrecoverableError(err.message);
  if (err.retryAfterMs !== undefined) await run.postpone(Date.now() + err.retryAfterMs);
  throw err;
}

/** What one intake run did. */
export type IntakeOutcome =
  { link: true } | { jobId: string } | { waiting: 'approval' } | { already: 'offered' } | { refused: string };

/**
 * The intake job: reads the ticket back, checks its approval and attachments, takes
 * the files in and either posts the one-time password link or, when the desk sent the
 * password in its signed webhook, makes the job at once. A refusal goes to the ticket
 * as an internal note, once.
 */
export async function processHelpdeskIntake(
  deps: IntakeDeps,
  run: JobRun<'helpdesk-intake'>,
): Promise<IntakeOutcome> {
  const { system, instance, ticketId, deliveryId } = run.payload;
  const adapter = adapterOf(deps, system, instance);
  const sealedPassword = run.payload.sealedPassword ? doorbellKey(system, instance, deliveryId) : undefined;
  // a sealed password lives as long as its delivery can still be tried, and not a run longer
  let retrying = false;
  try {
    const checked = await checkRequest(deps, adapter, ticketId);
    if (checked.pending) {
      await noteOnce(
        adapter,
        ticketId,
        `certfleet is waiting for this ticket's approval; ${checked.intake.fileName} is taken in once it is approved.`,
        `pending/${ticketId}/${checked.pfxAttachment.id}`,
      );
      return { waiting: 'approval' };
    }
    const offer = offerKey(system, instance, ticketId, checked.pfxAttachment.id);
    if (await deps.store.intakes.offered(offer)) return { already: 'offered' };
    const files = await download(deps, adapter, checked);
    const now = (deps.clock ?? (() => new Date()))().getTime();
    const ttl = deps.config.intakeLinkTtlMs;
    const pending: PendingIntake = {
      ...checked.intake,
      pfxSha256: sha256(files.pfx),
      expiresAt: new Date(now + ttl).toISOString(),
      offer,
    };
    // two deliveries at once: the first to claim the offer posts; the other leaves it
    if (!(await deps.store.intakes.claimOffer(offer, ttl))) return { already: 'offered' };
    try {
      const password = sealedPassword ? await deps.store.intakes.doorbellPassword(sealedPassword) : undefined;
      if (password !== undefined) {
        const { jobId } = await makeIntakeJob(deps, adapter, pending, files, password);
        return { jobId };
      }
      await offerLink(deps, adapter, pending, files);
      return { link: true };
    } catch (err) {
      await deps.store.intakes.dropOffer(offer);
      throw err;
    }
  } catch (err) {
    if (err instanceof DeskHttpError && err.code !== 'too_large') {
      retrying = !err.permanent && run.attempt < run.maxAttempts;
      return deskFailure(err, run);
    }
    const refusal =
      err instanceof ApiError
        ? err
        : err instanceof DeskHttpError
          ? new ApiError(413, 'payload_too_large', err.message)
          : undefined;
    if (!refusal) {
      retrying = run.attempt < run.maxAttempts;
      throw err;
    }
    await noteOnce(
      adapter,
      ticketId,
      refusalNote(refusal),
      // a password sent with the webhook is tried once per delivery: each refusal is news
      `refusal/${ticketId}/${refusal.code}/${refusal.message}${sealedPassword ? `/${deliveryId}` : ''}`,
    ).catch((e: Error) => {
      // the refusal stands; only its note is tried again
      if (e instanceof DeskHttpError) return deskFailure(e, run);
      throw e;
    });
    deps.logger.info({ system, instance, ticketId, code: refusal.code }, 'help desk intake refused');
    return { refused: refusal.code };
  } finally {
    if (sealedPassword && !retrying) await deps.store.intakes.dropDoorbellPassword(sealedPassword);
  }
}

/** Seals the files under a new one-time link and posts the link to the requester. */
async function offerLink(
  deps: IntakeDeps,
  adapter: HelpdeskAdapter,
  pending: PendingIntake,
  files: { pfx: Buffer; caChain: Buffer[] },
): Promise<void> {
  const token = randomBytes(32).toString('base64url');
  await deps.store.intakes.put(tokenKey(token), pending, files, deps.config.intakeLinkTtlMs);
  const link = `${deps.publicUrl().replace(/\/+$/, '')}/intake/${token}`;
  try {
    await adapter.postReply(
      pending.ticketId,
      [
        `certfleet received ${pending.fileName} (SHA-256 ${pending.pfxSha256}).`,
        'Please do not write its password in this ticket. Type it on this page instead; the link works once,',
        `until ${pending.expiresAt}:`,
        link,
      ].join('\n'),
    );
  } catch (err) {
    await deps.store.intakes.consume(tokenKey(token));
    throw err;
  }
  await deps.store.audit.append({
    actor: `helpdesk:${pending.system}/${pending.instance}`,
    action: 'helpdesk.intake',
    detail: { ticket: pending.ticketRef, file: pending.fileName, pfxSha256: pending.pfxSha256 },
  });
}

/**
 * Makes a help desk request's job, as a signed ticket webhook makes it: one job per
 * ticket and attachment (a repeat answers the same job), four eyes unless the desk's
 * approver is another person than the requester. The ticket is told once.
 */
async function makeIntakeJob(
  deps: IntakeDeps,
  adapter: HelpdeskAdapter,
  intake: PendingIntake,
  files: { pfx: Buffer; caChain: Buffer[] },
  password: string,
): Promise<{ jobId: string; status: string }> {
  const identity = `${intake.system}/${intake.instance}/${intake.ticketId}/${intake.pfxSha256}`;
  const { job } = await receiveTicketWebhook(deps, Buffer.from(identity), {
    deliveryId: `helpdesk-${sha256(identity).slice(0, 48)}`,
    ticket: intake.ticketRef,
    name: intake.name,
    environments: intake.environments,
    pfx: files.pfx.toString('base64'),
    password,
    caCertificates: files.caChain.map((c) =>
      c.includes('-----BEGIN') ? c.toString('latin1') : c.toString('base64'),
    ),
    ...(intake.replace ? { replace: true } : {}),
    ...(PERSON.test(intake.requester) ? { requestedBy: intake.requester } : {}),
    ...(intake.approvedBy && PERSON.test(intake.approvedBy) ? { approvedBy: intake.approvedBy } : {}),
  });
  const { system, instance, ticketId } = intake;
  await deps.store.intakes.linkJob(job.id, { system, instance, ticketId }, TICKET_MEMORY_MS);
  if (intake.offer) await deps.store.intakes.keepOffer(intake.offer, TICKET_MEMORY_MS);
  await noteOnce(
    adapter,
    ticketId,
    `certfleet job ${job.id} was made from ${intake.fileName}; it is ${job.status}.`,
    `job/${job.id}`,
  ).catch((err: Error) => deps.logger.warn({ jobId: job.id, err: err.message }, 'ticket note not written'));
  return { jobId: job.id, status: job.status };
}

/** What a link shows before the password is typed. */
export interface IntakeView {
  ticket: string;
  fileName: string;
  pfxSha256: string;
  name: string;
  environments: string[];
  expiresAt: string;
}

const gone = (): ApiError =>
  new ApiError(410, 'link_expired', 'this link has expired or was used already; ask support for a new one');

async function liveIntake(deps: IntakeDeps, token: string): Promise<PendingIntake> {
  const intake = await deps.store.intakes.get(tokenKey(token));
  const now = (deps.clock ?? (() => new Date()))().getTime();
  if (!intake) throw gone();
  if (Date.parse(intake.expiresAt) <= now) {
    await deps.store.intakes.consume(tokenKey(token));
    throw gone();
  }
  return intake;
}

/** `GET /v1/intake/:token`: what the link is for (410 once expired or used). */
export async function viewIntake(deps: IntakeDeps, token: string): Promise<IntakeView> {
  const i = await liveIntake(deps, token);
  return {
    ticket: i.ticketRef,
    fileName: i.fileName,
    pfxSha256: i.pfxSha256,
    name: i.name,
    environments: i.environments,
    expiresAt: i.expiresAt,
  };
}

/**
 * `POST /v1/intake/:token`: the password arrives; the job is made as a signed ticket
 * webhook makes it (one per ticket and attachment, four eyes). A refusal is answered
 * and written to the ticket; the link then works again, up to MAX_PASSWORD_ATTEMPTS tries.
 */
export async function submitIntakePassword(
  deps: IntakeDeps,
  token: string,
  password: string,
): Promise<{ jobId: string; status: string }> {
  const key = tokenKey(token);
  const intake = await liveIntake(deps, token);
  if ((await deps.store.intakes.countAttempt(key)) > MAX_PASSWORD_ATTEMPTS) {
    await deps.store.intakes.consume(key);
    throw gone();
  }
  const files = await deps.store.intakes.files(key);
  if (!files) throw gone();
  const adapter = adapterOf(deps, intake.system, intake.instance);
  try {
    const made = await makeIntakeJob(deps, adapter, intake, files, password);
    await deps.store.intakes.consume(key);
    return made;
  } catch (err) {
    if (err instanceof ApiError) {
      await adapter
        .writeNote(intake.ticketId, refusalNote(err, intake.fileName))
        .catch((e: Error) => deps.logger.warn({ err: e.message }, 'ticket note not written'));
    }
    throw err;
  }
}
