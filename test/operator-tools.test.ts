/**
 * The operators' tools of the running API: the OpenAPI document and UI, Bull
 * Board for admins only, Prometheus metrics, and the Slack and e-mail sinks
 * against a real HTTP receiver and a real SMTP server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  startReceiver,
  startStack,
  type Receiver,
  type Stack,
  fleetEnvironments,
  startFleet,
  type Fleet,
} from '@certfleet/test-kit';
import { startSmtp, type SmtpPeer } from './support/smtp-peer.js';

describe('operator tools on the running services', () => {
  let fleet: Fleet;
  let stack: Stack;
  let slack: Receiver;
  let smtp: SmtpPeer;
  let certs: DemoCertificates;

  beforeAll(async () => {
    [fleet, slack, smtp] = await Promise.all([startFleet({ count: 2 }), startReceiver(), startSmtp()]);
    stack = await startStack({
      environments: fleetEnvironments(fleet, { 'acme-prd': fleet.hosts.length }),
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
      env: { FLEET_SMTP_URL: smtp.url, FLEET_NOTIFY_EMAIL_FROM: 'certfleet@support.example' },
    });
    certs = makeDemoCertificates('tools-client');
  });

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([slack?.close(), smtp?.close(), fleet?.stop()]);
  });

  it('describes every route, body, answer and error in the OpenAPI document', async () => {
    const res = await fetch(`${stack.url}/docs/json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    const routes = Object.entries(doc.paths).flatMap(([p, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`),
    );
    for (const route of [
      'POST /v1/jobs',
      'GET /v1/jobs',
      'GET /v1/jobs/{id}',
      'POST /v1/jobs/{id}/approve',
      'POST /v1/jobs/{id}/reject',
      'POST /v1/jobs/{id}/retry',
      'POST /v1/webhooks/ticket',
      'POST /v1/inventory/reload',
      'GET /v1/environments',
      'GET /v1/audit',
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
    ]) {
      expect(routes).toContain(route);
    }
    const submit = doc.paths['/v1/jobs']!['post']!;
    // The route's own answers plus those any POST with a token can get (README: API).
    expect(Object.keys(submit.responses).sort()).toEqual([
      '201',
      '400',
      '401',
      '403',
      '408',
      '409',
      '413',
      '415',
      '422',
      '429',
      '431',
      '500',
      '503',
    ]);
    const ui = await fetch(`${stack.url}/docs/`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });

  it('opens Bull Board to admins only', async () => {
    const anonymous = await fetch(`${stack.url}/admin/queues`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic/);
    const operator = await fetch(`${stack.url}/admin/queues`, {
      headers: { authorization: `Bearer ${stack.tokens['alice']!}` },
    });
    expect(operator.status).toBe(403);
    const basic = Buffer.from(`carol:${stack.tokens['carol']!}`).toString('base64');
    const admin = await fetch(`${stack.url}/admin/queues`, { headers: { authorization: `Basic ${basic}` } });
    expect(admin.status).toBe(200);
    expect(await admin.text()).toContain('<html');
    const api = await fetch(`${stack.url}/admin/queues/api/queues`, {
      headers: { authorization: `Bearer ${stack.tokens['carol']!}` },
    });
    expect(api.status).toBe(200);
    const queues = ((await api.json()) as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    expect(queues).toEqual(['install', 'install-target', 'notify']);
  });

  it('reports to Slack and by e-mail with the path and every host, and counts it in /metrics', async () => {
    const submitted = await stack.request('alice', 'POST', '/v1/jobs', {
      ticket: 'CASE-TOOLS-1',
      name: 'tools-client',
      environments: ['acme-prd'],
      pfx: certs.pfx.toString('base64'),
      password: certs.password,
      caCertificates: [certs.caPem],
      notify: { slackUrl: slack.url, email: ['customer@example.com', 'ops@example.com'] },
    });
    expect(submitted.status).toBe(201);
    expect((await stack.request('bob', 'POST', `/v1/jobs/${submitted.body.id}/approve`)).status).toBe(202);
    const final = await stack.waitForJob(submitted.body.id);
    expect(final.status).toBe('completed');
    const path = `${fleet.installDir}/tools-client.pfx`;

    const [message] = await slack.waitFor(1);
    const posted = JSON.parse(message!.body) as { text: string; blocks: { text: { text: string } }[] };
    expect(posted.text).toContain('CASE-TOOLS-1 tools-client completed');
    const blocks = posted.blocks.map((b) => b.text.text).join('\n');
    expect(blocks).toContain(`acme-prd: ${path}`);
    expect(blocks).toContain('acme-prd/fe-1');
    expect(blocks).toContain('acme-prd/fe-2');
    expect(message!.body).not.toContain(certs.password);

    const deadline = Date.now() + 20_000;
    while (smtp.mails.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0]!;
    expect(mail.from).toBe('certfleet@support.example');
    expect(mail.to.sort()).toEqual(['customer@example.com', 'ops@example.com']);
    expect(mail.raw).toMatch(/Subject: certfleet: CASE-TOOLS-1 tools-client completed/);
    expect(mail.raw).toContain('text/plain');
    expect(mail.raw).toContain('text/html');
    expect(mail.raw).toContain(path);
    expect(mail.raw).toContain(fleet.hosts[0]!.address);
    expect(mail.raw).not.toContain(certs.password);

    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/^certfleet_jobs_total\{status="completed"\} 1$/m);
    expect(metrics).toMatch(/^certfleet_notifications_total\{sink="slack",result="delivered"\} 1$/m);
    expect(metrics).toMatch(/^certfleet_notifications_total\{sink="email",result="delivered"\} 1$/m);
    expect(metrics).toMatch(/^certfleet_target_install_duration_seconds_count 2$/m);
    expect(metrics).toMatch(/^certfleet_target_install_duration_seconds_bucket\{le="\+Inf"\} 2$/m);
    expect(metrics).toMatch(/^certfleet_queue_jobs\{queue="install-target",state="waiting"\} 0$/m);
    expect(metrics).toMatch(/^certfleet_process_resident_memory_bytes \d+/m);
  });

  it('refuses e-mail at intake where no SMTP server is configured', async () => {
    const other = await startStack({
      environments: [],
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
    });
    try {
      const res = await other.request('alice', 'POST', '/v1/jobs', {
        ticket: 'CASE-TOOLS-2',
        name: 'tools-client',
        environments: ['acme-prd'],
        pfx: certs.pfx.toString('base64'),
        password: certs.password,
        notify: { email: ['customer@example.com'] },
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toContain('FLEET_SMTP_URL');
    } finally {
      await other.stop();
    }
  });
});
