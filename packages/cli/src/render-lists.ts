import type { AuditEntry, EnvironmentView, JobList } from './api-types.js';
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
