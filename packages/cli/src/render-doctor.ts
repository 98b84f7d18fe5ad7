import type { DoctorReport } from './api-types.js';
import { renderTable } from './table.js';

/** One table: a row per check of each front-end, then one verdict line. */
export function renderDoctor(report: DoctorReport): string[] {
  const rows = report.hosts.flatMap((h) =>
    h.checks.map((c) => [`${h.frontEnd} (${h.host}:${h.port})`, c.check, c.ok ? 'ok' : 'FAIL', c.detail]),
  );
  const failed = report.hosts.filter((h) => !h.ok).map((h) => h.frontEnd);
  return [
    ...renderTable(['FRONT-END', 'CHECK', 'RESULT', 'DETAIL'], rows),
    '',
    failed.length === 0
      ? `${report.environment}: every front-end is ready (${report.hosts.length})`
      : `${report.environment}: ${failed.length} of ${report.hosts.length} front-ends need attention: ${failed.join(', ')}`,
  ];
}
