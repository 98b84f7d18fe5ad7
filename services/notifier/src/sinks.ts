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
  return JSON.stringify({ event: 'job.finished', round, job });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid-url';
  }
}

async function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new DeliveryError(`cannot reach ${hostOf(url)}: ${cause}`, false);
  }
  await response.arrayBuffer().catch(() => undefined);
  if (response.status >= 200 && response.status < 300) return;
  // 4xx is the receiver refusing this report: sending the same thing again will not help.
  const permanent =
    response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
  throw new DeliveryError(`${hostOf(url)} answered ${response.status}`, permanent);
}

/** Signed JSON webhook (ticket callback, job webhook, configured URL). */
export function webhookSink(url: string, secret: string | undefined, timeoutMs: number): Sink {
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
      await post(url, headers, body, timeoutMs);
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
    '',
    'Path to load the certificate from:',
    ...pathLines(job).map((l) => `  ${l}`),
    '',
    'Front-ends:',
    ...hostLines(job).map((l) => `  ${l}`),
  ].join('\n');
}

/** Slack-compatible incoming webhook: a readable message with the path and per-host summary. */
export function slackSink(url: string, timeoutMs: number): Sink {
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
        timeoutMs,
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
