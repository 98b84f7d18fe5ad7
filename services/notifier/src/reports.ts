/**
 * What a report says, rendered once for every sink: the signed webhook's JSON body,
 * the Slack message, and the e-mail's subject, text and HTML. Sinks only carry it.
 */
import type { ExpiryReport } from '@certfleet/contract';
import type { Job } from '@certfleet/store';

/** One report, ready for every sink. */
export interface Report {
  /** `<jobId>:<round>:<status>`, or `<jobId>:expiry:<environment>:<threshold>:<fingerprint>`. */
  idempotencyKey: string;
  /** The job's final status of a completion report (a ticket may take a desk status for it). */
  status?: string;
  /** The signed webhook's JSON body (README: report shapes). */
  body: string;
  /** The e-mail's subject and the Slack message's headline. */
  headline: string;
  /** Plain text: the e-mail's text part. */
  text: string;
  /** The Slack-compatible incoming-webhook message. */
  slack: { text: string; blocks: unknown[] };
  /** The e-mail's HTML part. */
  html: string;
}

/** The body of the outbound completion webhook (API.md). */
export function reportBody(job: Job, round: number): string {
  // source and reason up front: a receiver tells a repair job from a submitted one without digging
  return JSON.stringify({
    event: 'job.finished',
    round,
    source: job.source,
    ...(job.action === undefined ? {} : { action: job.action }),
    ...(job.reason === undefined ? {} : { reason: job.reason }),
    job,
  });
}

/** Per-host lines: `acme-prd/fe-1 installed` or `acme-prd/fe-2 failed: host_unreachable`. */
function hostLines(job: Job): string[] {
  return job.targets.map(
    (t) =>
      `${t.environment}/${t.frontEnd} (${t.host}): ${t.status}${t.unchanged ? ' (unchanged)' : ''}` +
      `${t.thumbprint ? `, thumbprint ${t.thumbprint} in ${t.store ?? 'LocalMachine\\My'}` : ''}` +
      `${t.error ? ` — ${t.error.code}: ${t.error.message}` : ''}` +
      removedText(t),
  );
}

/** An uninstall's target: what it removed from the host (README: Uninstall). */
function removedText(t: Job['targets'][number]): string {
  if (t.removed === undefined) return '';
  return t.removed.length === 0 ? '; nothing left to remove' : `; removed ${t.removed.join(', ')}`;
}

function headline(job: Job, status: string): string {
  const what =
    job.action === 'rollback'
      ? `${job.name} rollback`
      : job.action === 'uninstall'
        ? `uninstall ${job.name}`
        : job.name;
  return `certfleet: ${job.ticket} ${what} ${status.replace('_', ' ')}`;
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
    ...(job.action === 'rollback'
      ? [`Rollback to the previous version: ${job.reason ?? job.certificate.subject}`]
      : []),
    '',
    'Path to load the certificate from:',
    ...pathLines(job).map((l) => `  ${l}`),
    '',
    'Front-ends:',
    ...hostLines(job).map((l) => `  ${l}`),
  ].join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const mrkdwn = (text: string): { type: 'section'; text: { type: 'mrkdwn'; text: string } } => ({
  type: 'section',
  text: { type: 'mrkdwn', text },
});

/** A job's completion report (`job.finished`), once per round and final status. */
export function jobReport(job: Job, round: number, status: string): Report {
  const title = headline(job, status);
  const icon =
    status === 'completed' ? ':white_check_mark:' : status === 'rejected' ? ':no_entry:' : ':warning:';
  const rows = job.targets
    .map(
      (t) =>
        `<tr><td>${escapeHtml(`${t.environment}/${t.frontEnd}`)}</td><td>${escapeHtml(t.host)}</td>` +
        `<td>${escapeHtml(t.status)}</td><td>${escapeHtml(t.error ? `${t.error.code}: ${t.error.message}` : t.path)}</td></tr>`,
    )
    .join('');
  return {
    idempotencyKey: `${job.id}:${round}:${status}`,
    status,
    body: reportBody(job, round),
    headline: title,
    text: reportText(job, status, round),
    slack: {
      text: `${icon} ${title}`,
      blocks: [
        mrkdwn(`${icon} *${title}*`),
        mrkdwn(
          `*Path*\n${pathLines(job)
            .map((l) => `\`${l}\``)
            .join('\n')}`,
        ),
        mrkdwn(`*Front-ends* (round ${round})\n${hostLines(job).join('\n')}`),
      ],
    },
    html:
      `<h2>${escapeHtml(title)}</h2>` +
      `<p>Job ${escapeHtml(job.id)}, round ${round}. Certificate ${escapeHtml(job.certificate.subject)}.</p>` +
      `<h3>Path</h3><ul>${pathLines(job)
        .map((l) => `<li><code>${escapeHtml(l)}</code></li>`)
        .join('')}</ul>` +
      `<h3>Front-ends</h3><table border="1" cellpadding="4"><tr><th>target</th><th>host</th><th>state</th><th>path or error</th></tr>${rows}</table>`,
  };
}

// --- expiry watch -------------------------------------------------------------------

/** What the customer must do before the certificate expires. */
export function renewalAdvice(r: ExpiryReport): string {
  return (
    `Ask the customer for a renewed PFX and submit it under the same name '${r.name}' ` +
    `with "replace": true for ${r.environment}, before ${r.notAfter}; ` +
    'certfleet then installs it on every front-end at the same path.'
  );
}

/** An expiry warning (`certificate.expiring`), once per environment, certificate and threshold. */
export function expiryReport(r: ExpiryReport, jobId: string, fingerprintSha256: string): Report {
  const title = `certfleet: ${r.ticket} ${r.name} in ${r.environment} expires in ${r.daysLeft} day${r.daysLeft === 1 ? '' : 's'}`;
  const facts = [
    `Certificate '${r.name}' in ${r.environment} expires ${r.notAfter} (${r.daysLeft} days left, the ${r.threshold}-day warning).`,
    `Installed at ${r.path} on every front-end by job ${jobId} (ticket ${r.ticket}).`,
  ];
  const advice = renewalAdvice(r);
  const icon = ':hourglass_flowing_sand:';
  return {
    idempotencyKey: `${jobId}:expiry:${r.environment}:${r.threshold}:${fingerprintSha256}`,
    body: JSON.stringify(r),
    headline: title,
    text: [title, '', ...facts, '', `What to do: ${advice}`].join('\n'),
    slack: {
      text: `${icon} ${title}`,
      blocks: [mrkdwn(`${icon} *${title}*`), mrkdwn(facts.join('\n')), mrkdwn(`*What to do*\n${advice}`)],
    },
    html:
      `<h2>${escapeHtml(title)}</h2>` +
      facts.map((f) => `<p>${escapeHtml(f)}</p>`).join('') +
      `<h3>What to do</h3><p>${escapeHtml(advice)}</p>`,
  };
}
