// certfleet approval page: plain ES module, no build step, no external code.
//
// Rules kept here:
// - The bearer token lives in sessionStorage only (this tab); never in the URL or localStorage.
// - Every piece of data reaches the DOM through textContent / text nodes, never innerHTML:
//   certificate subjects and error messages can hold hostile text.
// - The four-eyes rules are the API's: the page shows the API's { error, message } as given.

const TOKEN_KEY = 'certfleet.token';
const FINAL = new Set(['completed', 'partially_failed', 'failed', 'rejected']);
const RAN = new Set(['queued', 'running', 'completed', 'partially_failed', 'failed']);
const JOB_POLL_MS = 2000;
const LIST_POLL_MS = 5000;
const EXPIRY_SOON_DAYS = 30;
const DAY_MS = 24 * 3600 * 1000;

/** The API lives next to /ui/ (works behind a path prefix too). */
const API_BASE = new URL('../', new URL('.', document.baseURI));

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- DOM helpers

/**
 * Creates an element. `props.text` sets textContent; `class`, `title`, `href`, … are set as
 * attributes; children are nodes or strings (appended as text, never parsed as HTML).
 */
function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = String(value);
    else if (key === 'class') node.className = String(value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function show(node, visible) {
  node.hidden = !visible;
}

/** Shows an API error verbatim: its code and its message. */
function showError(node, err) {
  node.replaceChildren();
  if (!err) {
    show(node, false);
    return;
  }
  if (err instanceof ApiError) {
    node.append(h('code', { class: 'err-code', text: err.code }), ': ', err.message);
  } else {
    node.append(String(err && err.message ? err.message : err));
  }
  show(node, true);
}

function label(status) {
  return String(status ?? '').replace(/_/g, ' ');
}

function statusBadge(status, tag = 'span') {
  return h(tag, { class: `status s-${status}`, 'data-status': status, text: label(status) });
}

function fmtTime(iso) {
  if (!iso) return h('span', { class: 'muted', text: '—' });
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const text = `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return h('time', { datetime: d.toISOString(), title: d.toString(), text });
}

/** A time of day, for per-host results (the full date is in the title). */
function fmtClock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return h('time', {
    datetime: d.toISOString(),
    title: `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`,
    text: `${d.toISOString().slice(11, 19)} UTC`,
  });
}

function days(ms) {
  const n = Math.floor(Math.abs(ms) / DAY_MS);
  return n === 1 ? '1 day' : `${n} days`;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function shortHash(hex, n = 12) {
  return hex ? `${hex.slice(0, n)}…` : '';
}

function facts(dl, rows) {
  dl.replaceChildren();
  for (const [term, ...value] of rows) {
    if (value.length === 1 && (value[0] === undefined || value[0] === false)) continue;
    dl.append(h('dt', { text: term }), h('dd', {}, ...value));
  }
}

// ---------------------------------------------------------------- API client

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  const t = token();
  if (t) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(new URL(path, API_BASE), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      redirect: 'error',
    });
  } catch (err) {
    throw new ApiError(0, 'network_error', `the API did not answer (${err.message})`);
  }
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const code = data && typeof data.error === 'string' ? data.error : `http_${res.status}`;
    const message =
      data && typeof data.message === 'string' ? data.message : text.slice(0, 500) || res.statusText;
    const err = new ApiError(res.status, code, message);
    if (res.status === 401) signOut(err);
    throw err;
  }
  return data;
}

// ---------------------------------------------------------------- views and routing

/** Increments on every navigation: late answers for an old view are dropped. */
let generation = 0;
let timer = null;

function stopTimer() {
  if (timer !== null) clearTimeout(timer);
  timer = null;
}

function currentRoute() {
  const m = /^#\/jobs\/([A-Za-z0-9_-]{1,64})$/.exec(location.hash);
  return m ? { view: 'job', id: m[1] } : { view: 'list' };
}

function route() {
  generation++;
  stopTimer();
  const signedIn = Boolean(token());
  show($('nav'), signedIn);
  show($('signin-view'), !signedIn);
  show($('list-view'), false);
  show($('job-view'), false);
  if (!signedIn) {
    document.title = 'Sign in · certfleet approvals';
    $('token').focus();
    return;
  }
  const r = currentRoute();
  if (r.view === 'job') openJob(r.id, generation);
  else openList(generation);
}

function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  route();
  showError($('signin-error'), reason ?? null);
}

async function signIn(event) {
  event.preventDefault();
  const input = $('token');
  const value = input.value.trim();
  showError($('signin-error'), null);
  if (!value) {
    showError($('signin-error'), 'Enter your API token.');
    input.focus();
    return;
  }
  const button = event.submitter ?? $('signin-form').querySelector('button');
  button.disabled = true;
  sessionStorage.setItem(TOKEN_KEY, value);
  try {
    // Checks the token against the API before showing anything.
    await api('GET', 'v1/jobs?limit=1');
    input.value = '';
    route();
  } catch (err) {
    if (token()) sessionStorage.removeItem(TOKEN_KEY);
    showError($('signin-error'), err);
    input.select();
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- job lists

function jobTable(jobs, empty) {
  if (jobs.length === 0) return h('p', { class: 'muted', text: empty });
  const rows = jobs.map((job) =>
    h(
      'tr',
      { 'data-job-id': job.id },
      h('td', {}, h('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, text: job.name })),
      h('td', { text: job.ticket }),
      h('td', {}, statusBadge(job.status)),
      h('td', { text: (job.environments ?? []).join(', ') }),
      h('td', { text: String(job.targets?.length ?? 0) }),
      h('td', { text: job.submittedBy }),
      h('td', {}, fmtTime(job.createdAt)),
    ),
  );
  const head = ['Name', 'Ticket', 'Status', 'Environments', 'Targets', 'Submitted by', 'Created'];
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, ...head.map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows),
    ),
  );
}

async function openList(gen, focus = true) {
  show($('list-view'), true);
  document.title = 'Jobs · certfleet approvals';
  if (focus) $('list-title').focus();
  try {
    const [pending, recent] = await Promise.all([
      api('GET', 'v1/jobs?status=pending_approval&limit=50'),
      api('GET', 'v1/jobs?limit=20'),
    ]);
    if (gen !== generation) return;
    showError($('list-error'), null);
    $('pending-jobs').replaceChildren(jobTable(pending.items, 'No job is waiting for approval.'));
    $('recent-jobs').replaceChildren(jobTable(recent.items, 'No jobs yet.'));
  } catch (err) {
    if (gen !== generation) return;
    showError($('list-error'), err);
  }
  if (gen === generation) timer = setTimeout(() => openList(gen, false), LIST_POLL_MS);
}

// ---------------------------------------------------------------- one job

let currentJob = null;
let lastSnapshot = '';

async function openJob(id, gen) {
  show($('job-view'), true);
  currentJob = null;
  lastSnapshot = '';
  $('job-title').textContent = `Job ${id}`;
  const badge = $('job-status');
  badge.className = 'status';
  delete badge.dataset.status;
  badge.textContent = '';
  showError($('job-error'), null);
  show($('job-notice'), false);
  show($('job-body'), false);
  $('reject-reason').value = '';
  $('job-title').focus();
  await refreshJob(id, gen);
}

async function refreshJob(id, gen) {
  try {
    const job = await api('GET', `v1/jobs/${encodeURIComponent(id)}`);
    if (gen !== generation) return;
    renderJob(job);
  } catch (err) {
    if (gen !== generation) return;
    showError($('job-error'), err);
    if (err.status === 404 || err.status === 401 || err.status === 403) return;
  }
  schedule(id, gen);
}

/** Polls every 2 s while the job is not final. */
function schedule(id, gen) {
  stopTimer();
  if (gen !== generation) return;
  if (currentJob && FINAL.has(currentJob.status)) return;
  timer = setTimeout(() => refreshJob(id, gen), JOB_POLL_MS);
}

function renderJob(job) {
  const snapshot = JSON.stringify(job);
  currentJob = job;
  if (snapshot === lastSnapshot) return; // keeps focus and selection while polling
  lastSnapshot = snapshot;

  document.title = `${job.name} · ${label(job.status)} · certfleet approvals`;
  $('job-title').textContent = job.name;
  const badge = $('job-status');
  badge.className = `status s-${job.status}`;
  badge.dataset.status = job.status;
  badge.textContent = label(job.status);
  show($('job-body'), true);
  show($('actions'), job.status === 'pending_approval');

  renderOverview(job);
  renderCertificate(job.certificate ?? {});
  renderTargets(job);
}

function renderOverview(job) {
  const paths = Object.entries(job.paths ?? {});
  facts($('job-overview'), [
    ['Ticket', h('span', { text: job.ticket })],
    ['Job id', h('code', { text: job.id })],
    ['Submitted by', h('span', { text: job.submittedBy }), ' · ', fmtTime(job.createdAt)],
    ['Source', job.source ? h('span', { text: job.source }) : undefined],
    ['Approved by', job.approvedBy ? h('span', { text: job.approvedBy }) : undefined],
    ['Rejected by', job.rejectedBy ? h('span', { text: job.rejectedBy }) : undefined],
    [
      'Reject reason',
      job.rejectReason ? h('span', { class: 'reject-reason', text: job.rejectReason }) : undefined,
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

function expiry(cert) {
  const now = Date.now();
  const from = Date.parse(cert.notBefore);
  const to = Date.parse(cert.notAfter);
  if (Number.isNaN(to)) return h('span', { class: 'badge bad', text: 'unknown expiry' });
  if (to <= now) return h('span', { class: 'badge bad', text: `EXPIRED ${days(now - to)} ago` });
  if (!Number.isNaN(from) && from > now)
    return h('span', { class: 'badge bad', text: `not valid yet: starts in ${days(from - now)}` });
  const left = to - now;
  return h('span', {
    class: left < EXPIRY_SOON_DAYS * DAY_MS ? 'badge warn' : 'badge ok',
    text: `expires in ${days(left)}`,
  });
}

function encryption(e) {
  if (!e) return h('span', { class: 'muted', text: 'unknown' });
  const parts = [`key ${e.key}`, `certificates ${e.certificates}`, `MAC ${e.mac}`];
  if (e.iterations) parts.push(`${e.iterations} iterations`);
  return h('span', { text: parts.join(' · ') });
}

function renderCertificate(cert) {
  const warnings = cert.warnings ?? [];
  const box = $('cert-warnings');
  box.replaceChildren();
  if (warnings.length > 0) {
    box.append(
      h('strong', { text: warnings.length === 1 ? '1 warning' : `${warnings.length} warnings` }),
      h(
        'ul',
        {},
        warnings.map((w) => h('li', { text: w })),
      ),
    );
  }
  show(box, warnings.length > 0);

  const normalized = cert.normalized
    ? [
        h('span', { class: 'badge warn', text: 'yes' }),
        ' re-encoded by certfleet from ',
        encryption(cert.normalizedFrom),
      ]
    : [h('span', { class: 'badge ok', text: 'no' }), ' the submitted file is installed byte for byte'];

  facts($('cert-facts'), [
    ['Subject', h('span', { class: 'cert-subject', text: cert.subject })],
    ['Issuer', h('span', { class: 'cert-issuer', text: cert.issuer })],
    ['Serial number', h('code', { text: cert.serialNumber })],
    ['SHA-256 fingerprint', h('code', { class: 'cert-fingerprint', text: cert.fingerprintSha256 })],
    ['Valid from', fmtTime(cert.notBefore)],
    ['Valid until', fmtTime(cert.notAfter), ' ', expiry(cert)],
    ['PFX protection', encryption(cert.pfxEncryption)],
    ['Normalized', ...normalized],
    [
      'Chain',
      h(
        'ol',
        { class: 'chain' },
        (cert.chain ?? []).map((s, i, all) =>
          h('li', {}, h('span', { text: s }), i === 0 ? ' (leaf)' : i === all.length - 1 ? ' (root)' : ''),
        ),
      ),
    ],
    [
      'Warnings',
      warnings.length ? h('span', { class: 'badge warn', text: String(warnings.length) }) : 'none',
    ],
  ]);
}

function renderTargets(job) {
  const targets = job.targets ?? [];
  const ran = RAN.has(job.status);
  $('targets-title').textContent = ran ? 'Results per host' : 'Plan';
  const count = (s) => targets.filter((t) => t.status === s).length;
  $('targets-summary').replaceChildren(
    ran
      ? `${count('installed')} of ${targets.length} installed, ${count('failed')} failed, ${
          count('running') + count('pending')
        } in progress.${FINAL.has(job.status) ? '' : ' Refreshing every 2 s.'}`
      : `${plural(targets.length, 'target')} in ${plural((job.environments ?? []).length, 'environment')}.${
          job.status === 'rejected' ? ' Nothing was installed.' : ''
        }`,
  );

  const head = ['Environment', 'Front-end', 'Host', 'Path'];
  if (ran) head.push('State', 'Attempts', 'SHA-256', 'Error', 'Finished');
  const rows = targets.map((t) => {
    const cells = [
      h('td', { text: t.environment }),
      h('td', { text: t.frontEnd }),
      h('td', { class: 'mono host', text: t.port && t.port !== 22 ? `${t.host}:${t.port}` : t.host }),
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
        ),
        h('td', { text: String(t.attempts ?? 0) }),
        h('td', { class: 'hash', title: t.sha256 ?? '', text: shortHash(t.sha256) }),
        h(
          'td',
          { class: 'target-error' },
          t.error ? [h('span', { class: 'err-code', text: t.error.code }), ': ', t.error.message] : '',
        ),
        h('td', { class: 'when' }, t.finishedAt ? fmtClock(t.finishedAt) : ''),
      );
    }
    return h('tr', { 'data-target': t.id ?? `${t.environment}/${t.frontEnd}` }, cells);
  });
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
      h('tbody', {}, rows),
    ),
  );
}

// ---------------------------------------------------------------- decisions

function setBusy(busy) {
  $('approve').disabled = busy;
  $('reject').disabled = busy;
}

function notice(text) {
  const node = $('job-notice');
  node.textContent = text;
  show(node, Boolean(text));
}

async function decide(action, body) {
  const job = currentJob;
  if (!job) return;
  const gen = generation;
  setBusy(true);
  showError($('job-error'), null);
  notice('');
  try {
    const updated = await api('POST', `v1/jobs/${encodeURIComponent(job.id)}/${action}`, body);
    if (gen !== generation) return;
    renderJob(updated);
    notice(
      action === 'approve'
        ? 'Approved. Results appear below as each host finishes.'
        : 'Rejected. Nothing will be installed.',
    );
    $('reject-reason').value = '';
    schedule(job.id, gen);
  } catch (err) {
    if (gen !== generation) return;
    showError($('job-error'), err);
    // The job may have moved on (approved by someone else, say): show it as it is now.
    refreshJob(job.id, gen);
  } finally {
    setBusy(false);
  }
}

function approve() {
  decide('approve');
}

function reject(event) {
  event.preventDefault();
  const field = $('reject-reason');
  const reason = field.value.trim();
  if (!reason) {
    showError($('job-error'), 'A reason is required to reject a job.');
    field.setAttribute('aria-invalid', 'true');
    field.focus();
    return;
  }
  field.removeAttribute('aria-invalid');
  decide('reject', { reason });
}

// ---------------------------------------------------------------- start

$('signin-form').addEventListener('submit', signIn);
$('sign-out').addEventListener('click', () => signOut(null));
$('refresh-list').addEventListener('click', () => {
  generation++;
  stopTimer();
  openList(generation, false);
});
$('approve').addEventListener('click', approve);
$('reject-form').addEventListener('submit', reject);
window.addEventListener('hashchange', route);
route();
