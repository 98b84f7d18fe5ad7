/**
 * Zendesk end to end (README: Help desks): a fake Zendesk on loopback that follows the
 * documented shapes, certfleet with real Redis and BullMQ, and real sshd front-ends.
 * A ticket rings, certfleet reads it back, posts a one-time password link, the
 * password makes the job, an approver approves, and the ticket gets its note.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import { startFleet, type Fleet, type Stack } from '@certfleet/test-kit';
import { startFakeZendesk, type FakeComment, type FakeZendesk } from './support/fake-zendesk.js';
import { intakeOutcome } from './support/intake-outcome.js';
import { passwordInRedis } from './support/secret-scan.js';
import { startDeskStack } from './support/desk-stack.js';
import { captureLogs, type LogCapture } from './support/log-capture.js';

const ENV_FIELD = 360001;
const NAME_FIELD = 360002;

/** Polls until `check` answers something (no timing assertion: the test timeout is the bound). */
async function until<T>(check: () => T | undefined | Promise<T | undefined>, _what: string): Promise<T> {
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Zendesk: a ticket with a .pfx attached becomes an installed certificate', () => {
  let fleet: Fleet;
  let stack: Stack;
  let zendesk: FakeZendesk;
  let certs: DemoCertificates;
  let logs: LogCapture;
  let now = Date.now();
  const clock = (): Date => new Date(now);

  beforeAll(async () => {
    fleet = await startFleet({ count: 2 });
    zendesk = await startFakeZendesk();
    certs = makeDemoCertificates('zd-client');
    logs = captureLogs('debug');
    await writeFile(path.join(fleet.baseDir, 'zd-webhook-secret'), `${zendesk.webhookSecret}\n`);
    process.env['TEST_ZD_API_TOKEN'] = zendesk.apiToken;
    stack = await startDeskStack(
      fleet,
      logs,
      [
        '  - system: zendesk',
        '    name: support',
        `    baseUrl: ${zendesk.url}`,
        `    email: ${zendesk.email}`,
        '    apiToken: { env: TEST_ZD_API_TOKEN }',
        `    webhookSecret: { file: ${path.join(fleet.baseDir, 'zd-webhook-secret')} }`,
        `    fields: { environments: ${ENV_FIELD}, name: ${NAME_FIELD} }`,
        '    statuses: { completed: solved, failed: open }',
      ],
      { clock },
    );
  });

  afterAll(async () => {
    await stack?.stop();
    await zendesk?.close();
    await fleet?.stop();
    delete process.env['TEST_ZD_API_TOKEN'];
  });

  const addTicket = (id: number, comments: FakeComment[], environments = 'acme-prd'): void => {
    zendesk.tickets.set(id, {
      requester: 'carla@customer.example',
      custom_fields: [
        { id: ENV_FIELD, value: environments },
        { id: NAME_FIELD, value: 'zd-client' },
      ],
      comments,
    });
  };
  const withPfx = (attachments: FakeComment['attachments']): FakeComment[] => [
    { body: 'Please install our new client certificate.', public: true },
    { body: 'Internal: customer verified by phone.', public: false },
    { body: 'Here it is.', public: true, attachments },
  ];
  const pfxAndRoot = (): NonNullable<FakeComment['attachments']> => [
    { file_name: 'zd-client.pfx', bytes: certs.pfx },
    { file_name: 'root.cer', bytes: Buffer.from(certs.caPem) },
  ];
  const ring = async (id: number, invocationId?: string): Promise<void> => {
    const res = await zendesk.ring(stack.url, 'support', id, {
      at: clock(),
      ...(invocationId ? { invocationId } : {}),
    });
    expect(res.status).toBe(202);
    expect(res.body['status']).toBe('accepted');
  };
  const linkOf = (id: number): Promise<string> =>
    until(() => {
      const reply = zendesk.written(id).find((c) => c.public);
      return reply?.body.match(/http:\/\/\S+\/intake\/([A-Za-z0-9_-]{43})/)?.[1];
    }, `the password link on ticket ${id}`);
  const noteOf = (id: number, text: string): Promise<string> =>
    until(
      () => zendesk.written(id).find((c) => !c.public && c.body.includes(text))?.body,
      `a note with '${text}' on ticket ${id}`,
    );
  const outcome = (deliveryId: string): Promise<unknown> =>
    intakeOutcome(stack.config, 'zendesk', 'support', deliveryId);
  const sendPassword = (token: string, password: string) =>
    stack.request(null, 'POST', `/v1/intake/${token}`, { password });

  let jobId = '';

  it('reads the ticket back, downloads the .pfx without sending credentials to the file host, waits out a 429, and posts a one-time link', async () => {
    addTicket(101, withPfx(pfxAndRoot()));
    zendesk.busy('/api/v2/tickets/101/comments');
    await ring(101, 'invocation-101');
    const token = await linkOf(101);
    const files = zendesk.requests.filter((r) => r.host === 'files');
    expect(files.length).toBe(2);
    expect(files.every((r) => r.authorization === undefined && r.status === 200)).toBe(true);
    expect(zendesk.requests.some((r) => r.status === 429)).toBe(true);
    // the comments were read page after page (next_page)
    expect(zendesk.requests.some((r) => r.path.includes('/comments?page=2'))).toBe(true);

    const page = await fetch(`${stack.url}/intake/${token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const view = await stack.request(null, 'GET', `/v1/intake/${token}`);
    expect(view.body).toMatchObject({
      ticket: 'ZD-101',
      fileName: 'zd-client.pfx',
      environments: ['acme-prd'],
    });
  });

  it('a wrong password is refused as the API refuses it, noted on the ticket, and the link still works', async () => {
    const token = await linkOf(101);
    const wrong = await sendPassword(token, 'not-the-password');
    expect(wrong.status).toBe(422);
    const note = await noteOf(101, wrong.body.error);
    expect(note).toContain(wrong.body.message);

    const made = await sendPassword(token, certs.password);
    expect(made.status).toBe(201);
    expect(made.body.status).toBe('pending_approval');
    jobId = made.body.jobId;
    // once used, the link works no more
    expect((await sendPassword(token, certs.password)).status).toBe(410);
    expect((await stack.request(null, 'GET', `/v1/intake/${token}`)).status).toBe(410);
  });

  it('is approved by an approver, installs on both sshd front-ends, writes the paths to the ticket once and solves it', async () => {
    const approved = await stack.request('bob', 'POST', `/v1/jobs/${jobId}/approve`);
    expect(approved.status).toBe(202);
    const job = await stack.waitForJob(jobId);
    expect(job.status).toBe('completed');
    expect(job.ticket).toBe('ZD-101');
    for (const host of fleet.hosts) {
      expect((await readFile(path.join(host.dir, 'zd-client.pfx'))).length).toBeGreaterThan(0);
    }
    const note = await noteOf(101, `[certfleet ${jobId}:1:completed]`);
    expect(note).toContain(`acme-prd: ${fleet.installDir}/zd-client.pfx`);
    expect(note).toMatch(/acme-prd\/fe-1 \(.*\): installed/);
    expect(
      zendesk.written(101).filter((c) => c.body.includes(`[certfleet ${jobId}:1:completed]`)).length,
    ).toBe(1);
    // statuses: { completed: solved }, set with the note's PUT
    expect(zendesk.tickets.get(101)?.status).toBe('solved');
  });

  it('a request with a bad signature is 401 and creates nothing, not even a read of the ticket', async () => {
    addTicket(102, withPfx([{ file_name: 'zd-client.pfx', bytes: certs.pfx }]));
    const res = await zendesk.ring(stack.url, 'support', 102, { secret: 'not-the-secret', at: clock() });
    expect(res.status).toBe(401);
    expect(res.body['error']).toBe('webhook_signature');
    const unknown = await zendesk.ring(stack.url, 'nowhere', 102, { at: clock() });
    expect(unknown.status).toBe(404);
    expect(zendesk.requests.some((r) => r.path.includes('/tickets/102'))).toBe(false);
  });

  it('the same delivery twice is one intake, and a trigger firing on its own notes neither: one link, one job', async () => {
    addTicket(103, withPfx(pfxAndRoot()));
    await ring(103, 'invocation-103');
    await ring(103, 'invocation-103');
    const token = await linkOf(103);
    const files = (): number =>
      zendesk.requests.filter((r) => r.host === 'files' && /blob\/103/.test(r.path)).length;
    const downloads = files();
    // the trigger fires again on certfleet's reply (a new invocation): offered already, nothing is fetched
    await ring(103, 'invocation-103-update');
    expect(await outcome('invocation-103-update')).toEqual({ already: 'offered' });
    const made = await sendPassword(token, certs.password);
    expect(made.status).toBe(201);
    await ring(103, 'invocation-103');
    await ring(103, 'invocation-103-after-job');
    expect(await outcome('invocation-103-after-job')).toEqual({ already: 'offered' });
    await noteOf(103, `certfleet job ${made.body.jobId} was made`);
    const jobs = await stack.request('bob', 'GET', '/v1/jobs?ticket=ZD-103');
    expect(jobs.body.items.map((j: { id: string }) => j.id)).toEqual([made.body.jobId]);
    expect(zendesk.written(103).filter((c) => c.public).length).toBe(1);
    expect(files()).toBe(downloads);
  });

  it('refuses a 10 MB attachment, a PDF, a malware-flagged file, a file bigger than it said and an unknown environment, each with a note', async () => {
    addTicket(104, withPfx([{ file_name: 'big.pfx', bytes: Buffer.alloc(16), size: 10 * 1024 * 1024 }]));
    addTicket(105, withPfx([{ file_name: 'invoice.pdf', bytes: Buffer.from('%PDF-1.7\n') }]));
    addTicket(
      106,
      withPfx([{ file_name: 'zd-client.pfx', bytes: certs.pfx, malware_scan_result: 'malware_found' }]),
    );
    addTicket(
      107,
      withPfx([{ file_name: 'liar.pfx', bytes: Buffer.alloc(2 * 1024 * 1024, 0x30), size: 2000 }]),
    );
    addTicket(108, withPfx([{ file_name: 'zd-client.pfx', bytes: certs.pfx }]), 'acme-nowhere');
    for (const id of [104, 105, 106, 107, 108]) await ring(id);
    expect(await noteOf(104, 'payload_too_large')).toContain('10485760 bytes');
    // a second delivery of the same refused request (the desk's trigger firing on the note) adds no note
    await ring(104, 'invocation-104-again');
    expect(await noteOf(105, 'missing_attachment')).toContain('no .pfx or .p12 attachment');
    expect(await noteOf(106, 'malware_found')).toContain('zd-client.pfx');
    expect(await noteOf(107, 'payload_too_large')).toContain('larger than');
    // the very message POST /v1/jobs answers
    const api = await stack.request('alice', 'POST', '/v1/jobs', {
      ticket: 'ZD-108',
      name: 'zd-client',
      environments: ['acme-nowhere'],
      pfx: certs.pfx.toString('base64'),
      password: certs.password,
    });
    expect(await noteOf(108, `unknown_environment: ${api.body.message}`)).toBeTruthy();
    for (const id of [104, 105, 106, 107, 108]) {
      expect(zendesk.written(id).some((c) => c.public)).toBe(false);
    }
    expect(await outcome('invocation-104-again')).toEqual({ refused: 'payload_too_large' });
    expect(zendesk.written(104).filter((c) => c.body.includes('payload_too_large')).length).toBe(1);
    // nothing of the hostile files was downloaded but the liar, which stopped at the cap
    expect(zendesk.requests.filter((r) => r.host === 'files' && /blob\/10[456]/.test(r.path))).toEqual([]);
  });

  it('the link expires after FLEET_INTAKE_LINK_TTL (72 h)', async () => {
    addTicket(109, withPfx(pfxAndRoot()));
    await ring(109);
    const token = await linkOf(109);
    expect((await stack.request(null, 'GET', `/v1/intake/${token}`)).status).toBe(200);
    now += 72 * 3600 * 1000 + 1000;
    expect((await sendPassword(token, certs.password)).status).toBe(410);
    expect((await stack.request(null, 'GET', `/v1/intake/${token}`)).status).toBe(410);
  });

  it('the password is in no ticket comment, log line or Redis key in clear', async () => {
    const password = certs.password;
    const forms = [password, Buffer.from(password).toString('base64').replace(/=+$/, '')];
    for (const ticket of zendesk.tickets.values()) {
      for (const c of ticket.comments) for (const f of forms) expect(c.body).not.toContain(f);
    }
    for (const f of forms) expect(logs.text()).not.toContain(f);
    expect(await passwordInRedis(stack.config, password, ':helpdesk:job:')).toEqual([]);
  });
});
