/**
 * A Zendesk on loopback that follows the documented shapes: `GET /api/v2/tickets/{id}.json`
 * (with `include=users`), the comments envelope with attachments and `next_page`
 * pagination, `PUT /api/v2/tickets/{id}` comments, Basic `email/token:api_token` auth
 * (401 otherwise), 429 with Retry-After on demand, and attachment `content_url`s that
 * redirect to a second host which refuses any request carrying credentials. It also
 * rings certfleet, signing as Zendesk does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJson, sendJson, startDeskServers, type RecordedRequest } from './fake-desk-http.js';
import { zendeskSignature } from '@certfleet/helpdesk';

export interface FakeAttachment {
  file_name: string;
  bytes: Buffer;
  /** What the listing says (default: the real size); a liar tests the download cap. */
  size?: number;
  malware_scan_result?: 'malware_not_found' | 'malware_found' | 'failed_to_scan' | 'not_scanned';
}

export interface FakeComment {
  body: string;
  public: boolean;
  attachments?: FakeAttachment[];
}

export interface FakeTicket {
  requester: string;
  /** open, pending, hold, solved (default open): a PUT with a status sets it. */
  status?: string;
  custom_fields: { id: number; value: unknown }[];
  comments: FakeComment[];
}

export interface FakeZendesk {
  url: string;
  /** The file host's own origin (another address). */
  filesUrl: string;
  email: string;
  apiToken: string;
  webhookSecret: string;
  tickets: Map<number, FakeTicket>;
  requests: RecordedRequest[];
  /** The next `count` API requests whose path starts with `pathPrefix` answer 429 with Retry-After: 1. */
  busy(pathPrefix: string, count?: number): void;
  /** Comments certfleet wrote on a ticket (after the ones the test made). */
  written(ticketId: number): FakeComment[];
  /** POSTs the doorbell to certfleet, signed with `secret` (default the right one). */
  ring(
    certfleetUrl: string,
    instance: string,
    ticketId: number,
    options?: { secret?: string; invocationId?: string; at?: Date },
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

const PAGE_SIZE = 2;

/** Starts the desk on 127.0.0.1 and its file host on 127.0.0.2, each on a free port. */
export async function startFakeZendesk(): Promise<FakeZendesk> {
  const email = 'certfleet@acme.example';
  const apiToken = 'zd-api-token-for-tests';
  const webhookSecret = 'zd-webhook-secret-for-tests';
  const tickets = new Map<number, FakeTicket>();
  const created = new Map<number, number>();
  const requests: RecordedRequest[] = [];
  const busy: { prefix: string; left: number }[] = [];
  const blobs = new Map<string, Buffer>();
  const expected = `Basic ${Buffer.from(`${email}/token:${apiToken}`).toString('base64')}`;
  let url = '';
  let filesUrl = '';

  const send = sendJson;

  const attachmentsOf = (ticketId: number, comment: FakeComment, index: number): unknown[] =>
    (comment.attachments ?? []).map((a, j) => {
      const id = ticketId * 1000 + index * 10 + j;
      blobs.set(String(id), a.bytes);
      return {
        id,
        file_name: a.file_name,
        content_url: `${url}/attachments/token/${id}/?name=${encodeURIComponent(a.file_name)}`,
        content_type: 'application/octet-stream',
        size: a.size ?? a.bytes.length,
        malware_access_override: false,
        malware_scan_result: a.malware_scan_result ?? 'malware_not_found',
      };
    });

  const desk = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const u = new URL(req.url ?? '/', url);
    if (req.headers.authorization !== expected) {
      return send(res, 401, { error: 'Couldn\u2019t authenticate you' });
    }
    const slot = busy.find((b) => b.left > 0 && u.pathname.startsWith(b.prefix));
    if (slot) {
      slot.left -= 1;
      return send(res, 429, { error: 'APIRateLimitExceeded' }, { 'retry-after': '1' });
    }
    const attachment = /^\/attachments\/token\/(\d+)\/$/.exec(u.pathname);
    if (attachment && req.method === 'GET') {
      return send(res, 302, undefined, { location: `${filesUrl}/blob/${attachment[1]}` });
    }
    const show = /^\/api\/v2\/tickets\/(\d+)\.json$/.exec(u.pathname);
    const comments = /^\/api\/v2\/tickets\/(\d+)\/comments$/.exec(u.pathname);
    const update = /^\/api\/v2\/tickets\/(\d+)$/.exec(u.pathname);
    const id = Number((show ?? comments ?? update)?.[1]);
    const ticket = tickets.get(id);
    if (!ticket) return send(res, 404, { error: 'RecordNotFound', description: 'Not found' });
    if (show && req.method === 'GET') {
      return send(res, 200, {
        ticket: {
          id,
          requester_id: 9000 + id,
          status: ticket.status ?? 'open',
          custom_fields: ticket.custom_fields,
        },
        ...(u.searchParams.get('include') === 'users'
          ? { users: [{ id: 9000 + id, name: 'Requester', email: ticket.requester }] }
          : {}),
      });
    }
    if (comments && req.method === 'GET') {
      const page = Number(u.searchParams.get('page') ?? '1');
      const slice = ticket.comments.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
      const more = page * PAGE_SIZE < ticket.comments.length;
      return send(res, 200, {
        comments: slice.map((c, i) => ({
          id: id * 100 + (page - 1) * PAGE_SIZE + i,
          type: 'Comment',
          body: c.body,
          public: c.public,
          attachments: attachmentsOf(id, c, (page - 1) * PAGE_SIZE + i),
        })),
        next_page: more ? `${url}/api/v2/tickets/${id}/comments?page=${page + 1}` : null,
        previous_page: page > 1 ? `${url}/api/v2/tickets/${id}/comments?page=${page - 1}` : null,
        count: ticket.comments.length,
      });
    }
    if (update && req.method === 'PUT') {
      const body = (await readJson(req)) as {
        ticket?: { comment?: { body?: string; public?: boolean }; status?: string };
      };
      const comment = body.ticket?.comment;
      if (typeof comment?.body !== 'string') return send(res, 422, { error: 'RecordInvalid' });
      const status = body.ticket?.status;
      if (status !== undefined && !['new', 'open', 'pending', 'hold', 'solved', 'closed'].includes(status)) {
        return send(res, 422, { error: 'RecordInvalid', description: `Status: ${status} is not valid` });
      }
      ticket.comments.push({ body: comment.body, public: comment.public !== false });
      if (status !== undefined) ticket.status = status;
      return send(res, 200, { ticket: { id } });
    }
    return send(res, 404, { error: 'InvalidEndpoint' });
  };

  const files = (req: IncomingMessage, res: ServerResponse): number => {
    // Zendesk's file storage takes signed URLs only: credentials sent here are a leak
    if (req.headers.authorization !== undefined) return send(res, 403, { error: 'credentials refused' });
    const blob = /^\/blob\/(\d+)$/.exec(req.url ?? '');
    const bytes = blob ? blobs.get(blob[1]!) : undefined;
    if (!bytes) return send(res, 404);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(bytes);
    return 200;
  };

  const servers = await startDeskServers(desk, files, requests);
  url = servers.url;
  filesUrl = servers.filesUrl;

  return {
    url,
    filesUrl,
    email,
    apiToken,
    webhookSecret,
    tickets,
    requests,
    busy(prefix, count = 1) {
      busy.push({ prefix, left: count });
    },
    written(ticketId) {
      const ticket = tickets.get(ticketId);
      return ticket ? ticket.comments.slice(created.get(ticketId) ?? 0) : [];
    },
    async ring(certfleetUrl, instance, ticketId, options = {}) {
      if (!created.has(ticketId)) created.set(ticketId, tickets.get(ticketId)?.comments.length ?? 0);
      const body = JSON.stringify({ ticket_id: String(ticketId), event: 'certfleet.requested' });
      const timestamp = (options.at ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const res = await fetch(`${certfleetUrl}/v1/adapters/zendesk/${instance}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-zendesk-webhook-id': '01HZENDESKWEBHOOK',
          ...(options.invocationId ? { 'x-zendesk-webhook-invocation-id': options.invocationId } : {}),
          'x-zendesk-webhook-signature-timestamp': timestamp,
          'x-zendesk-webhook-signature': zendeskSignature(options.secret ?? webhookSecret, timestamp, body),
        },
        body,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    close: () => servers.close(),
  };
}
