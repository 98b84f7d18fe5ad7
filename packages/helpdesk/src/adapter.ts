/**
 * What certfleet needs from a help desk, one implementation per system: verify its
 * webhook, read a ticket back, list and download its attachments, write back.
 */

/** The help desks certfleet has an adapter for. */
export const HELPDESK_SYSTEMS = ['zendesk', 'jira', 'servicenow'] as const;
export type HelpdeskSystem = (typeof HELPDESK_SYSTEMS)[number];

/** An inbound webhook as the route received it: headers and the exact bytes of the body. */
export interface DeskRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
  /** The API's clock (ms), for signature timestamps. */
  now: number;
}

/** A verified doorbell: which ticket to read back, and the id that makes a repeat one delivery. */
export type Doorbell =
  | {
      ok: true;
      deliveryId: string;
      ticketId: string;
      /**
       * The PFX password, where the desk sends it inside the signed body (a ServiceNow
       * Masked variable); sealed at once, never queued or logged in clear.
       */
      password?: string;
    }
  | { ok: false; reason: string };

/**
 * A ticket's approval in the desk. `approved` carries the approver (an e-mail or user
 * name) when the desk names one; `pending` waits for the desk's approvers.
 */
export type DeskApproval =
  { state: 'approved'; by?: string } | { state: 'declined'; by?: string } | { state: 'pending' };

/** A ticket as read back through the desk's API with certfleet's own credentials. */
export interface DeskTicket {
  id: string;
  /** How certfleet's job names the ticket (`ZD-123`): the job's `ticket`. */
  ref: string;
  /** Who asked (an e-mail or a desk user name). */
  requester: string;
  /** Environment names from the mapped field; empty when the field is empty. */
  environments: string[];
  /** The certificate name from the mapped field; undefined when empty. */
  name: string | undefined;
  /** The mapped rotation field says yes. */
  replace: boolean;
  /** The desk's approval of the ticket; undefined where the desk (or this ticket) has none. */
  approval: DeskApproval | undefined;
  /** The attachments, where the ticket's own read carries them (Jira): no second read then. */
  attachments?: DeskAttachment[];
}

/** One attachment of a ticket, as the desk lists it (nothing downloaded yet). */
export interface DeskAttachment {
  id: string;
  fileName: string;
  /** Bytes, as the desk says. */
  size: number;
  contentUrl: string;
  /** The desk's malware scan found something. */
  malware: boolean;
}

/** One configured help desk instance, behind one interface. */
export interface HelpdeskAdapter {
  readonly system: HelpdeskSystem;
  readonly instance: string;
  /** Checks the request the way the desk signs it; nothing else is read before this says yes. */
  verify(request: DeskRequest): Doorbell;
  readTicket(ticketId: string): Promise<DeskTicket>;
  listAttachments(ticketId: string): Promise<DeskAttachment[]>;
  /** Downloads an attachment, refusing (DeskHttpError `too_large`) past `maxBytes`. */
  download(attachment: DeskAttachment, maxBytes: number): Promise<Buffer>;
  /**
   * An internal note (agents only). With `jobStatus` (a final job status: completed,
   * partially_failed, failed, rejected) the ticket also takes the desk status the
   * instance's `statuses` maps it to, when it maps one.
   */
  writeNote(ticketId: string, body: string, jobStatus?: string): Promise<void>;
  /** Whether a note holding `marker` is on the ticket already (idempotent write-back). */
  hasNote(ticketId: string, marker: string): Promise<boolean>;
  /** A public reply to the requester. */
  postReply(ticketId: string, body: string): Promise<void>;
  /** Where the instance polls a queue (`poll` in the adapters file): its interval and the ticket ids in it now. */
  readonly pollEverySeconds?: number;
  poll?(): Promise<string[]>;
}
