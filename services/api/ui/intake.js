// The one-time password page (README: Help desks): the token is the last part of the path.
const token = location.pathname.split('/').pop() ?? '';
const about = /** @type {HTMLElement} */ (document.getElementById('about'));
const form = /** @type {HTMLFormElement} */ (document.getElementById('password-form'));
const input = /** @type {HTMLInputElement} */ (document.getElementById('password'));
const result = /** @type {HTMLElement} */ (document.getElementById('result'));

/** @param {Response} res */
async function message(res) {
  const body = /** @type {{ message?: string }} */ (await res.json().catch(() => ({})));
  return body.message ?? `certfleet answered ${res.status}`;
}

async function load() {
  const res = await fetch(`/v1/intake/${encodeURIComponent(token)}`);
  if (!res.ok) {
    about.textContent = await message(res);
    return;
  }
  const view =
    /** @type {{ ticket: string, fileName: string, pfxSha256: string, name: string, environments: string[], expiresAt: string }} */ (
      await res.json()
    );
  about.textContent =
    `Ticket ${view.ticket}: ${view.fileName} (SHA-256 ${view.pfxSha256}) as '${view.name}' for ` +
    `${view.environments.join(', ')}. This link works until ${view.expiresAt}.`;
  form.hidden = false;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const password = input.value;
  input.value = '';
  fetch(`/v1/intake/${encodeURIComponent(token)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password }),
  })
    .then(async (res) => {
      if (res.ok) {
        form.hidden = true;
        result.textContent = 'Thank you: the certificate was taken in. You may close this page.';
      } else {
        result.textContent = await message(res);
      }
    })
    .catch(() => {
      result.textContent = 'certfleet could not be reached; try again.';
    });
});

void load();
