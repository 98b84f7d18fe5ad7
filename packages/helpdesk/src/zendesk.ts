/**
 * Zendesk: webhooks signed base64(HMAC-SHA256(secret, timestamp + body)); tickets,
 * comments and attachments through the Support API with `email/token:api_token`.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Type, type Static } from 'typebox';
import type { DeskAttachment, DeskRequest, DeskTicket, Doorbell, HelpdeskAdapter } from './adapter.js';
import { DeskHttp } from './desk-http.js';
import {
  headerOf,
  mappedStatus,
  SecretRef,
  splitList,
  StatusMap,
  tokenAndSecretSystem,
  type SystemDefinition,
  type WithTokenAndSecret,
} from './system-definition.js';

export const ZENDESK_SIGNATURE_HEADER = 'x-zendesk-webhook-signature';
export const ZENDESK_TIMESTAMP_HEADER = 'x-zendesk-webhook-signature-timestamp';
/** Zendesk's id of one webhook invocation: the same on its retries. */
export const ZENDESK_INVOCATION_HEADER = 'x-zendesk-webhook-invocation-id';
/** How far a signature timestamp may be from the API's clock. */
export const ZENDESK_TOLERANCE_S = 300;

/** The signature Zendesk sends: base64(HMAC-SHA256(secret, timestamp + raw body)), the secret used as it is. */
export function zendeskSignature(secret: string, timestamp: string, rawBody: Buffer | string): string {
  return createHmac('sha256', secret).update(timestamp).update(rawBody).digest('base64');
}

/** One Zendesk instance in the adapters file. */
export const ZendeskInstance = Type.Object(
  {
    system: Type.Literal('zendesk'),
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    baseUrl: Type.String({ pattern: '^https?://[^/?#]+/?$', description: 'https://<subdomain>.zendesk.com' }),
    /** The agent certfleet acts as. */
    email: Type.String({ minLength: 3, maxLength: 254 }),
    apiToken: SecretRef,
    webhookSecret: SecretRef,
    /** Ids of the ticket fields that hold what certfleet reads. */
    fields: Type.Object(
      {
        environments: Type.Integer({ minimum: 1 }),
        name: Type.Integer({ minimum: 1 }),
        replace: Type.Optional(Type.Integer({ minimum: 1 })),
      },
      { additionalProperties: false },
    ),
    /** Zendesk statuses (open, pending, hold, solved) a ticket takes when its job ends so. */
    statuses: Type.Optional(StatusMap),
  },
  { additionalProperties: false },
);
type ZendeskConfig = WithTokenAndSecret<Static<typeof ZendeskInstance>>;

interface ZdAttachment {
  id: number;
  file_name: string;
  content_url: string;
  size: number;
  malware_scan_result?: string;
}
interface ZdComment {
  id: number;
  body: string;
  public: boolean;
  attachments?: ZdAttachment[];
}
interface ZdCommentsPage {
  comments: ZdComment[];
  next_page: string | null;
}
interface ZdTicket {
  ticket: {
    id: number;
    requester_id: number;
    custom_fields?: { id: number; value: unknown }[];
  };
  users?: { id: number; email?: string; name?: string }[];
}

/** A Zendesk instance. */
export class ZendeskAdapter implements HelpdeskAdapter {
  readonly system = 'zendesk' as const;
  readonly instance: string;
  private readonly http: DeskHttp;

  constructor(private readonly config: ZendeskConfig) {
    this.instance = config.name;
    const basic = Buffer.from(`${config.email}/token:${config.apiToken}`).toString('base64');
    this.http = new DeskHttp({ baseUrl: config.baseUrl, authorization: `Basic ${basic}` });
  }

  verify({ headers, rawBody, now }: DeskRequest): Doorbell {
    const signature = headerOf(headers, ZENDESK_SIGNATURE_HEADER);
    const timestamp = headerOf(headers, ZENDESK_TIMESTAMP_HEADER);
    if (!signature || !timestamp) {
      return { ok: false, reason: 'missing X-Zendesk-Webhook-Signature or its timestamp header' };
    }
    const at = Date.parse(timestamp);
    if (Number.isNaN(at) || Math.abs(now - at) > ZENDESK_TOLERANCE_S * 1000) {
      return { ok: false, reason: `signature timestamp is more than ${ZENDESK_TOLERANCE_S} s away from now` };
    }
    const expected = Buffer.from(zendeskSignature(this.config.webhookSecret, timestamp, rawBody));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: 'signature does not match' };
    }
    let ticketId: unknown;
    try {
      ticketId = (JSON.parse(rawBody.toString('utf8')) as { ticket_id?: unknown }).ticket_id;
    } catch {
      return { ok: false, reason: 'the body is not JSON' };
    }
    const id = String(ticketId ?? '');
    if (!/^\d{1,19}$/.test(id)) return { ok: false, reason: 'the body has no ticket_id (a number)' };
    const invocation = headerOf(headers, ZENDESK_INVOCATION_HEADER);
    const deliveryId =
      invocation && /^[A-Za-z0-9_-]{1,100}$/.test(invocation)
        ? invocation
        : createHash('sha256').update(timestamp).update(rawBody).digest('hex').slice(0, 40);
    return { ok: true, deliveryId, ticketId: id };
  }

  async readTicket(ticketId: string): Promise<DeskTicket> {
    const { ticket, users } = await this.http.json<ZdTicket>(
      'GET',
      `/api/v2/tickets/${ticketId}.json?include=users`,
    );
    const field = (id: number | undefined): unknown =>
      id === undefined ? undefined : ticket.custom_fields?.find((f) => f.id === id)?.value;
    const requester = users?.find((u) => u.id === ticket.requester_id);
    const name = splitList(field(this.config.fields.name))[0];
    const replace = field(this.config.fields.replace);
    return {
      id: String(ticket.id),
      ref: `ZD-${ticket.id}`,
      requester: requester?.email ?? requester?.name ?? `zendesk-user-${ticket.requester_id}`,
      environments: splitList(field(this.config.fields.environments)),
      name,
      replace: replace === true || replace === 'true' || replace === 'yes',
      // Zendesk has no approvals of its own: an approver approves in certfleet
      approval: undefined,
    };
  }

  /** Every comment of the ticket, page after page (`next_page`). */
  private async comments(ticketId: string): Promise<ZdComment[]> {
    const all: ZdComment[] = [];
    let next: string | null = `/api/v2/tickets/${ticketId}/comments`;
    for (let page = 0; next !== null && page < 100; page++) {
      const body: ZdCommentsPage = await this.http.json<ZdCommentsPage>('GET', next);
      all.push(...body.comments);
      next = body.next_page;
    }
    return all;
  }

  async listAttachments(ticketId: string): Promise<DeskAttachment[]> {
    return (await this.comments(ticketId)).flatMap((c) =>
      (c.attachments ?? []).map((a) => ({
        id: String(a.id),
        fileName: a.file_name,
        size: a.size,
        contentUrl: a.content_url,
        malware: a.malware_scan_result === 'malware_found',
      })),
    );
  }

  download(attachment: DeskAttachment, maxBytes: number): Promise<Buffer> {
    return this.http.download(attachment.contentUrl, maxBytes);
  }

  private async comment(ticketId: string, body: string, isPublic: boolean, status?: string): Promise<void> {
    await this.http.json('PUT', `/api/v2/tickets/${ticketId}`, {
      ticket: { comment: { body, public: isPublic }, ...(status === undefined ? {} : { status }) },
    });
  }

  writeNote(ticketId: string, body: string, jobStatus?: string): Promise<void> {
    return this.comment(ticketId, body, false, mappedStatus(this.config.statuses, jobStatus));
  }

  async hasNote(ticketId: string, marker: string): Promise<boolean> {
    return (await this.comments(ticketId)).some((c) => !c.public && c.body.includes(marker));
  }

  postReply(ticketId: string, body: string): Promise<void> {
    return this.comment(ticketId, body, true);
  }
}

/** Zendesk's entry in the adapters file. */
export const zendeskSystem: SystemDefinition<typeof ZendeskInstance> = tokenAndSecretSystem(
  ZendeskInstance,
  (config) => new ZendeskAdapter(config),
);
