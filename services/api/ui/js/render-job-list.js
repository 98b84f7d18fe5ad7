// @ts-check
// A table of jobs, one row per job, its name linking to the job's view.

/** @import { Job } from './wire-types.js' */
import { h } from './dom.js';
import { fmtTime, statusBadge } from './format.js';

const HEAD = ['Name', 'Ticket', 'Status', 'Environments', 'Targets', 'Submitted by', 'Created'];

/**
 * The jobs as a table, or `empty` as a line when there are none.
 * @param {Job[]} jobs
 * @param {string} empty
 */
export function renderJobList(jobs, empty) {
  if (jobs.length === 0) return h('p', { class: 'muted', text: empty });
  const rows = jobs.map((job) =>
    h(
      'tr',
      { 'data-job-id': job.id },
      h(
        'td',
        {},
        h('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, text: job.name }),
        // a repair job made by reconcile says so, and why, on its row
        job.source === 'reconcile'
          ? [' ', h('span', { class: 'badge warn', title: job.reason ?? '', text: 'repair' })]
          : [],
      ),
      h('td', { text: job.ticket }),
      h('td', {}, statusBadge(job.status)),
      h('td', { text: job.environments.join(', ') }),
      h('td', { text: String(job.targets.length) }),
      h('td', { text: job.submittedBy }),
      h('td', {}, fmtTime(job.createdAt)),
    ),
  );
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, ...HEAD.map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows),
    ),
  );
}
