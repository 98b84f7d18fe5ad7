// @ts-check
// Signing in with a token (checked against the API first) and signing out.

import { forgetToken, listJobs, saveToken, token } from './api.js';
import { $, byId, showError } from './dom.js';
import { route } from './router.js';

/** Forgets the token and shows the sign-in form, with why if there is a reason. @param {unknown} reason */
export function signOut(reason) {
  forgetToken();
  route();
  showError($('signin-error'), reason ?? null);
}

/** The sign-in form. @param {SubmitEvent} event */
export async function signIn(event) {
  event.preventDefault();
  const input = byId('token', HTMLInputElement);
  const value = input.value.trim();
  showError($('signin-error'), null);
  if (!value) {
    showError($('signin-error'), 'Enter your API token.');
    input.focus();
    return;
  }
  const button =
    event.submitter instanceof HTMLButtonElement
      ? event.submitter
      : byId('signin-form', HTMLFormElement).querySelector('button');
  if (button) button.disabled = true;
  saveToken(value);
  try {
    // Checks the token against the API before showing anything.
    await listJobs('limit=1');
    input.value = '';
    route();
  } catch (err) {
    if (token()) forgetToken();
    showError($('signin-error'), err);
    input.select();
  } finally {
    if (button) button.disabled = false;
  }
}
