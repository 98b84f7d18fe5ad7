// @ts-check
// The "Request" card: who asked for what, who decided, where it installs.

/** @import { Job } from './wire-types.js' */
import { $, facts, h } from './dom.js';
import { fmtTime, shortHash } from './format.js';

/** Fills the job's overview. @param {Job} job */
export function renderJobOverview(job) {
  const paths = Object.entries(job.paths);
  facts($('job-overview'), [
    ['Ticket', h('span', { text: job.ticket })],
    ['Job id', h('code', { text: job.id })],
    ['Submitted by', h('span', { text: job.submittedBy }), ' · ', fmtTime(job.createdAt)],
    ['Source', job.source ? h('span', { text: job.source }) : undefined],
    [
      'Action',
      job.action === 'rollback'
        ? h('span', { class: 'badge warn job-action', text: 'rollback: puts the previous version back' })
        : undefined,
    ],
    [
      'Reason',
      job.reason
        ? h('span', { class: 'repair-reason', 'data-source': job.source, text: job.reason })
        : undefined,
    ],
    ['Approved by', job.approvedBy ? h('span', { text: job.approvedBy }) : undefined],
    [
      'Starts',
      job.status === 'scheduled' && job.startsAt
        ? h('span', { class: 'starts-at', text: `${fmtTime(job.startsAt)} (maintenance window)` })
        : undefined,
    ],
    ['Rejected by', job.rejectedBy ? h('span', { text: job.rejectedBy }) : undefined],
    [
      'Reject reason',
      job.rejectReason ? h('span', { class: 'reject-reason', text: job.rejectReason }) : undefined,
    ],
    [
      'Action',
      job.action === 'uninstall'
        ? h('span', { class: 'badge warn', text: 'uninstall: removes this certificate from every front-end' })
        : undefined,
    ],
    ['Updated', fmtTime(job.updatedAt)],
    [
      'Replaces existing',
      job.replace ? h('span', { class: 'badge warn', text: 'yes: rotation of an existing name' }) : undefined,
    ],
    [
      'Install path',
      h(
        'ul',
        { class: 'paths' },
        paths.map(([env, p]) => h('li', {}, h('strong', { text: env }), ': ', h('code', { text: p }))),
      ),
    ],
    [
      'Plan hash',
      job.planHash ? h('code', { title: job.planHash, text: shortHash(job.planHash, 16) }) : undefined,
    ],
  ]);
}
