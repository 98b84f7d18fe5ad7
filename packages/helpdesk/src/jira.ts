/**
 * Jira Service Management: admin webhooks signed `X-Hub-Signature: sha256=<hex
 * HMAC-SHA256(secret, raw body)>`, issues and attachments through the platform REST
 * API, approvals and request comments through the Service Management API. Basic
 * `email:api_token` (Cloud) or a Bearer personal access token (Data Center).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Type, type Static } from 'typebox';
import type {
  DeskApproval,
  DeskAttachment,
  DeskRequest,
  DeskTicket,
  Doorbell,
  HelpdeskAdapter,
} from './adapter.js';
import { DeskHttp } from './desk-http.js';
import { DeskHttpError } from './desk-http-error.js';
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

export const JIRA_SIGNATURE_HEADER = 'x-hub-signature';
/** Jira's id of one webhook delivery: the same on its retries (which may come 30 minutes late). */
export const JIRA_IDENTIFIER_HEADER = 'x-atlassian-webhook-identifier';

const ISSUE_KEY = /^[A-Z][A-Z0-9_]{0,19}-\d{1,12}$/;
const DELIVERY = /^[A-Za-z0-9_-]{1,100}$/;
const SIGNATURE = /^sha256=([0-9a-f]{64})$/;
/** The patterns applied to the doorbell (for the regex-safety check). */
export const JIRA_PATTERNS: readonly RegExp[] = [ISSUE_KEY, DELIVERY, SIGNATURE];

/** The signature Jira sends: `sha256=` and the hex HMAC-SHA256 of the raw body under the secret. */
export function jiraSignature(secret: string, rawBody: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

const CustomField = Type.String({ pattern: '^customfield_\\d{1,10}$' });

/** One Jira Service Management instance in the adapters file. */
export const JiraInstance = Type.Object(
  {
    system: Type.Literal('jira'),
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    baseUrl: Type.String({
      pattern: '^https?://[^/?#]+(/[^?#]*)?$',
      description: 'https://<site>.atlassian.net, or a Data Center base URL',
    }),
    /** Cloud: the account's e-mail (Basic email:apiToken); absent: apiToken is a Data Center PAT (Bearer). */
    email: Type.Optional(Type.String({ minLength: 3, maxLength: 254 })),
    apiToken: SecretRef,
    webhookSecret: SecretRef,
    /** Ids of the custom fields that hold what certfleet reads. */
    fields: Type.Object(
      {
        environments: CustomField,
        name: CustomField,
        replace: Type.Optional(CustomField),
      },
      { additionalProperties: false },
    ),
    /** Transition names (or their target status names) a request takes when its job ends so. */
    statuses: Type.Optional(StatusMap),
  },
  { additionalProperties: false },
);
export type JiraConfig = WithTokenAndSecret<Static<typeof JiraInstance>>;

interface JiraUser {
  accountId?: string;
  emailAddress?: string;
  displayName?: string;
  name?: string;
}
interface JiraAttachment {
  id: string;
  filename: string;
  size: number;
}
interface JiraIssue {
  id: string;
  key: string;
  fields: Record<string, unknown> & { reporter?: JiraUser | null; attachment?: JiraAttachment[] };
}
/** The Service Management API's paged envelope. */
interface JsmPage<T> {
  isLastPage: boolean;
  start?: number;
  limit?: number;
  values: T[];
}
type JsmDecision = 'approved' | 'declined' | 'pending';
interface JsmApproval {
  finalDecision: JsmDecision;
  approvers?: { approver: JiraUser; approverDecision: JsmDecision }[];
  /** The Service Management date envelope; absent while the approval is pending. */
  completedDate?: { epochMillis?: number; iso8601?: string };
}
interface JsmComment {
  body: string;
  public: boolean;
}
interface JiraTransitions {
  transitions: { id: string; name: string; to?: { name?: string } }[];
}

/** A field's value as text: a string, an option (`{value}`), a user, or a list of those. */
function values(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap(values);
  if (typeof value === 'object') {
    const v = value as { value?: unknown; name?: unknown };
    return values(v.value ?? v.name);
  }
  return splitList(String(value));
}

const MAX_PAGES = 100;

/** The approval decided last: by its completedDate, in the API's order where it has none. */
function latest(approvals: JsmApproval[]): JsmApproval | undefined {
  const at = (a: JsmApproval): number => a.completedDate?.epochMillis ?? 0;
  // sort is stable: approvals without a date keep the order the API gave them
  return [...approvals].sort((a, b) => at(a) - at(b)).at(-1);
}

/** Who answered `decision` on an approval: the e-mail where the profile shows it, else the account. */
function answeredBy(approval: JsmApproval | undefined, decision: JsmDecision): { by?: string } {
  const user = approval?.approvers?.find((a) => a.approverDecision === decision)?.approver;
  const name = user?.emailAddress ?? user?.name ?? user?.accountId;
  return name ? { by: name } : {};
}

/** A Jira Service Management instance. */
export class JiraAdapter implements HelpdeskAdapter {
  readonly system = 'jira' as const;
  readonly instance: string;
  private readonly http: DeskHttp;

  constructor(private readonly config: JiraConfig) {
    this.instance = config.name;
    const authorization =
      config.email === undefined
        ? `Bearer ${config.apiToken}`
        : `Basic ${Buffer.from(`${config.email}:${config.apiToken}`).toString('base64')}`;
    this.http = new DeskHttp({ baseUrl: config.baseUrl.replace(/\/?$/, '/'), authorization });
  }

  verify({ headers, rawBody }: DeskRequest): Doorbell {
    const given = SIGNATURE.exec(headerOf(headers, JIRA_SIGNATURE_HEADER) ?? '')?.[1];
    if (given === undefined)
      return { ok: false, reason: 'missing or malformed X-Hub-Signature (sha256=<hex>)' };
    const expected = Buffer.from(jiraSignature(this.config.webhookSecret, rawBody).slice(7), 'hex');
    // no time window: Jira signs no timestamp, and its retries may come 30 minutes late
    if (!timingSafeEqual(Buffer.from(given, 'hex'), expected)) {
      return { ok: false, reason: 'signature does not match' };
    }
    let key: unknown;
    try {
      key = (JSON.parse(rawBody.toString('utf8')) as { issue?: { key?: unknown } } | null)?.issue?.key;
    } catch {
      return { ok: false, reason: 'the body is not JSON' };
    }
    if (typeof key !== 'string' || !ISSUE_KEY.test(key)) {
      return { ok: false, reason: 'the body has no issue.key (like SD-42)' };
    }
    const identifier = headerOf(headers, JIRA_IDENTIFIER_HEADER);
    const deliveryId =
      identifier !== undefined && DELIVERY.test(identifier)
        ? identifier
        : createHash('sha256').update(rawBody).digest('hex').slice(0, 40);
    return { ok: true, deliveryId, ticketId: key };
  }

  /** The issue key, checked again: it goes into URL paths. */
  private static key(ticketId: string): string {
    if (!ISSUE_KEY.test(ticketId)) {
      throw new DeskHttpError('desk_refused', 'a Jira ticket id is an issue key (like SD-42)', true);
    }
    return ticketId;
  }

  private issue(ticketId: string): Promise<JiraIssue> {
    const { fields } = this.config;
    const wanted = ['attachment', 'reporter', fields.environments, fields.name, fields.replace].filter(
      (f): f is string => f !== undefined,
    );
    return this.http.json<JiraIssue>(
      'GET',
      `rest/api/3/issue/${JiraAdapter.key(ticketId)}?fields=${wanted.join(',')}`,
    );
  }

  async readTicket(ticketId: string): Promise<DeskTicket> {
    const issue = await this.issue(ticketId);
    const { fields } = this.config;
    const reporter = issue.fields.reporter ?? undefined;
    const replace = values(fields.replace === undefined ? undefined : issue.fields[fields.replace]);
    return {
      id: issue.key,
      ref: issue.key,
      requester: reporter?.emailAddress ?? reporter?.name ?? reporter?.accountId ?? 'jira-unknown-reporter',
      environments: values(issue.fields[fields.environments]),
      name: values(issue.fields[fields.name])[0],
      replace: replace.length > 0 && /^(true|yes)$/i.test(replace[0]!),
      // the key the API answers (a moved issue has a new one), checked as the doorbell's was
      approval: await this.approval(JiraAdapter.key(issue.key)),
      // the same read carries them: the intake lists no second time
      attachments: JiraAdapter.attachments(issue),
    };
  }

  /** Every page of a Service Management list (`start`, `limit`, `isLastPage`). */
  private async pages<T>(path: string): Promise<T[]> {
    const all: T[] = [];
    const joiner = path.includes('?') ? '&' : '?';
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await this.http.json<JsmPage<T>>('GET', `${path}${joiner}start=${all.length}&limit=50`);
      all.push(...body.values);
      if (body.isLastPage || body.values.length === 0) break;
    }
    return all;
  }

  /**
   * The request's approvals: any declined declines, any pending waits, all approved
   * approve, named by an approver who said yes on the one decided last. An issue that is
   * not a service request (404) or has no approval step has none.
   */
  private async approval(key: string): Promise<DeskApproval | undefined> {
    let approvals: JsmApproval[];
    try {
      approvals = await this.pages<JsmApproval>(`rest/servicedeskapi/request/${key}/approval`);
    } catch (err) {
      if (err instanceof DeskHttpError && err.status === 404) return undefined;
      throw err;
    }
    if (approvals.length === 0) return undefined;
    const declined = approvals.filter((a) => a.finalDecision === 'declined');
    if (declined.length > 0) return { state: 'declined', ...answeredBy(latest(declined), 'declined') };
    if (approvals.some((a) => a.finalDecision !== 'approved')) return { state: 'pending' };
    return { state: 'approved', ...answeredBy(latest(approvals), 'approved') };
  }

  async listAttachments(ticketId: string): Promise<DeskAttachment[]> {
    return JiraAdapter.attachments(await this.issue(ticketId));
  }

  private static attachments(issue: JiraIssue): DeskAttachment[] {
    return (issue.fields.attachment ?? []).map((a) => ({
      id: String(a.id),
      fileName: a.filename,
      size: a.size,
      // redirect=false: the bytes from the API host itself, not a hop to the media host
      contentUrl: `rest/api/3/attachment/content/${encodeURIComponent(a.id)}?redirect=false`,
      malware: false,
    }));
  }

  download(attachment: DeskAttachment, maxBytes: number): Promise<Buffer> {
    return this.http.download(attachment.contentUrl, maxBytes);
  }

  private async comment(ticketId: string, body: string, isPublic: boolean): Promise<void> {
    await this.http.json('POST', `rest/servicedeskapi/request/${JiraAdapter.key(ticketId)}/comment`, {
      body,
      public: isPublic,
    });
  }

  async writeNote(ticketId: string, body: string, jobStatus?: string): Promise<void> {
    await this.comment(ticketId, body, false);
    const wanted = mappedStatus(this.config.statuses, jobStatus)?.toLowerCase();
    if (wanted === undefined) return;
    const path = `rest/api/3/issue/${JiraAdapter.key(ticketId)}/transitions`;
    const { transitions } = await this.http.json<JiraTransitions>('GET', path);
    const transition = transitions.find(
      (t) => t.name.toLowerCase() === wanted || t.to?.name?.toLowerCase() === wanted,
    );
    // not offered from where the request is (it is there already, or the workflow says no): left as it is
    if (transition) await this.http.json('POST', path, { transition: { id: transition.id } });
  }

  async hasNote(ticketId: string, marker: string): Promise<boolean> {
    const comments = await this.pages<JsmComment>(
      `rest/servicedeskapi/request/${JiraAdapter.key(ticketId)}/comment?public=false&internal=true`,
    );
    return comments.some((c) => !c.public && c.body.includes(marker));
  }

  postReply(ticketId: string, body: string): Promise<void> {
    return this.comment(ticketId, body, true);
  }
}

/** Jira Service Management's entry in the adapters file. */
export const jiraSystem: SystemDefinition<typeof JiraInstance> = tokenAndSecretSystem(
  JiraInstance,
  (config) => new JiraAdapter(config),
);
