// @ts-check
// An environment's latest drift check as a grid: a row per front-end, a column per certificate,
// each cell the certificate's state there with the detail as its title.

/** @import { DriftCheck, EnvironmentView } from './wire-types.js' */
import { changeCertificate } from './api.js';
import { h, showError } from './dom.js';
import { fmtTime, statusBadge } from './format.js';
import { expiry } from './render-certificate.js';

/**
 * The buttons that ask for a rollback or an uninstall of one certificate (operator): each
 * makes a job pending approval and links to it; the API's refusal (no previous version, one
 * already open, not an operator) is shown in the row.
 * @param {string} env
 * @param {string} name
 */
function changeButtons(env, name) {
  const error = h('div', { class: 'error', role: 'alert', hidden: true });
  const made = h('span', { class: 'made' });
  /** @param {'rollback' | 'uninstall'} change @param {string} text */
  const button = (change, text) => {
    const b = h('button', { type: 'button', 'data-change': change, text });
    b.addEventListener('click', () => {
      b.setAttribute('disabled', '');
      showError(error, null);
      changeCertificate(env, name, change)
        .then((job) => {
          made.replaceChildren(
            h('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, text: `${change} job ${job.id}` }),
            ` ${job.status.replace('_', ' ')}`,
          );
        })
        .catch((err) => showError(error, err))
        .finally(() => b.removeAttribute('disabled'));
    });
    return b;
  };
  return h(
    'td',
    {},
    button('rollback', 'Roll back'),
    ' ',
    button('uninstall', 'Uninstall'),
    ' ',
    made,
    error,
  );
}

/**
 * The certificates an environment's registry holds (what the grid checks): name, path and
 * when each expires, soonest first, with the expiry badge of the certificate card, and the
 * buttons that ask for a rollback or an uninstall.
 * @param {string} env
 * @param {EnvironmentView['certificates']} certificates
 */
export function renderRegistry(env, certificates) {
  if (certificates.length === 0) return h('p', { class: 'muted', text: 'No certificate installed here.' });
  const soonest = [...certificates].sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter));
  return h(
    'table',
    { class: 'registry' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Certificate', 'Path', 'Valid until', 'Expiry', 'Change'].map((text) =>
          h('th', { scope: 'col', text }),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      ...soonest.map((c) =>
        h(
          'tr',
          { 'data-certificate': c.name },
          h('th', { scope: 'row', text: c.name }),
          h('td', { text: c.path }),
          h('td', {}, fmtTime(c.notAfter)),
          h('td', {}, expiry(c)),
          changeButtons(env, c.name),
        ),
      ),
    ),
  );
}

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
