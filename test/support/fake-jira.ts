/**
 * A Jira Service Management on loopback that follows the documented shapes: `GET
 * /rest/api/3/issue/{key}?fields=…` (only the fields asked for; option objects, user
 * objects, the `attachment` array), attachment content with `redirect=false` (the bytes)
 * or without (303 to a media host that refuses any request carrying credentials), the
 * Service Management approvals and request comments in their paged envelope (`start`,
 * `limit`, `isLastPage`), issue transitions, Basic `email:api_token` or a Bearer PAT (401
 * with Jira's `errorMessages` otherwise), and 429 with Retry-After on demand. It also
 * rings certfleet as a signed admin webhook does, with issue fields in the body that
 * differ from the API's (certfleet must read back, not trust them).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { jiraSignature } from '@certfleet/helpdesk';
import { readJson, sendJson, startDeskServers, type RecordedRequest } from './fake-desk-http.js';

export interface FakeJiraAttachment {
  filename: string;
  bytes: Buffer;
  /** What the issue says (default: the real size). */
  size?: number;
}

export interface FakeApproval {
  finalDecision: 'approved' | 'declined' | 'pending';
  approvers: { email: string; decision: 'approved' | 'declined' | 'pending' }[];
  /** When it was decided (ms; default: a fixed time, in the order given); pending ones have none. */
  completedAt?: number;
}

export interface FakeTransition {
  id: string;
  name: string;
  /** The status it leads to. */
  to: string;
}

export interface FakeIssue {
  reporter: string;
  /** Custom field values as Jira answers them: a string, `{value}`, a list of those, or null. */
  fields: Record<string, unknown>;
  attachments: FakeJiraAttachment[];
  /** Absent: the issue is no service request (the approval API answers 404). */
  approvals?: FakeApproval[];
  /** Where the workflow is; the transitions offered lead away from it. */
  status: string;
  /** The transitions offered from every status (default: the fake's workflow, by status). */
  transitions?: FakeTransition[];
  comments: { body: string; public: boolean; author: string }[];
}

export interface FakeJira {
  url: string;
  filesUrl: string;
  email: string;
  apiToken: string;
  /** The Data Center personal access token (Bearer). */
  pat: string;
  webhookSecret: string;
  issues: Map<string, FakeIssue>;
  /** Users whose profile hides their e-mail (Atlassian's privacy setting): they show an accountId only. */
  privateEmails: Set<string>;
  requests: RecordedRequest[];
  busy(pathPrefix: string, count?: number): void;
  /** Comments certfleet wrote on an issue. */
  written(key: string): { body: string; public: boolean }[];
  /** The account id the fake gives a user (what a hidden e-mail leaves). */
  accountIdOf(email: string): string;
  /** The transitions certfleet made, by name. */
  transitioned(key: string): string[];
  ring(
    certfleetUrl: string,
    instance: string,
    key: string,
    options?: { secret?: string; identifier?: string; event?: string },
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** The most entries a page holds here, whatever `limit` asks (so paging is exercised). */
const PAGE = 2;
/** The workflow: from each status, the transitions offered and where they lead. */
const WORKFLOW: Record<string, FakeTransition[]> = {
  'Waiting for support': [
    { id: '11', name: 'Resolve', to: 'Resolved' },
    { id: '21', name: 'Escalate', to: 'In progress' },
  ],
  'In progress': [{ id: '11', name: 'Resolve', to: 'Resolved' }],
  Resolved: [{ id: '31', name: 'Reopen', to: 'Waiting for support' }],
};

export async function startFakeJira(): Promise<FakeJira> {
  const email = 'certfleet@acme.example';
  const apiToken = 'jira-api-token-for-tests';
  const pat = 'jira-dc-personal-access-token';
  const webhookSecret = 'jira-webhook-secret-for-tests';
  const accepted = new Set([
    `Basic ${Buffer.from(`${email}:${apiToken}`).toString('base64')}`,
    `Bearer ${pat}`,
  ]);
  const issues = new Map<string, FakeIssue>();
  const requests: RecordedRequest[] = [];
  const busy: { prefix: string; left: number }[] = [];
  const transitions = new Map<string, string[]>();
  const privateEmails = new Set<string>();
  /** Attachment ids by issue key and position, unique across projects (as Jira's are). */
  const attachmentIds = new Map<string, string>();
  const media = new Map<string, { bytes: Buffer; token: string }>();
  let url = '';
  let filesUrl = '';

  const attachmentsOf = (key: string, issue: FakeIssue): unknown[] =>
    issue.attachments.map((a, i) => {
      const slot = `${key}#${i}`;
      const id = attachmentIds.get(slot) ?? String(10100 + attachmentIds.size);
      attachmentIds.set(slot, id);
      // the bytes as the test last set them, under the media token first handed out
      media.set(id, { bytes: a.bytes, token: media.get(id)?.token ?? randomBytes(8).toString('hex') });
      return {
        self: `${url}/rest/api/3/attachment/${id}`,
        id,
        filename: a.filename,
        author: { accountId: '5b10a2844c20165700ede21g', displayName: 'Customer' },
        created: '2026-12-03T10:00:00.000+0000',
        size: a.size ?? a.bytes.length,
        mimeType: 'application/octet-stream',
        content: `${url}/rest/api/3/attachment/content/${id}`,
      };
    });
  const accountIdOf = (mail: string): string =>
    `557058:${createHash('sha256').update(mail).digest('hex').slice(0, 24)}`;
  const user = (mail: string) => ({
    accountId: accountIdOf(mail),
    ...(privateEmails.has(mail) ? {} : { emailAddress: mail }),
    displayName: mail.split('@')[0],
    active: true,
    timeZone: 'Europe/Amsterdam',
  });
  /** The Service Management date envelope. */
  const date = (ms: number) => ({
    iso8601: new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000'),
    jira: new Date(ms).toISOString().replace(/Z$/, '+0000'),
    friendly: new Date(ms).toUTCString(),
    epochMillis: ms,
  });
  const paged = <T>(all: T[], u: URL) => {
    const start = Number(u.searchParams.get('start') ?? '0');
    const limit = Math.min(Number(u.searchParams.get('limit') ?? '50'), PAGE);
    const values = all.slice(start, start + limit);
    return { size: values.length, start, limit, isLastPage: start + limit >= all.length, values };
  };

  const desk = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const u = new URL(req.url ?? '/', url);
    if (!accepted.has(req.headers.authorization ?? '')) {
      return sendJson(res, 401, {
        errorMessages: ['You are not authenticated. Authentication required to perform this operation.'],
        errors: {},
      });
    }
    const slot = busy.find((b) => b.left > 0 && u.pathname.startsWith(b.prefix));
    if (slot) {
      slot.left -= 1;
      return sendJson(res, 429, { errorMessages: ['Rate limit exceeded.'] }, { 'retry-after': '1' });
    }
    const content = /^\/rest\/api\/3\/attachment\/content\/(\d+)$/.exec(u.pathname);
    if (content && req.method === 'GET') {
      const blob = media.get(content[1]!);
      if (!blob) return sendJson(res, 404, { errorMessages: ['The attachment does not exist.'] });
      if (u.searchParams.get('redirect') === 'false') {
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': String(blob.bytes.length),
        });
        res.end(blob.bytes);
        return 200;
      }
      return sendJson(res, 303, undefined, {
        location: `${filesUrl}/file/${content[1]}?token=${blob.token}`,
      });
    }
    const m =
      /^\/rest\/(api\/3\/issue|servicedeskapi\/request)\/([A-Z][A-Z0-9_]*-\d+)(?:\/(approval|comment|transitions))?$/.exec(
        u.pathname,
      );
    const issue = m ? issues.get(m[2]!) : undefined;
    if (!m || !issue) {
      return sendJson(res, 404, {
        errorMessages: ['Issue does not exist or you do not have permission to see it.'],
        errors: {},
      });
    }
    const [, api, key, sub] = m as unknown as [string, string, string, string | undefined];
    if (api === 'api/3/issue' && sub === undefined && req.method === 'GET') {
      const wanted = (u.searchParams.get('fields') ?? '*all').split(',');
      const all: Record<string, unknown> = {
        // a custom field asked for but empty is there, null
        ...Object.fromEntries(wanted.filter((f) => f.startsWith('customfield_')).map((f) => [f, null])),
        ...issue.fields,
        reporter: user(issue.reporter),
        attachment: attachmentsOf(key, issue),
        status: { name: issue.status },
        summary: 'Install our client certificate',
      };
      const fields = Object.fromEntries(
        Object.entries(all).filter(([k]) => wanted.includes('*all') || wanted.includes(k)),
      );
      return sendJson(res, 200, {
        expand: 'renderedFields',
        id: key.replace(/\D/g, ''),
        self: `${url}/rest/api/3/issue/${key}`,
        key,
        fields,
      });
    }
    if (api === 'api/3/issue' && sub === 'transitions') {
      const offered = issue.transitions ?? WORKFLOW[issue.status] ?? [];
      if (req.method === 'GET') {
        return sendJson(res, 200, {
          expand: 'transitions',
          transitions: offered.map((t) => ({ id: t.id, name: t.name, to: { name: t.to }, hasScreen: false })),
        });
      }
      const body = (await readJson(req)) as { transition?: { id?: string } };
      const t = offered.find((o) => o.id === body.transition?.id);
      if (!t)
        return sendJson(res, 400, {
          errorMessages: ['Transition id is not valid for this issue.'],
          errors: {},
        });
      issue.status = t.to;
      transitions.set(key, [...(transitions.get(key) ?? []), t.name]);
      return sendJson(res, 204);
    }
    if (api === 'servicedeskapi/request' && sub === 'approval' && req.method === 'GET') {
      if (!issue.approvals)
        return sendJson(res, 404, { errorMessage: 'The request does not exist.', i18nErrorMessage: {} });
      const created = Date.parse('2026-12-03T10:00:00Z');
      const values = issue.approvals.map((a, i) => ({
        id: String(i + 1),
        name: 'Approve the certificate',
        finalDecision: a.finalDecision,
        canAnswerApproval: false,
        approvers: a.approvers.map((p) => ({ approver: user(p.email), approverDecision: p.decision })),
        createdDate: date(created + i * 60_000),
        ...(a.finalDecision === 'pending'
          ? {}
          : { completedDate: date(a.completedAt ?? created + i * 60_000 + 30_000) }),
        _links: { self: `${url}/rest/servicedeskapi/request/${key}/approval/${i + 1}` },
      }));
      return sendJson(res, 200, paged(values, u));
    }
    if (api === 'servicedeskapi/request' && sub === 'comment') {
      if (req.method === 'GET') {
        const showPublic = u.searchParams.get('public') !== 'false';
        const showInternal = u.searchParams.get('internal') !== 'false';
        const all = issue.comments
          .map((c, i) => ({ id: String(1000 + i), body: c.body, public: c.public, author: user(c.author) }))
          .filter((c) => (c.public ? showPublic : showInternal));
        return sendJson(res, 200, paged(all, u));
      }
      const body = (await readJson(req)) as { body?: unknown; public?: unknown };
      if (typeof body.body !== 'string' || typeof body.public !== 'boolean') {
        return sendJson(res, 400, { errorMessage: 'body and public are required', i18nErrorMessage: {} });
      }
      issue.comments.push({ body: body.body, public: body.public, author: email });
      return sendJson(res, 201, {
        id: String(1000 + issue.comments.length - 1),
        body: body.body,
        public: body.public,
        author: user(email),
        created: date(Date.now()),
      });
    }
    return sendJson(res, 404, { errorMessages: ['No such endpoint'] });
  };

  const files = (req: IncomingMessage, res: ServerResponse): number => {
    // the media host takes its signed URL only: credentials sent here are a leak
    if (req.headers.authorization !== undefined) return sendJson(res, 403, { error: 'credentials refused' });
    const u = new URL(req.url ?? '/', filesUrl);
    const id = /^\/file\/(\d+)$/.exec(u.pathname)?.[1];
    const blob = id === undefined ? undefined : media.get(id);
    if (!blob || u.searchParams.get('token') !== blob.token) return sendJson(res, 404);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(blob.bytes);
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
    pat,
    webhookSecret,
    issues,
    privateEmails,
    requests,
    busy(prefix, count = 1) {
      busy.push({ prefix, left: count });
    },
    written(key) {
      return (issues.get(key)?.comments ?? [])
        .filter((c) => c.author === email)
        .map(({ body, public: p }) => ({ body, public: p }));
    },
    accountIdOf,
    transitioned(key) {
      return transitions.get(key) ?? [];
    },
    async ring(certfleetUrl, instance, key, options = {}) {
      const body = JSON.stringify({
        timestamp: Date.now(),
        webhookEvent: options.event ?? 'jira:issue_updated',
        issue_event_type_name: 'issue_generic',
        user: { accountId: 'acct-agent', displayName: 'Agent' },
        // not what the API says: certfleet reads the issue back and must not take these
        issue: {
          id: key.replace(/\D/g, ''),
          key,
          fields: { customfield_10050: 'acme-evil', customfield_10051: 'evil' },
        },
      });
      const res = await fetch(`${certfleetUrl}/v1/adapters/jira/${instance}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-hub-signature': jiraSignature(options.secret ?? webhookSecret, body),
          'x-atlassian-webhook-identifier': options.identifier ?? randomBytes(8).toString('hex'),
        },
        body,
      });
      const text = await res.text();
      return { status: res.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
    },
    close: () => servers.close(),
  };
}
