// @ts-check
// The drift view (`#/drift`): per environment its latest check as a grid and a "Check now"
// button (the API lets approvers and admins start one). Refreshed every 3 s while a check runs.

import { latestCheck, listEnvironments, startCheck } from './api.js';
import { $, h, show, showError } from './dom.js';
import { isCurrent, pollLater } from './navigation.js';
import { renderDriftGrid, renderRegistry } from './render-drift.js';

const RUNNING_POLL_MS = 3000;
const IDLE_POLL_MS = 15000;

/**
 * Shows the drift view for the view generation `gen`, and keeps it fresh while it is current.
 * @param {number} gen
 * @param {boolean} [focus] moves the focus to the heading (on navigation, not on refresh)
 */
export async function openDrift(gen, focus = true) {
  show($('drift-view'), true);
  document.title = 'Drift · certfleet approvals';
  if (focus) $('drift-title').focus();
  let running = false;
  try {
    const envs = await listEnvironments();
    const checks = await Promise.all(envs.map((env) => latestCheck(env.name)));
    if (!isCurrent(gen)) return;
    showError($('drift-error'), null);
    running = checks.some((c) => c?.status === 'running');
    $('drift-envs').replaceChildren(
      ...envs.map((env, i) => {
        const error = h('div', { class: 'error', role: 'alert', hidden: true });
        const button = h('button', {
          type: 'button',
          class: 'primary',
          'data-env': env.name,
          text: 'Check now',
        });
        button.addEventListener('click', () => {
          button.setAttribute('disabled', '');
          startCheck(env.name)
            .then(() => openDrift(gen, false))
            .catch((err) => {
              button.removeAttribute('disabled');
              showError(error, err);
            });
        });
        return h(
          'section',
          { class: 'card', 'data-environment': env.name },
          h('div', { class: 'heading-row' }, h('h2', { text: `${env.name} (${env.platform})` }), button),
          error,
          renderRegistry(env.name, env.certificates),
          renderDriftGrid(checks[i] ?? null),
        );
      }),
    );
  } catch (err) {
    if (!isCurrent(gen)) return;
    showError($('drift-error'), err);
  }
  pollLater(gen, running ? RUNNING_POLL_MS : IDLE_POLL_MS, () => void openDrift(gen, false));
}
