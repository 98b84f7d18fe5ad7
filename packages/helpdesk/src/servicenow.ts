/**
 * ServiceNow: no webhook signing of its own, so an async Business Rule
 * (docs/servicenow-business-rule.js) signs the doorbell the way certfleet's generic
 * webhook is signed; requested items, approvals, attachments and journal entries
 * through the Table and Attachment APIs, with Basic or OAuth Bearer credentials.
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
  type SystemDefinition,
} from './system-definition.js';

/** `t=<unix seconds>,v1b64=<base64 HMAC>` (what the Business Rule sends) or `v1=<hex HMAC>` (the generic webhook's form). */
export const SERVICENOW_SIGNATURE_HEADER = 'x-certfleet-signature';
/** The Business Rule's id of one change of the record (sys_id + sys_mod_count): the same when sent again. */
export const SERVICENOW_DELIVERY_HEADER = 'x-certfleet-delivery';
/** How far a signature timestamp may be from the API's clock. */
export const SERVICENOW_TOLERANCE_S = 300;
/** The most `password` may hold; a PFX password longer than this is not one. */
export const SERVICENOW_MAX_PASSWORD = 1024;

const SYS_ID = /^[0-9a-f]{32}$/;
const TIMESTAMP = /^\d{1,12}$/;
const HEX_MAC = /^[0-9a-f]{64}$/;
const BASE64_MAC = /^[A-Za-z0-9+/]{43}=$/;
const DELIVERY = /^[A-Za-z0-9_-]{1,100}$/;
/** The patterns applied to the doorbell's headers and body (exported for the regex-safety check). */
export const SERVICENOW_PATTERNS: readonly RegExp[] = [SYS_ID, TIMESTAMP, HEX_MAC, BASE64_MAC, DELIVERY];
/** More signatures than this in one header are refused (rotation needs two), and a longer header. */
const MAX_SIGNATURE_ENTRIES = 8;
const MAX_SIGNATURE_HEADER = 1024;

/**
 * HMAC-SHA256(secret, t + "." + raw body), the key being the secret's UTF-8 bytes. The
 * Business Rule gets the same bytes into `CertificateEncryption.generateMac`, which takes
 * its key base64-encoded, by passing `GlideStringUtil.base64Encode(secret)`; generateMac
 * answers base64 (`v1b64`), certfleet's generic webhook hex (`v1`).
 */
export function serviceNowSignature(
  secret: string,
  t: number | string,
  rawBody: Buffer | string,
  encoding: 'hex' | 'base64',
): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${t}.`).update(rawBody).digest(encoding);
}

/** A field name of the Table API, dot-walked (`variables.environments`, `opened_by.email`). */
const FieldName = (description: string, defaultName?: string) =>
  Type.String({
    pattern: '^[a-z0-9_.]{1,100}$',
    description: defaultName === undefined ? description : `${description}; default ${defaultName}`,
  });

const ServiceNowInstanceObject = Type.Object(
  {
    system: Type.Literal('servicenow'),
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    baseUrl: Type.String({
      pattern: '^https?://[^/?#]+/?$',
      description: 'https://<instance>.service-now.com',
    }),
    /** Basic: the integration user certfleet acts as, with `password`. */
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })),
    password: Type.Optional(SecretRef),
    /** Bearer: an OAuth access token, instead of username and password. */
    oauthToken: Type.Optional(SecretRef),
    webhookSecret: SecretRef,
    /** The table the Business Rule runs on. */
    table: Type.Optional(
      Type.String({ pattern: '^[a-z][a-z0-9_]{0,79}$', description: 'default sc_req_item' }),
    ),
    /** The (dot-walked) fields that hold what certfleet reads, as the Table API names them. */
    fields: Type.Object(
      {
        environments: FieldName('environment names, e.g. variables.environments'),
        name: FieldName('the certificate name, e.g. variables.certificate_name'),
        replace: Type.Optional(FieldName('true/yes/1 to replace, e.g. variables.replace')),
        requester: Type.Optional(FieldName('who asked', 'opened_by.email')),
      },
      { additionalProperties: false },
    ),
    /** The field that names the ticket in certfleet's job (RITM0010001). */
    ticketRef: Type.Optional(FieldName("the job's ticket", 'number')),
    /** The record's approval field (requested, approved, rejected, not requested, ...). */
    approvalField: Type.Optional(FieldName('the approval field', 'approval')),
    /** ServiceNow `state` values (e.g. completed: '3', Closed Complete) a record takes when its job ends so. */
    statuses: Type.Optional(StatusMap),
    /** A queue polled as well: the webhook of a Business Rule is sent once, never again. */
    poll: Type.Optional(
      Type.Object(
        {
          query: Type.String({ minLength: 1, maxLength: 1000, description: 'an encoded query on the table' }),
          intervalSeconds: Type.Integer({ minimum: 30, maximum: 86400 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** One ServiceNow instance in the adapters file: Basic (username + password) or Bearer (oauthToken), exactly one. */
export const ServiceNowInstance = Type.Refine(
  ServiceNowInstanceObject,
  (instance) => authOf(instance) !== undefined,
  () => 'authenticate with username and password (Basic) or with oauthToken (Bearer): exactly one of the two',
);

/** An instance with its secrets' values in place of their references. */
export type ServiceNowConfig = Omit<
  Static<typeof ServiceNowInstanceObject>,
  'password' | 'oauthToken' | 'webhookSecret'
> & {
  password?: string;
  oauthToken?: string;
  webhookSecret: string;
};

/** Which way the instance authenticates; undefined when it gives neither or both. */
function authOf(instance: {
  username?: string | undefined;
  password?: unknown;
  oauthToken?: unknown;
}): 'basic' | 'bearer' | undefined {
  const basic = instance.username !== undefined && instance.password !== undefined;
  const partBasic = instance.username !== undefined || instance.password !== undefined;
  const bearer = instance.oauthToken !== undefined;
  if (basic && !bearer) return 'basic';
  if (bearer && !partBasic) return 'bearer';
  return undefined;
}

/** A Table API record with `sysparm_display_value=false`: every value a string. */
type SnRecord = Record<string, unknown>;
interface SnResult<T> {
  result: T;
}
interface SnAttachment {
  sys_id: string;
  file_name: string;
  size_bytes?: string;
  content_type?: string;
}

/** A value of the Table API as text: a string, or a reference's `value` where a link slipped through. */
function text(value: unknown): string {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value !== null && typeof value === 'object' && 'value' in value) return text(value.value);
  return '';
}

/** A query string, each value encoded (encoded queries hold `^`, `=`, spaces and brackets). */
function query(params: Record<string, string | number>): string {
  return new URLSearchParams(
    Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
}

/**
 * A ticket id as a sys_id, refused otherwise: it goes into encoded queries, where
 * anything but hex could add conditions of its own.
 */
function sysIdOf(ticketId: string): string {
  if (!SYS_ID.test(ticketId)) {
    throw new DeskHttpError(
      'desk_refused',
      'a ServiceNow ticket id is a sys_id (32 lower-case hex digits)',
      true,
    );
  }
  return ticketId;
}

/** Asked per page of attachments; the instance may answer fewer (its own maximum). */
const ATTACHMENT_PAGE = 100;
const MAX_ATTACHMENT_PAGES = 100;
const POLL_LIMIT = 100;

/** A ServiceNow instance. */
export class ServiceNowAdapter implements HelpdeskAdapter {
  readonly system = 'servicenow' as const;
  readonly instance: string;
  readonly pollEverySeconds: number | undefined;
  private readonly http: DeskHttp;
  private readonly table: string;
  private readonly ticketRef: string;
  private readonly approvalField: string;
  private readonly requesterField: string;

  constructor(private readonly config: ServiceNowConfig) {
    this.instance = config.name;
    this.table = config.table ?? 'sc_req_item';
    this.ticketRef = config.ticketRef ?? 'number';
    this.approvalField = config.approvalField ?? 'approval';
    this.requesterField = config.fields.requester ?? 'opened_by.email';
    this.pollEverySeconds = config.poll?.intervalSeconds;
    this.http = new DeskHttp({
      baseUrl: config.baseUrl,
      authorization: ServiceNowAdapter.authorization(config),
    });
  }

  private static authorization(config: ServiceNowConfig): string {
    const auth = authOf(config);
    // The message names the fields only: never a value
    if (auth === undefined) {
      throw new Error(
        `servicenow/${config.name}: give username and password (Basic) or oauthToken (Bearer), exactly one of the two`,
      );
    }
    if (auth === 'bearer') return `Bearer ${config.oauthToken}`;
    return `Basic ${Buffer.from(`${config.username}:${config.password}`, 'utf8').toString('base64')}`;
  }

  verify({ headers, rawBody, now }: DeskRequest): Doorbell {
    const signed = this.checkSignature(headerOf(headers, SERVICENOW_SIGNATURE_HEADER), rawBody, now);
    if (!signed.ok) return signed;
    let body: unknown;
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch {
      // never the parser's message: it quotes the body, password and all
      return { ok: false, reason: 'the body is not JSON' };
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return { ok: false, reason: 'the body is not a JSON object' };
    }
    const { sys_id: sysId, password } = body as { sys_id?: unknown; password?: unknown };
    if (typeof sysId !== 'string' || !SYS_ID.test(sysId)) {
      return { ok: false, reason: 'the body has no sys_id (32 lower-case hex digits)' };
    }
    if (
      password !== undefined &&
      (typeof password !== 'string' || password.length > SERVICENOW_MAX_PASSWORD)
    ) {
      return {
        ok: false,
        reason: `password must be a string of at most ${SERVICENOW_MAX_PASSWORD} characters`,
      };
    }
    const delivery = headerOf(headers, SERVICENOW_DELIVERY_HEADER);
    const deliveryId =
      delivery !== undefined && DELIVERY.test(delivery)
        ? delivery
        : createHash('sha256').update(signed.t).update(rawBody).digest('hex').slice(0, 40);
    return { ok: true, deliveryId, ticketId: sysId, ...(password === undefined ? {} : { password }) };
  }

  /**
   * `t=<unix s>,v1b64=<base64>` and/or `v1=<hex>` entries, in any order, several
   * signatures allowed (a secret being rotated); unknown schemes are passed over. Every
   * signature is compared, in constant time, before answering.
   */
  private checkSignature(
    header: string | undefined,
    rawBody: Buffer,
    now: number,
  ): { ok: true; t: string } | { ok: false; reason: string } {
    const malformed = { ok: false, reason: 'missing or malformed X-Certfleet-Signature header' } as const;
    if (header === undefined || header.length > MAX_SIGNATURE_HEADER) return malformed;
    let t: string | undefined;
    const macs: Buffer[] = [];
    for (const entry of header.split(',')) {
      const at = entry.indexOf('=');
      if (at < 1) return malformed;
      const key = entry.slice(0, at).trim();
      const value = entry.slice(at + 1).trim();
      if (key === 't') {
        if (t !== undefined || !TIMESTAMP.test(value)) return malformed;
        t = value;
      } else if (key === 'v1') {
        if (!HEX_MAC.test(value)) return malformed;
        macs.push(Buffer.from(value, 'hex'));
      } else if (key === 'v1b64') {
        if (!BASE64_MAC.test(value)) return malformed;
        macs.push(Buffer.from(value, 'base64'));
      }
    }
    if (t === undefined || macs.length === 0 || macs.length > MAX_SIGNATURE_ENTRIES) return malformed;
    if (Math.abs(now / 1000 - Number(t)) > SERVICENOW_TOLERANCE_S) {
      return {
        ok: false,
        reason: `signature timestamp is more than ${SERVICENOW_TOLERANCE_S} s away from now`,
      };
    }
    const expected = Buffer.from(serviceNowSignature(this.config.webhookSecret, t, rawBody, 'hex'), 'hex');
    let ok = false;
    for (const mac of macs) if (timingSafeEqual(mac, expected)) ok = true;
    return ok ? { ok: true, t } : { ok: false, reason: 'signature does not match' };
  }

  private tablePath(sysId?: string): string {
    return `/api/now/table/${this.table}${sysId === undefined ? '' : `/${sysIdOf(sysId)}`}`;
  }

  /**
   * The environments field should hold environment names (a text or choice variable):
   * with display values off, a List Collector would answer sys_ids.
   */
  async readTicket(ticketId: string): Promise<DeskTicket> {
    const { fields } = this.config;
    const wanted = [
      'sys_id',
      this.ticketRef,
      this.approvalField,
      this.requesterField,
      fields.environments,
      fields.name,
      ...(fields.replace === undefined ? [] : [fields.replace]),
    ];
    const { result } = await this.http.json<SnResult<SnRecord>>(
      'GET',
      `${this.tablePath(ticketId)}?${query({
        sysparm_fields: [...new Set(wanted)].join(','),
        sysparm_display_value: 'false',
        sysparm_exclude_reference_link: 'true',
      })}`,
    );
    const field = (name: string | undefined): string => (name === undefined ? '' : text(result[name]));
    return {
      id: ticketId,
      ref: field(this.ticketRef) || ticketId,
      requester: field(this.requesterField) || 'servicenow-unknown-requester',
      environments: splitList(field(fields.environments)),
      name: splitList(field(fields.name))[0],
      replace: /^(true|yes|1)$/i.test(field(fields.replace)),
      approval: await this.approval(ticketId, field(this.approvalField)),
    };
  }

  /**
   * The record's approval: approved or rejected names the approver who decided (their
   * sysapproval_approver record); not requested or not required means ServiceNow asks
   * none, so certfleet's own approval applies. A value this adapter does not know waits.
   */
  private async approval(sysId: string, value: string): Promise<DeskApproval | undefined> {
    switch (value) {
      case '':
      case 'not requested':
      case 'not_required':
        return undefined;
      case 'requested':
        return { state: 'pending' };
      case 'approved':
        return { state: 'approved', ...(await this.approver(sysId, 'approved')) };
      case 'rejected':
        return { state: 'declined', ...(await this.approver(sysId, 'rejected')) };
      case 'cancelled':
      case 'duplicate':
        return { state: 'declined' };
      default:
        return { state: 'pending' };
    }
  }

  /** The latest approver of the record in that state, by e-mail or else user name. */
  private async approver(sysId: string, state: 'approved' | 'rejected'): Promise<{ by?: string }> {
    const { result } = await this.http.json<SnResult<SnRecord[]>>(
      'GET',
      `/api/now/table/sysapproval_approver?${query({
        sysparm_query: `sysapproval=${sysIdOf(sysId)}^state=${state}^ORDERBYDESCsys_updated_on`,
        sysparm_fields: 'approver.email,approver.user_name',
        sysparm_limit: 1,
      })}`,
    );
    const row = result[0];
    const by = row ? text(row['approver.email']) || text(row['approver.user_name']) : '';
    return by === '' ? {} : { by };
  }

  /**
   * Every attachment of the record, page after page by offset. Only an empty page ends
   * the listing: an instance may answer fewer than asked for (its own maximum), so a
   * short page is not taken as the last.
   */
  async listAttachments(ticketId: string): Promise<DeskAttachment[]> {
    const all: DeskAttachment[] = [];
    for (let page = 0; page < MAX_ATTACHMENT_PAGES; page++) {
      const { result } = await this.http.json<SnResult<SnAttachment[]>>(
        'GET',
        `/api/now/attachment?${query({
          sysparm_query: `table_name=${this.table}^table_sys_id=${sysIdOf(ticketId)}^ORDERBYsys_created_on`,
          sysparm_limit: ATTACHMENT_PAGE,
          sysparm_offset: all.length,
        })}`,
      );
      if (result.length === 0) break;
      all.push(...result.map((a) => this.attachment(a)));
    }
    return all;
  }

  private attachment(a: SnAttachment): DeskAttachment {
    const size = Number(a.size_bytes);
    return {
      id: a.sys_id,
      fileName: a.file_name,
      size: Number.isSafeInteger(size) && size >= 0 ? size : 0,
      contentUrl: new URL(`/api/now/attachment/${encodeURIComponent(a.sys_id)}/file`, this.config.baseUrl)
        .href,
      // the Attachment API reports no scan; the download cap and the PKCS#12 check still apply
      malware: false,
    };
  }

  download(attachment: DeskAttachment, maxBytes: number): Promise<Buffer> {
    return this.http.download(attachment.contentUrl, maxBytes);
  }

  /** One journal entry (`work_notes` for agents, `comments` for the requester), with a new state maybe. */
  private async journal(ticketId: string, entry: Record<string, string>): Promise<void> {
    await this.http.json(
      'PATCH',
      `${this.tablePath(ticketId)}?${query({ sysparm_fields: 'sys_id' })}`,
      entry,
    );
  }

  writeNote(ticketId: string, body: string, jobStatus?: string): Promise<void> {
    const state = mappedStatus(this.config.statuses, jobStatus);
    return this.journal(ticketId, { work_notes: body, ...(state === undefined ? {} : { state }) });
  }

  /** A work note holding `marker`: sys_journal_field's `LIKE` (contains) on the record's work notes. */
  async hasNote(ticketId: string, marker: string): Promise<boolean> {
    // `^` ends a condition of an encoded query and has no escape
    if (marker.includes('^')) {
      throw new DeskHttpError(
        'desk_refused',
        'a note marker cannot hold ^ (it separates ServiceNow query terms)',
        true,
      );
    }
    const { result } = await this.http.json<SnResult<SnRecord[]>>(
      'GET',
      `/api/now/table/sys_journal_field?${query({
        sysparm_query: `element_id=${sysIdOf(ticketId)}^element=work_notes^valueLIKE${marker}`,
        sysparm_fields: 'sys_id',
        sysparm_limit: 1,
      })}`,
    );
    return result.length > 0;
  }

  /** An additional comment: the requester sees it (and is notified by ServiceNow). */
  postReply(ticketId: string, body: string): Promise<void> {
    return this.journal(ticketId, { comments: body });
  }

  /** The sys_ids the instance's `poll.query` selects now (at most 100 a round). */
  async poll(): Promise<string[]> {
    if (!this.config.poll) return [];
    const { result } = await this.http.json<SnResult<SnRecord[]>>(
      'GET',
      `${this.tablePath()}?${query({
        sysparm_query: this.config.poll.query,
        sysparm_fields: 'sys_id',
        sysparm_limit: POLL_LIMIT,
      })}`,
    );
    return result.map((r) => text(r['sys_id'])).filter((id) => SYS_ID.test(id));
  }
}

/** ServiceNow's entry in the adapters file; `password` or `oauthToken` is absent by design. */
export const serviceNowSystem: SystemDefinition<typeof ServiceNowInstance> = {
  schema: ServiceNowInstance,
  secretFields: ['password', 'oauthToken', 'webhookSecret'],
  create: (instance, secrets) => {
    const { password: _password, oauthToken: _oauthToken, ...plain } = instance;
    return new ServiceNowAdapter({
      ...plain,
      ...(secrets['password'] === undefined ? {} : { password: secrets['password'] }),
      ...(secrets['oauthToken'] === undefined ? {} : { oauthToken: secrets['oauthToken'] }),
      webhookSecret: secrets['webhookSecret'] ?? '',
    });
  },
};
