/**
 * A ServiceNow on loopback that follows the documented shapes: the Table API's
 * `{"result": …}` envelopes with string values and dot-walked field names as keys
 * (`sysparm_fields` honoured, `sysparm_query` read: `field=value`, `!=`, `LIKE`,
 * `STARTSWITH`, `IN`, `ORDERBY`/`ORDERBYDESC`, `^` between them), PATCH of work notes,
 * comments and state, `sys_journal_field` built from the journal entries written,
 * `sysapproval_approver`, the Attachment API paged by `sysparm_offset` (a small maximum
 * page, a `Link` header and `X-Total-Count`), Basic or Bearer auth (401 with
 * ServiceNow's error envelope otherwise), 429 with Retry-After on demand, and one
 * attachment whose file redirects to a second host that refuses any request carrying
 * credentials. It also rings certfleet the way the Business Rule
 * (docs/servicenow-business-rule.js) does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readJson, sendJson, startDeskServers, type RecordedRequest } from './fake-desk-http.js';
import { serviceNowSignature } from '@certfleet/helpdesk';

export interface FakeAttachment {
  file_name: string;
  bytes: Buffer;
  /** What the listing says (default: the real size); a liar tests the download cap. */
  size?: number;
  content_type?: string;
  /** The file answers 302 to the files host (which refuses credentials). */
  redirect?: boolean;
}

export interface FakeApprover {
  state: 'requested' | 'approved' | 'rejected' | 'not_required' | 'cancelled';
  email?: string;
  user_name?: string;
}

export interface FakeRecordInput {
  /** Default: a new random sys_id. */
  sys_id?: string;
  /** Default sc_req_item. */
  table?: string;
  /** Values as the Table API answers them (strings), dot-walked names as they are: `variables.environments`. */
  fields: Record<string, string>;
  attachments?: FakeAttachment[];
  /** The record's `approval` field, e.g. approved, requested, rejected, not requested. */
  approval?: string;
  /** Its sysapproval_approver records. */
  approvers?: FakeApprover[];
}

/** One PATCH certfleet made: the journal fields and the state it set. */
export interface FakeWrite {
  work_notes?: string;
  comments?: string;
  state?: string;
}

export interface RingOptions {
  /** Default: the right one. */
  secret?: string;
  /** The Masked variable's value, sent in the signed body. */
  password?: string;
  /** base64 (`v1b64`, the Business Rule's) or hex (`v1`). Default base64. */
  encoding?: 'hex' | 'base64';
  /** X-Certfleet-Delivery; default `<sys_id>-<sys_mod_count>` as the Business Rule sends, false for none. */
  delivery?: string | false;
  at?: Date;
}

export interface FakeServiceNow {
  url: string;
  /** The file host's own origin (another address). */
  filesUrl: string;
  username: string;
  password: string;
  oauthToken: string;
  webhookSecret: string;
  requests: RecordedRequest[];
  /** Adds (or replaces) a record; answers its sys_id. */
  put(record: FakeRecordInput): string;
  /** Sets a record's approval (an update: sys_mod_count moves on) and, when given, adds its approver's record. */
  setApproval(sysId: string, approval: string, approver?: FakeApprover): void;
  /** A record's current values (`state`, `sys_mod_count` included). */
  record(sysId: string): Record<string, string> | undefined;
  /** The next `count` requests whose path starts with `pathPrefix` answer 429 with Retry-After: 1. */
  busy(pathPrefix: string, count?: number): void;
  /** What certfleet wrote on the record, PATCH after PATCH. */
  written(sysId: string): FakeWrite[];
  /** POSTs the doorbell to certfleet as the Business Rule does, signed with `secret` (default the right one). */
  ring(
    certfleetUrl: string,
    instance: string,
    sysId: string,
    options?: RingOptions,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** The most records the Attachment API answers at once here, whatever sysparm_limit asks (an instance's maximum). */
export const FAKE_ATTACHMENT_PAGE = 2;

type Row = Record<string, string>;

interface StoredRecord {
  table: string;
  fields: Row;
  attachments: { sys_id: string; attachment: FakeAttachment; created: string }[];
  approvers: (FakeApprover & { sys_id: string; updated: string })[];
}

interface JournalEntry {
  sys_id: string;
  element_id: string;
  element: 'work_notes' | 'comments';
  name: string;
  value: string;
  sys_created_on: string;
}

const newSysId = (): string => randomBytes(16).toString('hex');

/** ServiceNow's error envelope. */
const failure = (message: string, detail: string | null = null) => ({
  error: { message, detail },
  status: 'failure',
});

class QueryError extends Error {}

/** An encoded query as a filter and an order; only what certfleet and its tests send. */
function compileQuery(encoded: string | null): {
  test: (row: Row) => boolean;
  order: (rows: Row[]) => Row[];
} {
  const conditions: ((row: Row) => boolean)[] = [];
  const orders: { field: string; desc: boolean }[] = [];
  for (const term of (encoded ?? '').split('^').filter((t) => t !== '')) {
    const order = /^ORDERBY(DESC)?([a-z0-9_.]+)$/.exec(term);
    if (order) {
      orders.push({ field: order[2]!, desc: order[1] !== undefined });
      continue;
    }
    const m = /^([a-z0-9_.]+)(!=|=|LIKE|STARTSWITH|IN)(.*)$/.exec(term);
    if (!m) throw new QueryError(`unsupported query term: ${term}`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const of = (row: Row): string => row[field] ?? '';
    conditions.push(
      op === '='
        ? (row) => of(row) === value
        : op === '!='
          ? (row) => of(row) !== value
          : op === 'LIKE'
            ? (row) => of(row).toLowerCase().includes(value.toLowerCase())
            : op === 'STARTSWITH'
              ? (row) => of(row).startsWith(value)
              : (row) => value.split(',').includes(of(row)),
    );
  }
  return {
    test: (row) => conditions.every((c) => c(row)),
    order: (rows) =>
      orders.length === 0
        ? rows
        : [...rows].sort((a, b) => {
            for (const { field, desc } of orders) {
              const cmp = (a[field] ?? '').localeCompare(b[field] ?? '');
              if (cmp !== 0) return desc ? -cmp : cmp;
            }
            return 0;
          }),
  };
}

/** The fields asked for (`sysparm_fields`), those the row has; every field without it. */
function pick(row: Row, fields: string | null): Row {
  if (!fields) return { ...row };
  const out: Row = {};
  for (const f of fields.split(',')) if (Object.hasOwn(row, f)) out[f] = row[f]!;
  return out;
}

/** A timestamp as ServiceNow writes it (`2025-01-31 12:00:00`), one second apart per call. */
function stamps(): () => string {
  let at = Date.parse('2025-01-01T00:00:00Z');
  return () => {
    at += 1000;
    return new Date(at).toISOString().replace('T', ' ').slice(0, 19);
  };
}

/** Starts the instance on 127.0.0.1 and its file host on 127.0.0.2, each on a free port. */
export async function startFakeServiceNow(): Promise<FakeServiceNow> {
  const username = 'certfleet.integration';
  const password = 'sn-password-for-tests';
  const oauthToken = 'sn-oauth-token-for-tests';
  const webhookSecret = 'sn-webhook-secret-for-tests';
  const records = new Map<string, StoredRecord>();
  const journal: JournalEntry[] = [];
  const writes = new Map<string, FakeWrite[]>();
  const requests: RecordedRequest[] = [];
  const busy: { prefix: string; left: number }[] = [];
  const blobs = new Map<string, { bytes: Buffer; token: string }>();
  const accepted = new Set([
    `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
    `Bearer ${oauthToken}`,
  ]);
  const now = stamps();
  let url = '';
  let filesUrl = '';

  const send = (
    res: ServerResponse,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ): number => sendJson(res, status, body, headers, 'application/json;charset=UTF-8');

  const rowOf = (sysId: string, r: StoredRecord): Row => ({ ...r.fields, sys_id: sysId });

  const rowsOf = (table: string): Row[] => {
    if (table === 'sys_journal_field') return journal.map((j) => ({ ...j }));
    if (table === 'sysapproval_approver') {
      return [...records.entries()].flatMap(([sysId, r]) =>
        r.approvers.map((a) => ({
          sys_id: a.sys_id,
          sysapproval: sysId,
          state: a.state,
          'approver.email': a.email ?? '',
          'approver.user_name': a.user_name ?? '',
          sys_updated_on: a.updated,
        })),
      );
    }
    return [...records.entries()].filter(([, r]) => r.table === table).map(([id, r]) => rowOf(id, r));
  };

  const attachmentRows = (): Row[] =>
    [...records.entries()].flatMap(([sysId, r]) =>
      r.attachments.map(({ sys_id, attachment, created }) => ({
        sys_id,
        table_name: r.table,
        table_sys_id: sysId,
        file_name: attachment.file_name,
        content_type: attachment.content_type ?? 'application/octet-stream',
        size_bytes: String(attachment.size ?? attachment.bytes.length),
        size_compressed: String(attachment.bytes.length),
        download_link: `${url}/api/now/attachment/${sys_id}/file`,
        sys_created_on: created,
      })),
    );

  const listAttachments = (res: ServerResponse, u: URL): number => {
    const q = compileQuery(u.searchParams.get('sysparm_query'));
    const all = q.order(attachmentRows().filter(q.test));
    const asked = Number(u.searchParams.get('sysparm_limit') ?? FAKE_ATTACHMENT_PAGE);
    const limit = Math.max(1, Math.min(asked, FAKE_ATTACHMENT_PAGE));
    const offset = Number(u.searchParams.get('sysparm_offset') ?? '0');
    const page = all.slice(offset, offset + limit);
    const link = (at: number, rel: string): string => {
      const next = new URL(u.pathname, url);
      next.searchParams.set('sysparm_query', u.searchParams.get('sysparm_query') ?? '');
      next.searchParams.set('sysparm_limit', String(limit));
      next.searchParams.set('sysparm_offset', String(at));
      return `<${next.href}>;rel="${rel}"`;
    };
    const links = [
      link(0, 'first'),
      ...(offset > 0 ? [link(Math.max(0, offset - limit), 'prev')] : []),
      ...(offset + limit < all.length ? [link(offset + limit, 'next')] : []),
      link(Math.max(0, Math.floor((all.length - 1) / limit) * limit), 'last'),
    ];
    return send(res, 200, { result: page }, { link: links.join(','), 'x-total-count': String(all.length) });
  };

  const patch = async (
    request: IncomingMessage,
    res: ServerResponse,
    u: URL,
    sysId: string,
    record: StoredRecord,
  ): Promise<number> => {
    const body = (await readJson(request)) as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object') return send(res, 400, failure('Exception while reading request'));
    const write: FakeWrite = {};
    for (const key of ['work_notes', 'comments', 'state'] as const) {
      const value = body[key];
      if (value === undefined) continue;
      if (typeof value !== 'string') return send(res, 400, failure(`Invalid value for ${key}`));
      write[key] = value;
    }
    if (write.state !== undefined && !/^-?\d{1,3}$/.test(write.state)) {
      return send(res, 400, failure('Invalid state', `${write.state} is not a choice of state`));
    }
    for (const element of ['work_notes', 'comments'] as const) {
      const value = write[element];
      if (value === undefined || value === '') continue;
      journal.push({
        sys_id: newSysId(),
        element_id: sysId,
        element,
        name: record.table,
        value,
        sys_created_on: now(),
      });
    }
    if (write.state !== undefined) record.fields['state'] = write.state;
    record.fields['sys_mod_count'] = String(Number(record.fields['sys_mod_count'] ?? '0') + 1);
    writes.set(sysId, [...(writes.get(sysId) ?? []), write]);
    return send(res, 200, { result: pick(rowOf(sysId, record), u.searchParams.get('sysparm_fields')) });
  };

  const desk = async (request: IncomingMessage, res: ServerResponse): Promise<number> => {
    const u = new URL(request.url ?? '/', url);
    if (!accepted.has(request.headers.authorization ?? '')) {
      return send(res, 401, failure('User Not Authenticated', 'Required to provide Auth information'));
    }
    const slot = busy.find((b) => b.left > 0 && u.pathname.startsWith(b.prefix));
    if (slot) {
      slot.left -= 1;
      return send(res, 429, failure('Too Many Requests', 'The rate limit for this user has been exceeded'), {
        'retry-after': '1',
      });
    }
    try {
      const file = /^\/api\/now\/attachment\/([0-9a-f]{32})\/file$/.exec(u.pathname);
      if (file && request.method === 'GET') {
        const found = [...records.values()].flatMap((r) => r.attachments).find((a) => a.sys_id === file[1]);
        if (!found)
          return send(res, 404, failure('Record doesn\u2019t exist or ACL restricts the record retrieval'));
        if (found.attachment.redirect) {
          const blob = blobs.get(found.sys_id)!;
          return send(res, 302, undefined, {
            location: `${filesUrl}/blob/${found.sys_id}?sig=${blob.token}`,
          });
        }
        res.writeHead(200, {
          'content-type': found.attachment.content_type ?? 'application/octet-stream',
          'content-length': String(found.attachment.bytes.length),
        });
        res.end(found.attachment.bytes);
        return 200;
      }
      if (u.pathname === '/api/now/attachment' && request.method === 'GET') return listAttachments(res, u);
      const one = /^\/api\/now\/table\/([a-z][a-z0-9_]*)\/([^/]+)$/.exec(u.pathname);
      if (one) {
        const [, table, sysId] = one as unknown as [string, string, string];
        const record = records.get(sysId);
        if (!record || record.table !== table) {
          return send(
            res,
            404,
            failure('No Record found', 'Record doesn\u2019t exist or ACL restricts the record retrieval'),
          );
        }
        if (request.method === 'GET') {
          return send(res, 200, { result: pick(rowOf(sysId, record), u.searchParams.get('sysparm_fields')) });
        }
        if (request.method === 'PATCH' || request.method === 'PUT')
          return await patch(request, res, u, sysId, record);
        return send(res, 405, failure('Method not Supported'));
      }
      const list = /^\/api\/now\/table\/([a-z][a-z0-9_]*)$/.exec(u.pathname);
      if (list && request.method === 'GET') {
        const q = compileQuery(u.searchParams.get('sysparm_query'));
        const limit = Number(u.searchParams.get('sysparm_limit') ?? '10000');
        const offset = Number(u.searchParams.get('sysparm_offset') ?? '0');
        const rows = q.order(rowsOf(list[1]!).filter(q.test)).slice(offset, offset + limit);
        return send(res, 200, { result: rows.map((r) => pick(r, u.searchParams.get('sysparm_fields'))) });
      }
      return send(res, 400, failure('Requested URI does not represent any resource'));
    } catch (err) {
      if (err instanceof QueryError) return send(res, 400, failure('Invalid query', err.message));
      throw err;
    }
  };

  const files = (request: IncomingMessage, res: ServerResponse): number => {
    // a signed URL is the credential here: an Authorization header is a leak
    if (request.headers.authorization !== undefined) return send(res, 403, failure('credentials refused'));
    const u = new URL(request.url ?? '/', filesUrl);
    const id = /^\/blob\/([0-9a-f]{32})$/.exec(u.pathname)?.[1];
    const blob = id === undefined ? undefined : blobs.get(id);
    if (!blob || u.searchParams.get('sig') !== blob.token) return send(res, 404);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(blob.bytes);
    return 200;
  };

  const servers = await startDeskServers(desk, files, requests, (res) =>
    send(res, 500, failure('Internal error')),
  );
  url = servers.url;
  filesUrl = servers.filesUrl;

  const stored = (sysId: string): StoredRecord => {
    const r = records.get(sysId);
    if (!r) throw new Error(`fake ServiceNow: no record ${sysId}`);
    return r;
  };

  return {
    url,
    filesUrl,
    username,
    password,
    oauthToken,
    webhookSecret,
    requests,
    put(input) {
      const sysId = input.sys_id ?? newSysId();
      const record: StoredRecord = {
        table: input.table ?? 'sc_req_item',
        fields: {
          state: '1',
          sys_mod_count: '0',
          approval: input.approval ?? 'not requested',
          ...input.fields,
        },
        attachments: (input.attachments ?? []).map((attachment) => {
          const id = newSysId();
          blobs.set(id, { bytes: attachment.bytes, token: randomBytes(8).toString('hex') });
          return { sys_id: id, attachment, created: now() };
        }),
        approvers: (input.approvers ?? []).map((a) => ({ ...a, sys_id: newSysId(), updated: now() })),
      };
      records.set(sysId, record);
      return sysId;
    },
    setApproval(sysId, approval, approver) {
      const record = stored(sysId);
      record.fields['approval'] = approval;
      // an update like any other: the record's sys_mod_count moves on
      record.fields['sys_mod_count'] = String(Number(record.fields['sys_mod_count'] ?? '0') + 1);
      if (approver) record.approvers.push({ ...approver, sys_id: newSysId(), updated: now() });
    },
    record(sysId) {
      const r = records.get(sysId);
      return r ? rowOf(sysId, r) : undefined;
    },
    busy(prefix, count = 1) {
      busy.push({ prefix, left: count });
    },
    written(sysId) {
      return writes.get(sysId) ?? [];
    },
    async ring(certfleetUrl, instance, sysId, options = {}) {
      const body = JSON.stringify({
        sys_id: sysId,
        ...(options.password === undefined ? {} : { password: options.password }),
      });
      const t = Math.floor((options.at ?? new Date()).getTime() / 1000);
      const encoding = options.encoding ?? 'base64';
      const mac = serviceNowSignature(options.secret ?? webhookSecret, t, body, encoding);
      const delivery =
        options.delivery === undefined
          ? `${sysId}-${records.get(sysId)?.fields['sys_mod_count'] ?? '0'}`
          : options.delivery;
      const res = await fetch(`${certfleetUrl}/v1/adapters/servicenow/${instance}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-certfleet-signature': `t=${t},${encoding === 'base64' ? 'v1b64' : 'v1'}=${mac}`,
          ...(delivery === false ? {} : { 'x-certfleet-delivery': delivery }),
        },
        body,
      });
      const text = await res.text();
      return { status: res.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
    },
    close: () => servers.close(),
  };
}
