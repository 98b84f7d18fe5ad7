import type { AuditEntry, EnvironmentView, JobList, RepairsNeeded } from './api-types.js';
import { countTargets, formatTime } from './render-job.js';
import { renderTable } from './table.js';

/** `fleetctl jobs`: newest first, one line per job. */
export function renderJobList(list: JobList): string[] {
  if (list.items.length === 0) return ['no jobs'];
  const lines = renderTable(
    ['ID', 'STATUS', 'TICKET', 'NAME', 'ENVIRONMENTS', 'INSTALLED', 'SUBMITTED', 'BY', 'APPROVED BY'],
    list.items.map((job) => {
      const counts = countTargets(job);
      return [
        job.id,
        job.status,
        job.ticket,
        job.name,
        job.environments.join(','),
        `${counts.installed}/${counts.total}`,
        formatTime(job.createdAt),
        job.submittedBy,
        job.approvedBy ?? (job.status === 'rejected' ? `(rejected by ${job.rejectedBy ?? '?'})` : ''),
      ];
    }),
  );
  // repair jobs say why they were made, under the table so that its columns stay as they are
  const repairs = list.items.filter((job) => job.source === 'reconcile');
  if (repairs.length > 0) {
    lines.push('', ...repairs.map((job) => `repair job ${job.id}: ${job.reason ?? 'made by reconcile'}`));
  }
  if (list.nextCursor) lines.push('', `more: fleetctl jobs --cursor ${list.nextCursor}`);
  return lines;
}

/** `fleetctl envs`: the environments, then the certificates installed in them. */
export function renderEnvironments(envs: readonly EnvironmentView[]): string[] {
  if (envs.length === 0) return ['no environments in the inventory'];
  const lines = renderTable(
    ['ENVIRONMENT', 'PLATFORM', 'INSTALL DIR', 'FRONT-ENDS', 'CERTIFICATES'],
    envs.map((e) => [
      e.name,
      e.platform,
      e.installDir,
      e.frontEnds.map((fe) => `${fe.name} (${fe.host}:${fe.port})`).join(', '),
      String(e.certificates.length),
    ]),
  );
  const certs = envs.flatMap((e) => e.certificates.map((c) => ({ env: e.name, ...c })));
  if (certs.length > 0) {
    lines.push(
      '',
      ...renderTable(
        ['ENVIRONMENT', 'NAME', 'SUBJECT', 'EXPIRES', 'FINGERPRINT', 'INSTALLED', 'JOB', 'PATH'],
        certs.map((c) => [
          c.env,
          c.name,
          c.subject,
          formatTime(c.notAfter),
          `${c.fingerprintSha256.slice(0, 16)}…`,
          formatTime(c.installedAt),
          c.jobId,
          c.path,
        ]),
      ),
    );
  }
  return lines;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * `fleetctl expiry`: every installed certificate, soonest expiry first, with whole days left
 * (rounded down; negative once expired), only those within `withinDays` when given.
 */
export function renderExpiry(envs: readonly EnvironmentView[], now: Date, withinDays?: number): string[] {
  const rows = envs
    .flatMap((e) => e.certificates.map((c) => ({ env: e.name, ...c })))
    .map((c) => ({ ...c, daysLeft: Math.floor((Date.parse(c.notAfter) - now.getTime()) / DAY_MS) }))
    .filter((c) => withinDays === undefined || c.daysLeft <= withinDays)
    .sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter) || a.env.localeCompare(b.env));
  if (rows.length === 0) {
    return [
      withinDays === undefined
        ? 'no certificates installed'
        : `no certificate expires within ${withinDays} days`,
    ];
  }
  return renderTable(
    ['ENVIRONMENT', 'NAME', 'EXPIRES', 'DAYS LEFT', 'TICKET', 'PATH'],
    rows.map((c) => [
      c.env,
      c.name,
      formatTime(c.notAfter),
      c.daysLeft < 0 ? `expired ${-c.daysLeft}d ago` : String(c.daysLeft),
      c.ticket ?? '',
      c.path,
    ]),
  );
}

/** `fleetctl reconcile`: the repairs that wait for a new submission, one line each. */
export function renderRepairsNeeded(needed: RepairsNeeded): string[] {
  if (needed.items.length === 0) return ['no repair waits for a new submission'];
  return [
    'waiting for a new submission (no secret is kept to install again):',
    ...needed.items.map((n) => `  ${n.environment}/${n.frontEnd} ${n.name}: ${n.reason}`),
  ];
}

/** An audit entry's detail as `key=value` pairs. */
export function describeDetail(detail: Record<string, unknown> | undefined): string {
  return Object.entries(detail ?? {})
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

/** `fleetctl audit`: who did what to a job, oldest first. */
export function renderAudit(entries: readonly AuditEntry[]): string[] {
  if (entries.length === 0) return ['no audit entries'];
  return renderTable(
    ['TIME', 'ACTOR', 'ACTION', 'DETAIL'],
    entries.map((e) => [formatTime(e.at), e.actor, e.action, describeDetail(e.detail)]),
  );
}
