// @ts-check
// An environment's latest drift check as a grid: a row per front-end, a column per certificate,
// each cell the certificate's state there with the detail as its title.

/** @import { DriftCheck } from './wire-types.js' */
import { h } from './dom.js';
import { fmtTime, statusBadge } from './format.js';

/**
 * The grid of one check, or a line saying there is none yet.
 * @param {DriftCheck | null} check
 */
export function renderDriftGrid(check) {
  if (!check) return h('p', { class: 'muted', text: 'No drift check yet.' });
  const names = [...new Set(check.hosts.flatMap((host) => host.certificates.map((c) => c.name)))].sort();
  const summary = h(
    'p',
    { class: 'summary' },
    statusBadge(check.status),
    ` ${check.hosts.length} of ${check.total} front-ends looked at; started `,
    fmtTime(check.startedAt),
    check.requestedBy ? ` by ${check.requestedBy}` : ' on schedule',
  );
  if (names.length === 0)
    return h('div', {}, summary, h('p', { class: 'muted', text: 'No certificate in the registry.' }));
  const rows = check.hosts.map((host) =>
    h(
      'tr',
      { 'data-front-end': host.frontEnd },
      h('th', { scope: 'row' }, host.frontEnd, h('span', { class: 'muted', text: ` ${host.host}` })),
      ...names.map((name) => {
        const cell = host.certificates.find((c) => c.name === name);
        if (!cell) return h('td', { class: 'muted', text: '—' });
        return h(
          'td',
          { title: cell.detail, 'data-state': cell.state },
          statusBadge(cell.state),
          h('div', { class: 'detail', text: cell.detail }),
        );
      }),
    ),
  );
  return h(
    'div',
    {},
    summary,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'drift-grid' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col', text: 'Front-end' }),
            ...names.map((n) => h('th', { scope: 'col', text: n })),
          ),
        ),
        h('tbody', {}, rows),
      ),
    ),
  );
}
