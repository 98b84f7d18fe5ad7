import { driftFindings } from '@certfleet/contract';
import type { DriftCheck } from './api-types.js';
import { ExitCode } from './exit-codes.js';
import { renderTable } from './table.js';

/** `hosts done / total` while a check runs. */
export function checkProgress(check: DriftCheck): string {
  return `${check.environment}: check ${check.id} ${check.status}, ${check.hosts.length}/${check.total} hosts done`;
}

/** The grid: a row per front-end × certificate, then one verdict line. */
export function renderCheck(check: DriftCheck): string[] {
  const rows = check.hosts.flatMap((h) =>
    h.certificates.length === 0
      ? [[`${h.frontEnd} (${h.host})`, '-', '-', 'no certificate in the registry']]
      : h.certificates.map((c) => [`${h.frontEnd} (${h.host})`, c.name, c.state, c.detail]),
  );
  const findings = driftFindings(check);
  const hosts = new Set(findings.map((f) => f.frontEnd));
  return [
    ...renderTable(['FRONT-END', 'CERTIFICATE', 'STATE', 'DETAIL'], rows),
    '',
    findings.length === 0
      ? `${check.environment}: every certificate is as installed on all ${check.hosts.length} front-ends`
      : `${check.environment}: ${findings.length} not ok on ${hosts.size} of ${check.hosts.length} front-ends: ${[...hosts].join(', ')}`,
  ];
}

/** 0 when everything is ok; 6 when something is missing or different; 7 when only unreachable hosts stand out. */
export function exitCodeForCheck(check: DriftCheck): number {
  const findings = driftFindings(check);
  if (findings.some((f) => f.state === 'missing' || f.state === 'different')) return ExitCode.DriftFound;
  return findings.length > 0 ? ExitCode.DriftUnreachable : ExitCode.Ok;
}
