// @ts-check
// The "Plan" card, which becomes "Results per host" once the job was approved.

/** @import { Job, Target, TargetStatus } from './wire-types.js' */
import { $, h } from './dom.js';
import { fmtClock, plural, shortHash } from './format.js';
import { FINAL, RAN } from './job-statuses.js';

/** One target's row: where it goes, and once the job ran, what happened there. @param {Target} t @param {boolean} ran */
function targetRow(t, ran) {
  const cells = [
    h('td', { text: t.environment }),
    h('td', { text: t.frontEnd }),
    h('td', { class: 'mono host', text: t.port !== 22 ? `${t.host}:${t.port}` : t.host }),
    h(
      'td',
      { class: 'path', text: t.path },
      // Windows: the certificate is also in the machine store, under its thumbprint.
      t.thumbprint
        ? h('div', { class: 'muted thumbprint', text: `${t.store ?? 'LocalMachine\\My'} ${t.thumbprint}` })
        : null,
    ),
  ];
  if (ran) {
    cells.push(
      h(
        'td',
        {},
        h('span', { class: `state s-${t.status}`, 'data-state': t.status, text: t.status }),
        t.unchanged ? h('span', { class: 'muted', text: ' (unchanged)' }) : null,
        // an uninstall: what left the host
        t.removed
          ? h('div', {
              class: 'muted removed',
              'data-removed': String(t.removed.length),
              text: t.removed.length ? `removed ${t.removed.join(', ')}` : 'nothing left to remove',
            })
          : null,
      ),
      h('td', { text: String(t.attempts) }),
      h('td', { class: 'hash', title: t.sha256 ?? '', text: shortHash(t.sha256) }),
      h(
        'td',
        { class: 'target-error' },
        t.error ? [h('span', { class: 'err-code', text: t.error.code }), ': ', t.error.message] : '',
      ),
      h('td', { class: 'when' }, t.finishedAt ? fmtClock(t.finishedAt) : ''),
    );
  }
  return h('tr', { 'data-target': t.id }, cells);
}

/** Fills the targets card. @param {Job} job */
export function renderTargets(job) {
  const targets = job.targets;
  const ran = RAN.has(job.status);
  $('targets-title').textContent = ran ? 'Results per host' : 'Plan';
  /** @param {TargetStatus} s */
  const count = (s) => targets.filter((t) => t.status === s).length;
  $('targets-summary').replaceChildren(
    ran
      ? `${count('installed')} of ${targets.length} installed, ${count('failed')} failed, ${
          count('running') + count('pending')
        } in progress.${FINAL.has(job.status) ? '' : ' Refreshing every 2 s.'}`
      : `${plural(targets.length, 'target')} in ${plural(job.environments.length, 'environment')}.${
          job.status === 'rejected' ? ' Nothing was installed.' : ''
        }`,
  );

  const head = ['Environment', 'Front-end', 'Host', 'Path'];
  if (ran) head.push('State', 'Attempts', 'SHA-256', 'Error', 'Finished');
  $('targets').replaceChildren(
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((t) => h('th', { scope: 'col', text: t })),
        ),
      ),
      h(
        'tbody',
        {},
        targets.map((t) => targetRow(t, ran)),
      ),
    ),
  );
}
