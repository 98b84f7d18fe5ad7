// @ts-check
// The list view: the jobs pending approval and the recent ones, refreshed every 5 s.

import { listJobs } from './api.js';
import { $, show, showError } from './dom.js';
import { isCurrent, pollLater } from './navigation.js';
import { renderJobList } from './render-job-list.js';

const LIST_POLL_MS = 5000;

/**
 * Shows the list view for the view generation `gen`, and keeps it fresh while it is current.
 * @param {number} gen
 * @param {boolean} [focus] moves the focus to the heading (on navigation, not on refresh)
 */
export async function openList(gen, focus = true) {
  show($('list-view'), true);
  document.title = 'Jobs · certfleet approvals';
  if (focus) $('list-title').focus();
  try {
    const [pending, recent] = await Promise.all([
      listJobs('status=pending_approval&limit=50'),
      listJobs('limit=20'),
    ]);
    if (!isCurrent(gen)) return;
    showError($('list-error'), null);
    $('pending-jobs').replaceChildren(renderJobList(pending.items, 'No job is waiting for approval.'));
    $('recent-jobs').replaceChildren(renderJobList(recent.items, 'No jobs yet.'));
  } catch (err) {
    if (!isCurrent(gen)) return;
    showError($('list-error'), err);
  }
  pollLater(gen, LIST_POLL_MS, () => void openList(gen, false));
}
