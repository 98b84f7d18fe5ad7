/**
 * Jira Service Management end to end (README: Help desks): a fake Jira on loopback that
 * follows the documented shapes, certfleet with real Redis and BullMQ, and real sshd
 * front-ends. An issue rings as a signed admin webhook, certfleet reads it back with
 * its approvals, posts the one-time link as a public comment, the password makes the
 * job, and the result goes back as an internal comment and a transition.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { JiraAdapter, type JiraConfig } from '@certfleet/helpdesk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import { startFleet, until, type Fleet, type Stack } from '@certfleet/test-kit';
import {
  startFakeJira,
  type FakeIssue,
  type FakeJira,
  type FakeJiraAttachment,
} from './support/fake-jira.js';
import { intakeOutcome } from './support/intake-outcome.js';
import { startDeskStack } from './support/desk-stack.js';
import { captureLogs, type LogCapture } from './support/log-capture.js';
import { passwordInRedis } from './support/secret-scan.js';

const REQUESTER = 'carla@customer.example';
const APPROVER = 'dave.manager@customer.example';
const ENV_FIELD = 'customfield_10050';
const NAME_FIELD = 'customfield_10051';

describe('Jira Service Management: a request with a .pfx attached becomes an installed certificate', () => {
  let fleet: Fleet;
  let stack: Stack;
  let jira: FakeJira;
  let certs: DemoCertificates;
  let logs: LogCapture;

  beforeAll(async () => {
    fleet = await startFleet({ count: 2 });
    jira = await startFakeJira();
    certs = makeDemoCertificates('jira-client');
    logs = captureLogs('debug');
    await writeFile(path.join(fleet.baseDir, 'jira-webhook-secret'), `${jira.webhookSecret}\n`);
    const common = [
      `    baseUrl: ${jira.url}`,
      `    webhookSecret: { file: ${path.join(fleet.baseDir, 'jira-webhook-secret')} }`,
      `    fields: { environments: ${ENV_FIELD}, name: ${NAME_FIELD} }`,
      '    statuses: { completed: Resolve }',
    ];
    process.env['TEST_JIRA_API_TOKEN'] = jira.apiToken;
    process.env['TEST_JIRA_PAT'] = jira.pat;
    stack = await startDeskStack(
      fleet,
      logs,
      [
        '  - system: jira',
        '    name: cloud',
        `    email: ${jira.email}`,
        '    apiToken: { env: TEST_JIRA_API_TOKEN }',
        ...common,
        '  - system: jira',
        '    name: dc',
        '    apiToken: { env: TEST_JIRA_PAT }',
        ...common,
      ],
      { env: { FLEET_WEBHOOK_AUTO_APPROVE: 'true' } },
    );
  });

  afterAll(async () => {
    await stack?.stop();
    await jira?.close();
    await fleet?.stop();
    delete process.env['TEST_JIRA_API_TOKEN'];
    delete process.env['TEST_JIRA_PAT'];
  });

  const addIssue = (
    key: string,
    attachments: FakeJiraAttachment[],
    overrides: Partial<FakeIssue> = {},
  ): void => {
    jira.issues.set(key, {
      reporter: REQUESTER,
      // a multi-select of options, and a text field
      fields: { [ENV_FIELD]: [{ value: 'acme-prd' }], [NAME_FIELD]: 'jira-client' },
      attachments,
      approvals: [{ finalDecision: 'approved', approvers: [{ email: APPROVER, decision: 'approved' }] }],
      status: 'Waiting for support',
      comments: [{ body: 'Please install our certificate.', public: true, author: REQUESTER }],
      ...overrides,
    });
  };
  const pfxAndRoot = (): FakeJiraAttachment[] => [
    { filename: 'jira-client.pfx', bytes: certs.pfx },
    { filename: 'root.cer', bytes: Buffer.from(certs.caPem) },
  ];
  const ring = async (key: string, identifier?: string, instance = 'cloud'): Promise<string> => {
    const res = await jira.ring(stack.url, instance, key, identifier ? { identifier } : {});
    expect(res.status).toBe(202);
    return String(res.body['deliveryId']);
  };
  const outcome = (deliveryId: string, instance = 'cloud'): Promise<unknown> =>
    intakeOutcome(stack.config, 'jira', instance, deliveryId);
  const noteOf = (key: string, text: string): Promise<string> =>
    until(
      'what the desk should get',
      async () => jira.written(key).find((c) => !c.public && c.body.includes(text))?.body,
    );
  const linkOf = (key: string): Promise<string> =>
    until(
      'what the desk should get',
      async () =>
        jira
          .written(key)
          .find((c) => c.public)
          ?.body.match(/http:\/\/\S+\/intake\/([A-Za-z0-9_-]{43})/)?.[1],
    );
  const sendPassword = (token: string, password: string) =>
    stack.request(null, 'POST', `/v1/intake/${token}`, { password });

  it('reads the issue back (not the webhook body), waits out a 429, posts the link; the password makes a job the desk approved; it installs, notes and resolves', async () => {
    addIssue('SD-1', pfxAndRoot());
    jira.busy('/rest/api/3/issue/SD-1');
    expect(await outcome(await ring('SD-1', 'wh-sd-1'))).toEqual({ link: true });
    expect(jira.requests.some((r) => r.status === 429)).toBe(true);
    // the content came from the API host with redirect=false, the credentials never left it
    const content = jira.requests.filter((r) => r.path.includes('/attachment/content/'));
    expect(content.length).toBe(2);
    expect(content.every((r) => r.path.endsWith('?redirect=false') && r.host === 'desk')).toBe(true);
    const token = await linkOf('SD-1');
    const view = await stack.request(null, 'GET', `/v1/intake/${token}`);
    expect(view.body).toMatchObject({ ticket: 'SD-1', environments: ['acme-prd'], name: 'jira-client' });

    const made = await sendPassword(token, certs.password);
    expect(made.status).toBe(201);
    const job = await stack.waitForJob(made.body.jobId);
    expect(job.status).toBe('completed');
    for (const host of fleet.hosts) {
      expect((await readFile(path.join(host.dir, 'jira-client.pfx'))).length).toBeGreaterThan(0);
    }
    const audit = (await stack.request('carol', 'GET', `/v1/audit?job=${made.body.jobId}`)).body.items as {
      action: string;
      actor: string;
    }[];
    expect(audit.some((e) => e.action === 'approve' && e.actor === `ticket:${APPROVER}`)).toBe(true);
    const note = await noteOf('SD-1', `[certfleet ${made.body.jobId}:1:completed]`);
    expect(note).toContain(`acme-prd: ${fleet.installDir}/jira-client.pfx`);
    expect(note).toMatch(/acme-prd\/fe-1 \(.*\): installed/);
    await until('what the desk should get', async () =>
      jira.transitioned('SD-1').length > 0 ? true : undefined,
    );
    expect(jira.transitioned('SD-1')).toEqual(['Resolve']);
    expect(jira.issues.get('SD-1')?.status).toBe('Resolved');
  });

  it('a redirect to the media host is followed without credentials', async () => {
    addIssue('SD-2', [{ filename: 'a.pfx', bytes: Buffer.from([0x30, 1, 2, 3]) }]);
    const config: JiraConfig = {
      system: 'jira',
      name: 'direct',
      baseUrl: jira.url,
      email: jira.email,
      apiToken: jira.apiToken,
      webhookSecret: jira.webhookSecret,
      fields: { environments: ENV_FIELD, name: NAME_FIELD },
    };
    const adapter = new JiraAdapter(config);
    const [att] = await adapter.listAttachments('SD-2');
    const bytes = await adapter.download(
      { ...att!, contentUrl: att!.contentUrl.replace('?redirect=false', '') },
      1024,
    );
    expect([...bytes]).toEqual([0x30, 1, 2, 3]);
    const media = jira.requests.filter((r) => r.host === 'files');
    expect(media.map((r) => [r.authorization, r.status])).toEqual([[undefined, 200]]);
    // wrong credentials are the desk's refusal, permanent
    const wrong = new JiraAdapter({ ...config, apiToken: 'wrong' });
    await expect(wrong.readTicket('SD-2')).rejects.toMatchObject({
      code: 'desk_refused',
      status: 401,
      permanent: true,
    });
  });

  it('a bad signature is 401 and reads nothing', async () => {
    addIssue('SD-3', pfxAndRoot());
    const res = await jira.ring(stack.url, 'cloud', 'SD-3', { secret: 'not-the-secret' });
    expect(res.status).toBe(401);
    expect(res.body['error']).toBe('webhook_signature');
    expect(jira.requests.some((r) => r.path.includes('SD-3'))).toBe(false);
  });

  it('the same delivery twice is one intake; the webhook firing on its own comments posts no second link', async () => {
    addIssue('SD-4', pfxAndRoot());
    const first = await ring('SD-4', 'wh-sd-4');
    expect(await ring('SD-4', 'wh-sd-4')).toBe(first);
    expect(await outcome(first)).toEqual({ link: true });
    // one read of the issue gave its fields and its attachments
    expect(
      jira.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/rest/api/3/issue/SD-4?')),
    ).toHaveLength(1);
    expect(await outcome(await ring('SD-4', 'wh-sd-4-comment-created'))).toEqual({ already: 'offered' });
    expect(jira.written('SD-4').filter((c) => c.public)).toHaveLength(1);
  });

  it('a pending approval is noted once and waits; a declined one is refused, naming the approver', async () => {
    addIssue('SD-5', pfxAndRoot(), {
      approvals: [{ finalDecision: 'pending', approvers: [{ email: APPROVER, decision: 'pending' }] }],
    });
    expect(await outcome(await ring('SD-5'))).toEqual({ waiting: 'approval' });
    expect(await outcome(await ring('SD-5'))).toEqual({ waiting: 'approval' });
    expect(jira.written('SD-5').filter((c) => c.body.includes('waiting for this ticket'))).toHaveLength(1);
    expect(jira.written('SD-5').some((c) => c.public)).toBe(false);

    jira.issues.get('SD-5')!.approvals = [
      { finalDecision: 'declined', approvers: [{ email: APPROVER, decision: 'declined' }] },
    ];
    expect(await outcome(await ring('SD-5'))).toEqual({ refused: 'not_approved' });
    expect(await noteOf('SD-5', 'not_approved')).toContain(APPROVER);
  });

  it('an issue that is no service request (no approvals) waits for four eyes in certfleet; Data Center takes a Bearer PAT', async () => {
    addIssue('SD-6', pfxAndRoot());
    delete jira.issues.get('SD-6')!.approvals;
    expect(await outcome(await ring('SD-6', 'wh-sd-6', 'dc'), 'dc')).toEqual({ link: true });
    expect(
      jira.requests
        .filter((r) => r.path.includes('SD-6'))
        .every((r) => r.authorization === `Bearer ${jira.pat}`),
    ).toBe(true);
    const made = await sendPassword(await linkOf('SD-6'), certs.password);
    expect(made.body.status).toBe('pending_approval');
  });

  it('refuses a 10 MB attachment, a PDF and a file bigger than it said, each with one internal note', async () => {
    addIssue('SD-7', [{ filename: 'big.pfx', bytes: Buffer.alloc(16), size: 10 * 1024 * 1024 }]);
    addIssue('SD-8', [{ filename: 'invoice.pdf', bytes: Buffer.from('%PDF-1.7\n') }]);
    addIssue('SD-9', [{ filename: 'liar.pfx', bytes: Buffer.alloc(2 * 1024 * 1024, 0x30), size: 2000 }]);
    expect(await outcome(await ring('SD-7'))).toEqual({ refused: 'payload_too_large' });
    expect(await outcome(await ring('SD-8'))).toEqual({ refused: 'missing_attachment' });
    expect(await outcome(await ring('SD-9'))).toEqual({ refused: 'payload_too_large' });
    expect(await noteOf('SD-7', 'payload_too_large')).toContain('10485760 bytes');
    expect(await noteOf('SD-9', 'payload_too_large')).toContain('larger than');
    // comment_created fires on certfleet's note: no second note
    expect(await outcome(await ring('SD-7'))).toEqual({ refused: 'payload_too_large' });
    expect(jira.written('SD-7').filter((c) => c.body.includes('payload_too_large'))).toHaveLength(1);
    for (const key of ['SD-7', 'SD-8', 'SD-9']) expect(jira.written(key).some((c) => c.public)).toBe(false);
  });

  it('the password is in no comment, log line or Redis key in clear', async () => {
    const password = certs.password;
    const forms = [password, Buffer.from(password).toString('base64').replace(/=+$/, '')];
    for (const issue of jira.issues.values()) {
      for (const c of issue.comments) for (const f of forms) expect(c.body).not.toContain(f);
    }
    for (const f of forms) expect(logs.text()).not.toContain(f);
    expect(await passwordInRedis(stack.config, password, ':helpdesk:job:')).toEqual([]);
  });
});
