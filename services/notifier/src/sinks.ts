import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import {
  checkNotifyUrl,
  NotifyUrlError,
  resolveNotifyAddress,
  type Cidr,
  type ResolvedAddress,
  type Resolver,
} from '@certfleet/config';
import { SIGNATURE_HEADER, signBody } from '@certfleet/jobs';
import type { Report } from './reports.js';
import type { Transporter } from 'nodemailer';
import { DeskHttpError, type HelpdeskAdapter } from '@certfleet/helpdesk';

/**
 * A failed delivery; permanent ones (the receiver refused the report) are not retried,
 * `retryAfterMs` says when the receiver asked to be tried again (a help desk's 429).
 */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
    Object.setPrototypeOf(this, DeliveryError.prototype);
  }
}

/** One destination of a report. */
export interface Sink {
  /** Stable key: the same sink is never delivered one report twice. */
  key: string;
  kind: 'webhook' | 'slack' | 'email' | 'ticket';
  /** Where it goes, for the audit trail (host or recipients, never a secret). */
  target: string;
  deliver(report: Report): Promise<void>;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid-url';
  }
}

/** How a sink sends: its timeout, and the address policy for URLs a submitter chose. */
export interface PostOptions {
  timeoutMs: number;
  /**
   * The address check for a submitter's URL (README: notify URLs); absent for
   * the operator's own FLEET_NOTIFY_* URLs, which are configuration, not input.
   */
  addressPolicy?: { allow: readonly Cidr[]; resolve?: Resolver };
}

/**
 * A lookup for the HTTP agent that checks every address of the name and hands
 * the socket exactly the one it checked: the connection cannot reach another
 * address than the one judged (no DNS rebinding between check and connect).
 */
function pinnedLookup(policy: NonNullable<PostOptions['addressPolicy']>): LookupFunction {
  return (hostname, options, callback) => {
    resolveNotifyAddress(hostname, policy.allow, policy.resolve).then(
      ({ address, family }) => {
        if (options.all)
          (callback as unknown as (e: null, a: ResolvedAddress[]) => void)(null, [{ address, family }]);
        else callback(null, address, family);
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, '', 0),
    );
  };
}

/** POSTs with node:http(s), never following a redirect; resolves to the status code. */
function send(
  url: URL,
  headers: Record<string, string>,
  body: string,
  options: PostOptions,
): Promise<number> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        signal: AbortSignal.timeout(options.timeoutMs),
        ...(options.addressPolicy ? { lookup: pinnedLookup(options.addressPolicy) } : {}),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: PostOptions,
): Promise<void> {
  let status: number;
  try {
    // A literal forbidden address is refused here: the agent's lookup never sees literals.
    const target = options.addressPolicy ? checkNotifyUrl(url, options.addressPolicy.allow) : new URL(url);
    status = await send(target, headers, body, options);
  } catch (err) {
    if (err instanceof NotifyUrlError)
      throw new DeliveryError(`refused ${hostOf(url)}: ${err.message}`, true);
    const code = (err as { code?: string }).code ?? (err as Error).name;
    throw new DeliveryError(`cannot reach ${hostOf(url)}: ${code}`, false);
  }
  if (status >= 200 && status < 300) return;
  if (status >= 300 && status < 400) {
    // A redirect could lead anywhere, the inside of the network included: not followed.
    throw new DeliveryError(`${hostOf(url)} answered ${status}; redirects are not followed`, true);
  }
  // 4xx is the receiver refusing this report: sending the same thing again will not help.
  const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
  throw new DeliveryError(`${hostOf(url)} answered ${status}`, permanent);
}

/** Signed JSON webhook (ticket callback, job webhook, configured URL). */
export function webhookSink(url: string, secret: string | undefined, options: PostOptions): Sink {
  return {
    key: `webhook:${url}`,
    kind: 'webhook',
    target: hostOf(url),
    async deliver(report) {
      const body = report.body;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'idempotency-key': report.idempotencyKey,
        'user-agent': 'certfleet-notifier',
      };
      if (secret) headers[SIGNATURE_HEADER] = signBody(secret, body);
      await post(url, headers, body, options);
    },
  };
}

/** Slack-compatible incoming webhook: the report's readable message. */
export function slackSink(url: string, options: PostOptions): Sink {
  return {
    key: `slack:${url}`,
    kind: 'slack',
    target: hostOf(url),
    async deliver(report) {
      await post(
        url,
        { 'content-type': 'application/json', 'idempotency-key': report.idempotencyKey },
        JSON.stringify(report.slack),
        options,
      );
    },
  };
}

/** E-mail over SMTP (nodemailer): the report's text and HTML. */
export function emailSink(transport: Transporter, from: string, to: string[]): Sink {
  return {
    key: `email:${[...to].sort().join(',')}`,
    kind: 'email',
    target: to.join(', '),
    async deliver(report) {
      try {
        await transport.sendMail({
          from,
          to,
          subject: report.headline,
          text: report.text,
          html: report.html,
          headers: { 'X-Certfleet-Idempotency-Key': report.idempotencyKey },
        });
      } catch (err) {
        const code = (err as { responseCode?: number }).responseCode;
        // 5xx SMTP replies are permanent refusals (bad recipient); the rest may pass later.
        throw new DeliveryError(
          `SMTP: ${(err as Error).message.split('\n')[0]}`,
          code !== undefined && code >= 500 && code < 600,
        );
      }
    },
  };
}

// --- help desks (README: Help desks) ------------------------------------------------

/** The marker that makes a ticket note idempotent: a note holding it is never written twice. */
export function ticketMarker(report: Report): string {
  return `[certfleet ${report.idempotencyKey}]`;
}

/**
 * An internal note on the help desk ticket a job came from: the report's text and its
 * marker, written only when no note holds the marker yet (a retry after a lost answer);
 * a completion report also moves the ticket to the desk status its instance maps the
 * job's status to (`statuses`).
 */
export function ticketSink(adapter: HelpdeskAdapter, ticketId: string): Sink {
  const where = `${adapter.system}/${adapter.instance}`;
  return {
    key: `ticket:${where}/${ticketId}`,
    kind: 'ticket',
    target: `${where} ticket ${ticketId}`,
    async deliver(report) {
      const marker = ticketMarker(report);
      try {
        if (await adapter.hasNote(ticketId, marker)) return;
        await adapter.writeNote(ticketId, `${report.text}\n\n${marker}`, report.status);
      } catch (err) {
        if (err instanceof DeskHttpError) {
          throw new DeliveryError(`${where}: ${err.message}`, err.permanent, err.retryAfterMs);
        }
        throw err;
      }
    },
  };
}
