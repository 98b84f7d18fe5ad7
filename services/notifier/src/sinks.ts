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
import type { Job } from '@certfleet/store';
import type { Transporter } from 'nodemailer';

/** A failed delivery; permanent ones (the receiver refused the report) are not retried. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
    Object.setPrototypeOf(this, DeliveryError.prototype);
  }
}

export interface Report {
  job: Job;
  round: number;
  status: string;
  /** `<jobId>:<round>:<status>` */
  idempotencyKey: string;
}

/** One destination of a completion report. */
export interface Sink {
  /** Stable key: the same sink is never delivered twice for one round and status. */
  key: string;
  kind: 'webhook' | 'slack' | 'email';
  /** Where it goes, for the audit trail (host or recipients, never a secret). */
  target: string;
  deliver(report: Report): Promise<void>;
}

/** The body of the outbound webhook (API.md). */
export function reportBody(job: Job, round: number): string {
  // source and reason up front: a receiver tells a repair job from a submitted one without digging
  return JSON.stringify({
    event: 'job.finished',
    round,
    source: job.source,
    ...(job.reason === undefined ? {} : { reason: job.reason }),
    job,
  });
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
      const body = reportBody(report.job, report.round);
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

/** Per-host lines: `acme-prd/fe-1 installed` or `acme-prd/fe-2 failed: host_unreachable`. */
function hostLines(job: Job): string[] {
  return job.targets.map(
    (t) =>
      `${t.environment}/${t.frontEnd} (${t.host}): ${t.status}${t.unchanged ? ' (unchanged)' : ''}` +
      `${t.thumbprint ? `, thumbprint ${t.thumbprint} in ${t.store ?? 'LocalMachine\\My'}` : ''}` +
      `${t.error ? ` — ${t.error.code}: ${t.error.message}` : ''}`,
  );
}

function headline(job: Job, status: string): string {
  return `certfleet: ${job.ticket} ${job.name} ${status.replace('_', ' ')}`;
}

function pathLines(job: Job): string[] {
  return Object.entries(job.paths).map(([env, path]) => `${env}: ${path}`);
}

/** A readable text report, shared by Slack and e-mail. */
export function reportText(job: Job, status: string, round: number): string {
  const installed = job.targets.filter((t) => t.status === 'installed').length;
  return [
    headline(job, status),
    `Job ${job.id}, round ${round}: ${installed} of ${job.targets.length} front-ends installed.`,
    `Certificate: ${job.certificate.subject} (expires ${job.certificate.notAfter.slice(0, 10)})`,
    ...(job.source === 'reconcile'
      ? [`Repair job made by reconcile: ${job.reason ?? 'a front-end lacked it'}`]
      : []),
    '',
    'Path to load the certificate from:',
    ...pathLines(job).map((l) => `  ${l}`),
    '',
    'Front-ends:',
    ...hostLines(job).map((l) => `  ${l}`),
  ].join('\n');
}

/** Slack-compatible incoming webhook: a readable message with the path and per-host summary. */
export function slackSink(url: string, options: PostOptions): Sink {
  return {
    key: `slack:${url}`,
    kind: 'slack',
    target: hostOf(url),
    async deliver(report) {
      const { job, status, round } = report;
      const icon =
        status === 'completed' ? ':white_check_mark:' : status === 'rejected' ? ':no_entry:' : ':warning:';
      const body = JSON.stringify({
        text: `${icon} ${headline(job, status)}`,
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: `${icon} *${headline(job, status)}*` } },
          {
            type: 'section',
            text: {
              type: 'mrkdwn',
              text: `*Path*\n${pathLines(job)
                .map((l) => `\`${l}\``)
                .join('\n')}`,
            },
          },
          {
            type: 'section',
            text: { type: 'mrkdwn', text: `*Front-ends* (round ${round})\n${hostLines(job).join('\n')}` },
          },
        ],
      });
      await post(
        url,
        { 'content-type': 'application/json', 'idempotency-key': report.idempotencyKey },
        body,
        options,
      );
    },
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** E-mail over SMTP (nodemailer): text and HTML, with the path and the hosts. */
export function emailSink(transport: Transporter, from: string, to: string[]): Sink {
  return {
    key: `email:${[...to].sort().join(',')}`,
    kind: 'email',
    target: to.join(', '),
    async deliver(report) {
      const { job, status, round } = report;
      const rows = job.targets
        .map(
          (t) =>
            `<tr><td>${escapeHtml(`${t.environment}/${t.frontEnd}`)}</td><td>${escapeHtml(t.host)}</td>` +
            `<td>${escapeHtml(t.status)}</td><td>${escapeHtml(t.error ? `${t.error.code}: ${t.error.message}` : t.path)}</td></tr>`,
        )
        .join('');
      const html =
        `<h2>${escapeHtml(headline(job, status))}</h2>` +
        `<p>Job ${escapeHtml(job.id)}, round ${round}. Certificate ${escapeHtml(job.certificate.subject)}.</p>` +
        `<h3>Path</h3><ul>${pathLines(job)
          .map((l) => `<li><code>${escapeHtml(l)}</code></li>`)
          .join('')}</ul>` +
        `<h3>Front-ends</h3><table border="1" cellpadding="4"><tr><th>target</th><th>host</th><th>state</th><th>path or error</th></tr>${rows}</table>`;
      try {
        await transport.sendMail({
          from,
          to,
          subject: headline(job, status),
          text: reportText(job, status, round),
          html,
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
