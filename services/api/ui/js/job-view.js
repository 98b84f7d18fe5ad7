// @ts-check
// One job's view: its request, certificate and plan or results, refreshed every 2 s until the
// job is final, and the approver's decision. The four-eyes rules are the API's: the page shows
// the API's { error, message } as given.

/** @import { Job, RejectBody } from './wire-types.js' */
import { ApiError, decideJob, getJob } from './api.js';
import { $, byId, show, showError } from './dom.js';
import { label } from './format.js';
import { FINAL } from './job-statuses.js';
import { currentGeneration, isCurrent, pollLater, stopPolling } from './navigation.js';
import { renderCertificate } from './render-certificate.js';
import { renderJobOverview } from './render-job-overview.js';
import { renderTargets } from './render-targets.js';

const JOB_POLL_MS = 2000;
/** Answers after which polling again cannot help. */
const NO_RETRY_STATUSES = new Set([401, 403, 404]);

/** The job on screen, once its first answer came. @type {Job | null} */
let currentJob = null;
/** The last answer drawn, as JSON: an unchanged answer is not drawn again. */
let lastSnapshot = '';

const rejectReason = () => byId('reject-reason', HTMLTextAreaElement);

/**
 * Shows the job `id` for the view generation `gen`.
 * @param {string} id
 * @param {number} gen
 */
export async function openJob(id, gen) {
  show($('job-view'), true);
  currentJob = null;
  lastSnapshot = '';
  $('job-title').textContent = `Job ${id}`;
  const badge = $('job-status');
  badge.className = 'status';
  delete badge.dataset['status'];
  badge.textContent = '';
  showError($('job-error'), null);
  show($('job-notice'), false);
  show($('job-body'), false);
  rejectReason().value = '';
  $('job-title').focus();
  await refreshJob(id, gen);
}

/** @param {string} id @param {number} gen */
async function refreshJob(id, gen) {
  try {
    const job = await getJob(id);
    if (!isCurrent(gen)) return;
    renderJob(job);
  } catch (err) {
    if (!isCurrent(gen)) return;
    showError($('job-error'), err);
    if (err instanceof ApiError && NO_RETRY_STATUSES.has(err.status)) return;
  }
  schedule(id, gen);
}

/** Polls every 2 s while the job is not final. @param {string} id @param {number} gen */
function schedule(id, gen) {
  stopPolling();
  if (currentJob && FINAL.has(currentJob.status)) return;
  pollLater(gen, JOB_POLL_MS, () => void refreshJob(id, gen));
}

/** Draws the job, unless this answer is the one already on screen. @param {Job} job */
function renderJob(job) {
  const snapshot = JSON.stringify(job);
  currentJob = job;
  if (snapshot === lastSnapshot) return; // keeps focus and selection while polling
  lastSnapshot = snapshot;

  document.title = `${job.name} · ${label(job.status)} · certfleet approvals`;
  $('job-title').textContent = job.name;
  const badge = $('job-status');
  badge.className = `status s-${job.status}`;
  badge.dataset['status'] = job.status;
  badge.textContent = label(job.status);
  show($('job-body'), true);
  show($('actions'), job.status === 'pending_approval');
  show($('start-now-card'), job.status === 'scheduled');
  // canary rollout: the job rests until an approver continues it
  show($('canary-actions'), job.status === 'canary');
  $('canary-targets').textContent = job.canary?.targets.join(', ') ?? '';

  renderJobOverview(job);
  renderCertificate(job.certificate);
  renderTargets(job);
}

/** @param {boolean} busy */
function setBusy(busy) {
  byId('approve', HTMLButtonElement).disabled = busy;
  byId('reject', HTMLButtonElement).disabled = busy;
  byId('start-now', HTMLButtonElement).disabled = busy;
  byId('continue', HTMLButtonElement).disabled = busy;
}

/** @param {string} text */
function notice(text) {
  const node = $('job-notice');
  node.textContent = text;
  show(node, Boolean(text));
}

/**
 * Sends the decision and shows the job as the API answers it.
 * @param {'approve' | 'reject' | 'start-now' | 'continue'} action
 * @param {RejectBody} [body]
 */
async function decide(action, body) {
  const job = currentJob;
  if (!job) return;
  const gen = currentGeneration();
  setBusy(true);
  showError($('job-error'), null);
  notice('');
  try {
    const updated = await decideJob(job.id, action, body);
    if (!isCurrent(gen)) return;
    renderJob(updated);
    notice(NOTICES[action]);
    rejectReason().value = '';
    byId('start-now-reason', HTMLTextAreaElement).value = '';
    schedule(job.id, gen);
  } catch (err) {
    if (!isCurrent(gen)) return;
    showError($('job-error'), err);
    // The job may have moved on (approved by someone else, say): show it as it is now.
    void refreshJob(job.id, gen);
  } finally {
    setBusy(false);
  }
}

/** The "Continue to the other front-ends" button of a job resting in canary. */
export function continueJob() {
  void decide('continue');
}

/** The "Approve and install" button. */
export function approve() {
  void decide('approve');
}

/** What the page says after each decision. */
const NOTICES = {
  approve: 'Approved. Results appear below as each host finishes (or when its maintenance window opens).',
  reject: 'Rejected. Nothing will be installed.',
  'start-now': 'Started now, outside its window. Results appear below as each host finishes.',
  continue: 'Continued. The other front-ends install now; results appear below.',
};

/** The reject form: refuses without a reason before calling the API. @param {SubmitEvent} event */
export function reject(event) {
  withReason(event, rejectReason(), 'A reason is required to reject a job.', 'reject');
}

/** The start-now form (admins): refuses without a reason before calling the API. @param {SubmitEvent} event */
export function startNow(event) {
  const field = byId('start-now-reason', HTMLTextAreaElement);
  withReason(event, field, 'A reason is required to start a job outside its window.', 'start-now');
}

/**
 * Sends a decision that needs a reason, or says that it is missing.
 * @param {SubmitEvent} event
 * @param {HTMLTextAreaElement} field
 * @param {string} missing
 * @param {'reject' | 'start-now'} action
 */
function withReason(event, field, missing, action) {
  event.preventDefault();
  const reason = field.value.trim();
  if (!reason) {
    showError($('job-error'), missing);
    field.setAttribute('aria-invalid', 'true');
    field.focus();
    return;
  }
  field.removeAttribute('aria-invalid');
  void decide(action, { reason });
}
