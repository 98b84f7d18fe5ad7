/**
 * ServiceNow end to end (README: Help desks): a fake ServiceNow on loopback that follows
 * the documented Table and Attachment API shapes, certfleet with real Redis and BullMQ,
 * and real sshd front-ends. A requested item rings as the Business Rule rings, with the
 * PFX password from a Masked variable in the signed body or without it (then the
 * one-time link), its approval is the item's, and the result goes back as a work note
 * with the mapped state.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import { startFleet, until, type Fleet, type Stack } from '@certfleet/test-kit';
import {
  startFakeServiceNow,
  type FakeAttachment,
  type FakeRecordInput,
  type FakeServiceNow,
} from './support/fake-servicenow.js';
import { intakeOutcome } from './support/intake-outcome.js';
import { startDeskStack } from './support/desk-stack.js';
import { captureLogs, type LogCapture } from './support/log-capture.js';
import { passwordInRedis } from './support/secret-scan.js';

const REQUESTER = 'carla@customer.example';
const APPROVER = 'dave.manager@customer.example';

describe('ServiceNow: a requested item with a .pfx attached becomes an installed certificate', () => {
  let fleet: Fleet;
  let stack: Stack;
  let sn: FakeServiceNow;
  let certs: DemoCertificates;
  let logs: LogCapture;
  let polled = '';
  let counter = 0;

  const item = (
    attachments: FakeAttachment[],
    overrides: Partial<FakeRecordInput> = {},
    fields: Record<string, string> = {},
  ): string => {
    counter += 1;
    return sn.put({
      fields: {
        number: `RITM00100${String(counter).padStart(2, '0')}`,
        'variables.environments': 'acme-prd',
        'variables.certificate_name': 'sn-client',
        'opened_by.email': REQUESTER,
        short_description: 'Install a client certificate',
        active: 'true',
        state: '1',
        ...fields,
      },
      attachments,
      approval: 'approved',
      approvers: [{ state: 'approved', email: APPROVER }],
      ...overrides,
    });
  };
  const pfxAndRoot = (): FakeAttachment[] => [
    { file_name: 'sn-client.pfx', bytes: certs.pfx, redirect: true },
    { file_name: 'root.cer', bytes: Buffer.from(certs.caPem) },
  ];

  beforeAll(async () => {
    fleet = await startFleet({ count: 2 });
    sn = await startFakeServiceNow();
    certs = makeDemoCertificates('sn-client');
    logs = captureLogs('debug');
    // an item the Business Rule never rang about: the poll finds it at start
    polled = item(pfxAndRoot(), {}, { short_description: 'certfleet poll' });
    await writeFile(path.join(fleet.baseDir, 'sn-password'), `${sn.password}\n`);
    process.env['TEST_SN_WEBHOOK_SECRET'] = sn.webhookSecret;
    stack = await startDeskStack(
      fleet,
      logs,
      [
        '  - system: servicenow',
        '    name: itsm',
        `    baseUrl: ${sn.url}`,
        `    username: ${sn.username}`,
        `    password: { file: ${path.join(fleet.baseDir, 'sn-password')} }`,
        '    webhookSecret: { env: TEST_SN_WEBHOOK_SECRET }',
        '    fields: { environments: variables.environments, name: variables.certificate_name }',
        "    statuses: { completed: '3', failed: '2' }",
        "    poll: { query: 'active=true^short_description=certfleet poll', intervalSeconds: 3600 }",
      ],
      { env: { FLEET_WEBHOOK_AUTO_APPROVE: 'true' } },
    );
  });

  afterAll(async () => {
    await stack?.stop();
    await sn?.close();
    await fleet?.stop();
    delete process.env['TEST_SN_WEBHOOK_SECRET'];
  });

  const ring = async (
    sysId: string,
    options: Parameters<FakeServiceNow['ring']>[3] = {},
  ): Promise<string> => {
    const res = await sn.ring(stack.url, 'itsm', sysId, options);
    expect(res.status).toBe(202);
    return String(res.body['deliveryId']);
  };
  const outcome = (deliveryId: string): Promise<unknown> =>
    intakeOutcome(stack.config, 'servicenow', 'itsm', deliveryId);
  const notes = (sysId: string): string[] =>
    sn.written(sysId).flatMap((w) => (w.work_notes ? [w.work_notes] : []));
  const noteOf = (sysId: string, text: string): Promise<string> =>
    until('what the desk should get', async () => notes(sysId).find((n) => n.includes(text)));
  const linkOf = (sysId: string): Promise<string> =>
    until('what the desk should get', async () => {
      const reply = sn.written(sysId).find((w) => w.comments !== undefined)?.comments;
      return reply?.match(/http:\/\/\S+\/intake\/([A-Za-z0-9_-]{43})/)?.[1];
    });
  const sealedDoorbells = async (): Promise<string[]> => {
    const redis = new Redis(stack.config.redisUrl);
    try {
      return await redis.keys(`*${stack.config.prefix}*:helpdesk:doorbell:*`);
    } finally {
      redis.disconnect();
    }
  };
  const jobsOf = async (ticket: string): Promise<{ id: string; status: string }[]> =>
    (await stack.request('bob', 'GET', `/v1/jobs?ticket=${ticket}`)).body.items;

  it('with the password in the signed body and the item approved, installs on both sshd front-ends at once and sets the state', async () => {
    const sysId = item(pfxAndRoot());
    const deliveryId = await ring(sysId, { password: certs.password });
    const made = (await outcome(deliveryId)) as { jobId: string };
    expect(made.jobId).toBeTruthy();
    // the desk's approver is another person than the requester: approved without certfleet's four eyes
    const job = await stack.waitForJob(made.jobId);
    expect(job.status).toBe('completed');
    expect(job.ticket).toBe(sn.record(sysId)?.['number']);
    for (const host of fleet.hosts) {
      expect((await readFile(path.join(host.dir, 'sn-client.pfx'))).length).toBeGreaterThan(0);
    }
    const audit = (await stack.request('carol', 'GET', `/v1/audit?job=${made.jobId}`)).body.items as {
      action: string;
      actor: string;
    }[];
    expect(audit.some((e) => e.action === 'approve' && e.actor === `ticket:${APPROVER}`)).toBe(true);
    const note = await noteOf(sysId, `[certfleet ${made.jobId}:1:completed]`);
    expect(note).toContain(`acme-prd: ${fleet.installDir}/sn-client.pfx`);
    expect(note).toMatch(/acme-prd\/fe-2 \(.*\): installed/);
    expect(sn.written(sysId).find((w) => w.work_notes === note)?.state).toBe('3');
    expect(sn.record(sysId)?.['state']).toBe('3');
    // the download was redirected to the file host, which got no credentials
    const files = sn.requests.filter((r) => r.host === 'files');
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((r) => r.authorization === undefined && r.status === 200)).toBe(true);
    // no link: the password came with the webhook; and it is no longer kept sealed
    expect(sn.written(sysId).some((w) => w.comments !== undefined)).toBe(false);
    expect(await sealedDoorbells()).toEqual([]);
  });

  it('a wrong password in the body is refused with a note; the corrected one, rung again, makes the job', async () => {
    const sysId = item(pfxAndRoot());
    const wrong = await ring(sysId, { password: 'not-the-password' });
    expect(await outcome(wrong)).toMatchObject({ refused: expect.any(String) });
    const refused = notes(sysId).find((n) => n.startsWith('certfleet refused this request'));
    expect(refused).toBeTruthy();
    const right = await ring(sysId, { password: certs.password });
    const made = (await outcome(right)) as { jobId: string };
    expect(made.jobId).toBeTruthy();
    expect((await stack.waitForJob(made.jobId)).status).toBe('completed');
  });

  it('a requested (pending) approval is noted once and waits; once approved, a ring posts the one-time link', async () => {
    const sysId = item(pfxAndRoot(), {
      approval: 'requested',
      approvers: [{ state: 'requested', email: APPROVER }],
    });
    expect(await outcome(await ring(sysId))).toEqual({ waiting: 'approval' });
    // a password sent while the approval waits is not kept: the ring after the approval sends it again
    expect(await outcome(await ring(sysId, { password: certs.password }))).toEqual({ waiting: 'approval' });
    expect(await sealedDoorbells()).toEqual([]);
    expect(notes(sysId).filter((n) => n.includes('waiting for this ticket')).length).toBe(1);
    const ref = sn.record(sysId)!['number']!;
    expect(await jobsOf(ref)).toEqual([]);

    sn.setApproval(sysId, 'approved', { state: 'approved', email: APPROVER });
    expect(await outcome(await ring(sysId))).toEqual({ link: true });
    const token = await linkOf(sysId);
    const made = await stack.request(null, 'POST', `/v1/intake/${token}`, { password: certs.password });
    expect(made.status).toBe(201);
    expect((await stack.waitForJob(made.body.jobId)).status).toBe('completed');
    // ringing again after the job (the Business Rule fires on certfleet's own work notes) does nothing
    expect(await outcome(await ring(sysId))).toEqual({ already: 'offered' });
    expect(await jobsOf(ref)).toHaveLength(1);
  });

  it('a rejected approval is refused with a note naming the approver, and nothing is downloaded', async () => {
    const sysId = item([{ file_name: 'sn-client.pfx', bytes: certs.pfx }], {
      approval: 'rejected',
      approvers: [{ state: 'rejected', email: APPROVER }],
    });
    const before = sn.requests.filter((r) => r.path.includes('/file')).length;
    expect(await outcome(await ring(sysId, { password: certs.password }))).toEqual({
      refused: 'not_approved',
    });
    expect(await noteOf(sysId, 'not_approved')).toContain(APPROVER);
    expect(sn.requests.filter((r) => r.path.includes('/file')).length).toBe(before);
  });

  it('a bad signature or a stale timestamp is 401 and reads nothing', async () => {
    const sysId = item(pfxAndRoot());
    const forged = await sn.ring(stack.url, 'itsm', sysId, { secret: 'not-the-secret' });
    expect(forged.status).toBe(401);
    expect(forged.body['error']).toBe('webhook_signature');
    const stale = await sn.ring(stack.url, 'itsm', sysId, { at: new Date(Date.now() - 10 * 60_000) });
    expect(stale.status).toBe(401);
    expect(sn.requests.some((r) => r.path.includes(sysId))).toBe(false);
  });

  it('the same delivery twice (hex v1 this time) is one intake and one link', async () => {
    const sysId = item(pfxAndRoot());
    const first = await ring(sysId, { delivery: `${sysId}-7`, encoding: 'hex' });
    const second = await ring(sysId, { delivery: `${sysId}-7`, encoding: 'hex' });
    expect(second).toBe(first);
    expect(await outcome(first)).toEqual({ link: true });
    await linkOf(sysId);
    expect(sn.written(sysId).filter((w) => w.comments !== undefined)).toHaveLength(1);
  });

  it('refuses a 10 MB attachment, a PDF and a file bigger than it said, each with one note', async () => {
    const big = item([{ file_name: 'big.pfx', bytes: Buffer.alloc(16), size: 10 * 1024 * 1024 }]);
    const pdf = item([{ file_name: 'invoice.pdf', bytes: Buffer.from('%PDF-1.7\n') }]);
    const liar = item([{ file_name: 'liar.p12', bytes: Buffer.alloc(2 * 1024 * 1024, 0x30), size: 2000 }]);
    expect(await outcome(await ring(big))).toEqual({ refused: 'payload_too_large' });
    expect(await outcome(await ring(pdf))).toEqual({ refused: 'missing_attachment' });
    expect(await outcome(await ring(liar))).toEqual({ refused: 'payload_too_large' });
    expect(await noteOf(big, 'payload_too_large')).toContain('10485760 bytes');
    expect(await noteOf(liar, 'payload_too_large')).toContain('larger than');
    // the Business Rule fires again on the note (a new sys_mod_count): no second note
    expect(await outcome(await ring(big))).toEqual({ refused: 'payload_too_large' });
    expect(notes(big).filter((n) => n.includes('payload_too_large'))).toHaveLength(1);
    for (const id of [big, pdf, liar])
      expect(sn.written(id).some((w) => w.comments !== undefined)).toBe(false);
  });

  it('polls its queue: an item nobody rang about gets its link', async () => {
    const token = await linkOf(polled);
    const view = await stack.request(null, 'GET', `/v1/intake/${token}`);
    expect(view.body).toMatchObject({ fileName: 'sn-client.pfx', environments: ['acme-prd'] });
    expect(sn.requests.some((r) => r.path.startsWith('/api/now/table/sc_req_item?'))).toBe(true);
  });

  it('the password is in no work note, comment, log line or Redis key in clear', async () => {
    const password = certs.password;
    const forms = [password, Buffer.from(password).toString('base64').replace(/=+$/, '')];
    for (const sysId of sn.requests.flatMap((r) => /[0-9a-f]{32}/.exec(r.path) ?? [])) {
      for (const w of sn.written(sysId)) {
        for (const f of forms) expect(JSON.stringify(w)).not.toContain(f);
      }
    }
    for (const f of forms) expect(logs.text()).not.toContain(f);
    expect(await passwordInRedis(stack.config, password, ':helpdesk:job:')).toEqual([]);
  });
});
