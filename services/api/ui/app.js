// @ts-check
// certfleet approval page: ES modules (js/), no build step, no external code. This entry point
// wires the page's controls to the views and shows the first one.

import { onUnauthorized } from './js/api.js';
import { $, byId } from './js/dom.js';
import { approve, continueJob, reject, startNow } from './js/job-view.js';
import { refreshList, route } from './js/router.js';
import { signIn, signOut } from './js/sign-in.js';

onUnauthorized(signOut);
byId('signin-form', HTMLFormElement).addEventListener('submit', (event) => void signIn(event));
$('sign-out').addEventListener('click', () => signOut(null));
$('refresh-list').addEventListener('click', refreshList);
$('approve').addEventListener('click', approve);
$('continue').addEventListener('click', continueJob);
byId('reject-form', HTMLFormElement).addEventListener('submit', reject);
byId('start-now-form', HTMLFormElement).addEventListener('submit', startNow);
window.addEventListener('hashchange', route);
route();
