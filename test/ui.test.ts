/**
 * The approval page in real Chromium against the real services: the API serves
 * the page at /ui/, real Redis and BullMQ, real sshd front-ends. Alice submits
 * through the API; the page shows the API's four-eyes refusal to her; Bob sees
 * the certificate and the plan, approves, and watches every host install; a
 * second job, whose subject holds markup, is rejected with a reason.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  startStack,
  type HarnessEnvironment,
  type Stack,
  fleetEnvironments,
  startFleet,
  type Fleet,
} from '@certfleet/test-kit';

// Set CERTFLEET_SCREENSHOTS=docs to refresh the README's picture; otherwise it goes to a temp folder.
const SCREENSHOT = path.join(process.env['CERTFLEET_SCREENSHOTS'] ?? tmpdir(), 'ui-approval.png');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
const UI_DIR = fileURLToPath(new URL('../services/api/ui/', import.meta.url));
/** Every script module of the page, relative to /ui/ (app.js and js/*.js). */
const UI_MODULES = readdirSync(UI_DIR, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.split(path.sep).join('/'))
  .sort();
const HOSTILE_CN = '<img src=x onerror="globalThis.__pwned=1">ui-hostile';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** What one signed-in browser tab saw: requests, page errors and console errors. */
interface Session {
  context: BrowserContext;
  page: Page;
  requests: { url: string; authorization: string | undefined }[];
  problems: string[];
}

describe('the approval page in Chromium', () => {
  let fleet: Fleet;
  let stack: Stack;
  let browser: Browser;
  let certs: DemoCertificates;
  let uiUrl: string;
  /** The job Alice submits and Bob approves. */
  let firstJobId: string;
  const sessions: Session[] = [];

  beforeAll(async () => {
    fleet = await startFleet({ count: 3 });
    const envs: HarnessEnvironment[] = fleetEnvironments(fleet, { 'acme-prd': 2, 'acme-qa': 1 });
    stack = await startStack({
      environments: envs,
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
    });
    certs = makeDemoCertificates('ui-payments-client');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    uiUrl = `${stack.url}/ui/`;
  });

  afterAll(async () => {
    for (const s of sessions) await s.context.close().catch(() => undefined);
    await browser?.close();
    await stack?.stop();
    await fleet?.stop();
  });

  const submit = async (
    ticket: string,
    name: string,
    c: DemoCertificates,
  ): Promise<{ id: string; certificate: { subject: string } }> => {
    const res = await stack.request('alice', 'POST', '/v1/jobs', {
      ticket,
      name,
      environments: ['acme-prd', 'acme-qa'],
      pfx: c.pfx.toString('base64'),
      password: c.password,
      caCertificates: [c.caPem],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  };

  /** A fresh browser context (its own sessionStorage), signed in on the page with a principal's token. */
  const signIn = async (principal: string): Promise<Session> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const session: Session = { context, page, requests: [], problems: [] };
    sessions.push(session);
    page.on('request', (r) =>
      session.requests.push({ url: r.url(), authorization: r.headers()['authorization'] }),
    );
    page.on('pageerror', (e) => session.problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      // Chromium logs every non-2xx fetch as "Failed to load resource"; the 409 is expected.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
        session.problems.push(`console: ${m.text()}`);
      }
    });
    await page.goto(uiUrl);
    await page.getByLabel('API token').fill(stack.tokens[principal]!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#list-view').isVisible()).toBe(true);
    return session;
  };

  const jobStatus = (page: Page): Promise<string | null> =>
    page.locator('#job-status').getAttribute('data-status');

  it('is served by the API at /ui/, with /ui redirecting there', async () => {
    const res = await fetch(uiUrl);
    if (res.status === 404) {
      throw new Error(
        `GET ${uiUrl} answered 404: the API does not serve the approval page yet. ` +
          'Register @fastify/static in services/api/src/app.ts with root services/api/ui/ and prefix /ui/.',
      );
    }
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('<script type="module" src="app.js"></script>');
    for (const file of ['app.js', 'app.css']) {
      const asset = await fetch(`${uiUrl}${file}`);
      expect(asset.status, file).toBe(200);
    }
    const bare = await fetch(`${stack.url}/ui`, { redirect: 'manual' });
    expect([301, 302, 307, 308]).toContain(bare.status);
    expect(new URL(bare.headers.get('location')!, stack.url).pathname).toBe('/ui/');
  });

  it('loads every script module of the page from /ui/ as JavaScript, within its CSP and without an error', async () => {
    expect(UI_MODULES).toContain('app.js');
    expect(UI_MODULES.length).toBeGreaterThan(1);
    for (const file of UI_MODULES) {
      const res = await fetch(`${uiUrl}${file}`);
      expect(res.status, file).toBe(200);
      // A module script needs a JavaScript type (nosniff is set): anything else is refused.
      expect(res.headers.get('content-type'), file).toMatch(/^(?:text|application)\/javascript\b/);
      expect(res.headers.get('content-security-policy'), file).toContain("script-src 'self'");
      expect(res.headers.get('x-content-type-options'), file).toBe('nosniff');
    }
    // Files that only type-check the page are not served.
    for (const file of ['tsconfig.json', 'js/wire-types.d.ts']) {
      expect((await fetch(`${uiUrl}${file}`)).status, file).toBe(404);
    }

    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    sessions.push({ context, page, requests: [], problems });
    const loaded: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('response', (r) => {
      const { pathname } = new URL(r.url());
      if (pathname.endsWith('.js') && r.ok()) loaded.push(pathname.slice('/ui/'.length));
    });
    // Records CSP violations as the page sees them (a refused module would be one).
    await context.addInitScript({
      content:
        'globalThis.__cspViolations = []; document.addEventListener("securitypolicyviolation", ' +
        '(e) => globalThis.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));',
    });
    await page.goto(uiUrl);
    // The entry module ran to its end: it routed to the sign-in form and focused the token field.
    await expect.poll(() => page.getByLabel('API token').isVisible()).toBe(true);
    await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('token');
    // every module but the password page's own (intake.html loads intake.js alone)
    expect([...new Set(loaded)].sort()).toEqual(UI_MODULES.filter((f) => f !== 'intake.js'));
    expect(await page.evaluate('globalThis.__cspViolations')).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('shows the job to its submitter but answers her approval with the API self_approval error', async () => {
    const job = await submit('CASE-200001', 'ui-payments-client', certs);
    firstJobId = job.id;
    const { page, requests, problems } = await signIn('alice');

    // The token is kept in sessionStorage only, and never in a URL.
    const token = stack.tokens['alice']!;
    expect(await page.evaluate(`sessionStorage.getItem('certfleet.token')`)).toBe(token);
    expect(await page.evaluate('localStorage.length')).toBe(0);

    const row = page.locator('#pending-jobs tr', { hasText: 'CASE-200001' });
    await expect.poll(() => row.count()).toBe(1);
    await row.getByRole('link', { name: 'ui-payments-client' }).click();
    await expect.poll(() => jobStatus(page)).toBe('pending_approval');
    expect(page.url()).toBe(`${uiUrl}#/jobs/${job.id}`);

    await page.getByRole('button', { name: 'Approve and install' }).click();
    const error = page.locator('#job-error');
    await expect.poll(() => error.isVisible()).toBe(true);
    expect(await error.textContent()).toBe(
      `self_approval: alice submitted job ${job.id}; another approver must approve it`,
    );
    expect((await stack.request('bob', 'GET', `/v1/jobs/${job.id}`)).body.status).toBe('pending_approval');
    // Still pending after a poll or two: the page does not pretend otherwise.
    await page.waitForTimeout(2500);
    expect(await jobStatus(page)).toBe('pending_approval');

    const apiCalls = requests.filter((r) => new URL(r.url).pathname.startsWith('/v1/'));
    expect(apiCalls.length).toBeGreaterThan(2);
    for (const r of apiCalls) expect(r.authorization).toBe(`Bearer ${token}`);
    for (const r of requests) expect(r.url).not.toContain(token);
    expect(problems).toEqual([]);
  });

  it('lets a second approver read the certificate and the plan, approve, and watch every host install', async () => {
    const { page, problems } = await signIn('bob');
    const job = (await stack.request('bob', 'GET', `/v1/jobs/${firstJobId}`)).body;
    const row = page.locator('#pending-jobs tr', { hasText: 'CASE-200001' });
    await row.getByRole('link', { name: 'ui-payments-client' }).click();
    await expect.poll(() => jobStatus(page)).toBe('pending_approval');

    // The certificate summary.
    const cert = page.locator('#cert-facts');
    expect(await cert.locator('.cert-subject').textContent()).toBe('CN=ui-payments-client');
    expect(await cert.locator('.cert-issuer').textContent()).toBe(job.certificate.issuer);
    expect(await cert.locator('.cert-fingerprint').textContent()).toBe(job.certificate.fingerprintSha256);
    const certText = (await cert.textContent())!;
    expect(certText).toContain(job.certificate.serialNumber);
    expect(certText).toMatch(/expires in 36[45] days/);
    expect(certText).toContain(`key ${job.certificate.pfxEncryption.key}`);
    expect(certText).toContain(`MAC ${job.certificate.pfxEncryption.mac}`);
    expect(certText).toContain('installed byte for byte');
    expect(await cert.locator('ol.chain li').allTextContents()).toEqual(
      job.certificate.chain.map((s: string, i: number, all: string[]) =>
        i === 0 ? `${s} (leaf)` : i === all.length - 1 ? `${s} (root)` : s,
      ),
    );

    // The plan: every target with its environment, front-end, host and path.
    const plan = page.locator('#targets tbody tr');
    expect(await page.locator('#targets-title').textContent()).toBe('Plan');
    expect(await plan.count()).toBe(3);
    for (const [i, t] of job.targets.entries()) {
      const cells = await plan.nth(i).locator('td').allTextContents();
      expect(cells[0]).toBe(t.environment);
      expect(cells[1]).toBe(t.frontEnd);
      expect(cells[2]).toContain(t.host);
      expect(cells[3]).toBe(`${fleet.installDir}/ui-payments-client.pfx`);
    }

    await page.getByRole('button', { name: 'Approve and install' }).click();
    await expect.poll(() => page.locator('#job-notice').textContent()).toContain('Approved');
    // The page follows the job on its own (every 2 s) until it is final.
    await expect.poll(() => jobStatus(page), { timeout: 90_000, interval: 250 }).toBe('completed');
    expect(await page.locator('#actions').isVisible()).toBe(false);
    expect(await page.locator('#job-overview').textContent()).toContain('bob');

    expect(await page.locator('#targets-title').textContent()).toBe('Results per host');
    expect(await page.locator('#targets-summary').textContent()).toContain('3 of 3 installed, 0 failed');
    const expectedSha = sha256(certs.pfx);
    const results = page.locator('#targets tbody tr');
    expect(await results.count()).toBe(3);
    for (let i = 0; i < 3; i++) {
      const r = results.nth(i);
      expect(await r.locator('[data-state]').getAttribute('data-state')).toBe('installed');
      expect(await r.locator('td.path').textContent()).toBe(`${fleet.installDir}/ui-payments-client.pfx`);
      expect(await r.locator('td.hash').textContent()).toBe(`${expectedSha.slice(0, 12)}…`);
      expect(await r.locator('td.hash').getAttribute('title')).toBe(expectedSha);
      expect(await r.locator('td.target-error').textContent()).toBe('');
    }
    expect((await stack.request('bob', 'GET', `/v1/jobs/${job.id}`)).body.status).toBe('completed');

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(problems).toEqual([]);
  });

  it('rejects a job from the page only with a reason, and escapes a hostile subject', async () => {
    const hostile = makeDemoCertificates(HOSTILE_CN);
    const job = await submit('CASE-200002', 'ui-hostile-client', hostile);
    const { page, requests, problems } = await signIn('bob');
    await page.locator('#pending-jobs tr', { hasText: 'CASE-200002' }).getByRole('link').click();
    await expect.poll(() => jobStatus(page)).toBe('pending_approval');

    // Markup in the subject is shown as text, never parsed.
    expect(await page.locator('#cert-facts .cert-subject').textContent()).toBe(job.certificate.subject);
    expect(job.certificate.subject).toContain('<img');
    expect(await page.locator('#job-view img').count()).toBe(0);
    expect(await page.evaluate('globalThis.__pwned')).toBeUndefined();

    // No reason: the page refuses before calling the API.
    const before = requests.filter((r) => r.url.endsWith('/reject')).length;
    await page.getByRole('button', { name: 'Reject' }).click();
    expect(await page.locator('#job-error').textContent()).toBe('A reason is required to reject a job.');
    expect(requests.filter((r) => r.url.endsWith('/reject')).length).toBe(before);
    expect(await jobStatus(page)).toBe('pending_approval');

    const reason = 'The ticket asks for acme-qa only <b>not prd</b>';
    await page.getByLabel('Reason for rejecting (required)').fill(reason);
    await page.getByRole('button', { name: 'Reject' }).click();
    await expect.poll(() => jobStatus(page)).toBe('rejected');
    expect(await page.locator('#job-overview .reject-reason').textContent()).toBe(reason);
    expect(await page.locator('#actions').isVisible()).toBe(false);
    expect(await page.locator('#targets-summary').textContent()).toContain('Nothing was installed.');

    const final = (await stack.request('bob', 'GET', `/v1/jobs/${job.id}`)).body;
    expect(final).toMatchObject({ status: 'rejected', rejectedBy: 'bob', rejectReason: reason });

    // Signing out forgets the token.
    await page.getByRole('button', { name: 'Sign out' }).click();
    expect(await page.evaluate(`sessionStorage.getItem('certfleet.token')`)).toBeNull();
    expect(await page.getByLabel('API token').isVisible()).toBe(true);
    expect(problems).toEqual([]);
  });

  it('answers a wrong token with the API error and keeps it out of storage', async () => {
    const context = await browser.newContext();
    sessions.push({ context, page: await context.newPage(), requests: [], problems: [] });
    const page = context.pages()[0]!;
    await page.goto(uiUrl);
    await page.getByLabel('API token').fill('cf_not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const error = page.locator('#signin-error');
    await expect.poll(() => error.isVisible()).toBe(true);
    expect(await error.textContent()).toMatch(/^unauthorized: /);
    expect(await page.evaluate(`sessionStorage.length`)).toBe(0);
    expect(await page.locator('#list-view').isVisible()).toBe(false);
  });
});
