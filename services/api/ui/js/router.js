// @ts-check
// Which view the page shows: the sign-in form without a token, else the list or one job
// (`#/jobs/<id>`).

import { token } from './api.js';
import { $, byId, show } from './dom.js';
import { openDrift } from './drift-view.js';
import { openJob } from './job-view.js';
import { openList } from './list-view.js';
import { navigate } from './navigation.js';

/** @typedef {{ view: 'job', id: string } | { view: 'list' } | { view: 'drift' }} Route */

/** @returns {Route} the view the address asks for */
function currentRoute() {
  const id = /^#\/jobs\/([A-Za-z0-9_-]{1,64})$/.exec(location.hash)?.[1];
  if (location.hash === '#/drift') return { view: 'drift' };
  return id ? { view: 'job', id } : { view: 'list' };
}

/** Shows the view for the address and the sign-in state (on load, hash change and sign-in/out). */
export function route() {
  const gen = navigate();
  const signedIn = Boolean(token());
  show($('nav'), signedIn);
  show($('signin-view'), !signedIn);
  show($('list-view'), false);
  show($('job-view'), false);
  show($('drift-view'), false);
  if (!signedIn) {
    document.title = 'Sign in · certfleet approvals';
    byId('token', HTMLInputElement).focus();
    return;
  }
  const r = currentRoute();
  if (r.view === 'job') void openJob(r.id, gen);
  else if (r.view === 'drift') void openDrift(gen);
  else void openList(gen);
}

/** Reloads the list in place (the Refresh button). */
export function refreshList() {
  void openList(navigate(), false);
}
