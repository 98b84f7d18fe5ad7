import type { Job, TargetRecord } from './api-types.js';
import type { PfxEncryption } from '@certfleet/contract';
import { clean, renderPairs, renderTable, type TableOptions } from './table.js';

/** `2025-11-27 10:14:03Z`; what is not a date stays as it is. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** `in 364 days`, `in 5 hours`, `3 days ago`. */
export function relativeTime(iso: string, now: Date): string {
  const ms = new Date(iso).getTime() - now.getTime();
  const abs = Math.abs(ms);
  const hours = Math.floor(abs / 3_600_000);
  const amount =
    hours >= 48
      ? `${Math.floor(hours / 24)} days`
      : hours >= 1
        ? `${hours} hours`
        : `${Math.ceil(abs / 60_000)} minutes`;
  return ms >= 0 ? `in ${amount}` : `${amount} ago`;
}

export interface TargetCounts {
  total: number;
  installed: number;
  failed: number;
  /** installed + failed */
  done: number;
}

export function countTargets(job: Job): TargetCounts {
  const installed = job.targets.filter((t) => t.status === 'installed').length;
  const failed = job.targets.filter((t) => t.status === 'failed').length;
  return { total: job.targets.length, installed, failed, done: installed + failed };
}

/** `acme-prd/fe-1` */
export const targetName = (t: TargetRecord): string => `${t.environment}/${t.frontEnd}`;

/** The target's state as shown: a pending target with an error is waiting for its next attempt. */
export function targetState(t: TargetRecord): string {
  return t.status === 'pending' && t.error ? 'retrying' : t.status;
}

/** The path once installed, the error while failing, nothing before. */
export function targetDetail(t: TargetRecord): string {
  if (t.status === 'installed' && t.removed !== undefined) {
    return t.removed.length === 0 ? 'nothing left to remove' : `removed ${t.removed.join(', ')}`;
  }
  if (t.status === 'installed') return `${t.path}${t.unchanged ? ' (unchanged)' : ''}`;
  if (t.error) return `${t.error.code}: ${t.error.message}`;
  return '';
}

export const TARGET_HEADERS = ['ENVIRONMENT', 'FRONT-END', 'HOST', 'STATE', 'ATTEMPTS', 'PATH / ERROR'];

/** Targets as a table, one row per front-end. */
export function renderTargets(targets: readonly TargetRecord[], options: TableOptions = {}): string[] {
  return renderTable(
    TARGET_HEADERS,
    targets.map((t) => [
      t.environment,
      t.frontEnd,
      t.host,
      targetState(t),
      String(t.attempts),
      targetDetail(t),
    ]),
    options,
  );
}

/** `key 3des, certificates rc2-40, MAC sha1, 2048 iterations` */
export function describeEncryption(e: PfxEncryption): string {
  const iterations = e.iterations === undefined ? '' : `, ${e.iterations} iterations`;
  return `key ${e.key}, certificates ${e.certificates}, MAC ${e.mac}${iterations}`;
}

/** What to do next with a job in this state, or nothing. */
export function nextStep(job: Job): string | undefined {
  switch (job.status) {
    case 'pending_approval':
      return `waiting for approval by someone other than ${job.submittedBy}: fleetctl approve ${job.id}`;
    case 'scheduled':
      return (
        `waiting for its maintenance window: starts ${formatTime(job.startsAt)}; ` +
        `an admin may start it now: fleetctl start-now ${job.id} --reason "…"`
      );
    case 'queued':
    case 'running':
      return `follow it: fleetctl status ${job.id} --watch`;
    case 'canary':
      return `canary installed and verified; an approver other than ${job.submittedBy} sends the rest: fleetctl continue ${job.id}`;
    case 'partially_failed':
    case 'failed':
      return `retry the failed targets: fleetctl retry ${job.id} --watch`;
    default:
      return undefined;
  }
}

/** `fleetctl status`: the job, its certificate, its paths and its targets. */
export function renderJobSummary(job: Job, now: Date): string[] {
  const cert = job.certificate;
  const counts = countTargets(job);
  const head: [string, string][] = [
    ['Job', job.id],
    ['Ticket', job.ticket],
    ['Name', job.name],
    ['Status', job.status],
    ['Submitted', `${formatTime(job.createdAt)} by ${job.submittedBy}`],
  ];
  if (job.source === 'reconcile') head.push(['Source', `reconcile (repair job): ${job.reason ?? ''}`]);
  if (job.approvedBy) head.push(['Approved by', job.approvedBy]);
  if (job.status === 'scheduled') head.push(['Starts', `${formatTime(job.startsAt)} (maintenance window)`]);
  if (job.status === 'rejected') {
    head.push(['Rejected by', `${job.rejectedBy ?? '?'}: ${job.rejectReason ?? ''}`]);
  }
  head.push(['Environments', job.environments.join(', ')]);
  if (job.canary) {
    const by = job.canary.continuedBy ? `, continued by ${job.canary.continuedBy}` : '';
    head.push([
      'Rollout',
      `canary first: ${job.canary.targets.join(', ')} (continue: ${job.canary.continue}${by})`,
    ]);
  }

  const normalized = cert.normalized
    ? `yes${cert.normalizedFrom ? `, submitted as ${describeEncryption(cert.normalizedFrom)}` : ''}`
    : 'no, installed as submitted';
  const certPairs: [string, string][] = [
    ['Subject', cert.subject],
    ['Issuer', cert.issuer],
    ['Serial', cert.serialNumber],
    ['Fingerprint', `SHA-256 ${cert.fingerprintSha256}`],
    [
      'Valid',
      `${formatTime(cert.notBefore)} to ${formatTime(cert.notAfter)} (expires ${relativeTime(cert.notAfter, now)})`,
    ],
    ['Encryption', describeEncryption(cert.pfxEncryption)],
    ['Normalized', normalized],
    ['Chain', cert.chain.join(' → ')],
  ];
  if (cert.warnings.length === 0) certPairs.push(['Warnings', 'none']);
  cert.warnings.forEach((w, i) => certPairs.push([i === 0 ? 'Warnings' : '', w]));

  const lines = [
    ...renderPairs(head),
    '',
    'Certificate',
    ...renderPairs(certPairs, '  '),
    '',
    'Paths',
    ...renderPairs(Object.entries(job.paths), '  '),
    '',
    `Targets: ${counts.installed}/${counts.total} installed, ${counts.failed} failed`,
    ...renderTargets(job.targets, { indent: '  ' }),
  ];
  const next = nextStep(job);
  if (next) lines.push('', next);
  return lines;
}

/** The end of `--watch`: the outcome, the path per environment, what failed and what to do. */
export function renderOutcome(job: Job): string[] {
  if (job.status === 'rejected') {
    return [
      clean(
        `job ${job.id} rejected by ${job.rejectedBy ?? '?'}: ${job.rejectReason ?? ''}; nothing was installed`,
      ),
    ];
  }
  const counts = countTargets(job);
  const lines = [
    `job ${job.id} ${job.status}: ${counts.installed} of ${counts.total} targets installed, ${counts.failed} failed`,
  ];
  const rows = job.environments.map((env) => {
    const targets = job.targets.filter((t) => t.environment === env);
    const installed = targets.filter((t) => t.status === 'installed').length;
    return [env, job.paths[env] ?? '', `${installed}/${targets.length} front-ends`];
  });
  lines.push(...renderTable(['ENVIRONMENT', 'PATH', 'INSTALLED'], rows, { indent: '  ' }));
  const failed = job.targets.filter((t) => t.status === 'failed');
  if (failed.length > 0) {
    lines.push(
      ...renderTable(
        ['FAILED', 'ERROR'],
        failed.map((t) => [targetName(t), targetDetail(t)]),
        { indent: '  ' },
      ),
    );
  }
  const next = nextStep(job);
  if (next) lines.push(next);
  return lines;
}
