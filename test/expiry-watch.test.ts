/**
 * The expiry watch (issue 16) against real parts: a certificate installed by a real job
 * on a real sshd front-end, two worker processes of their own (stopped and started
 * again), real Redis, a real HTTP receiver for the ticket callback and for Slack, and a
 * real SMTP server for the requester's e-mail. The clock is faked in the scheduler (the
 * API's clock, which `POST /v1/expiry/check` stamps on the run), never in the
 * certificate: it is the demo's ordinary one-year certificate.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createRedis, QueueName, verifySignature, type RedisClient } from '@certfleet/jobs';
import { keyPrefix, METRIC_NAMES } from '@certfleet/store';
import {
  fleetEnvironments,
  startFleet,
  startReceiver,
  startStack,
  type Fleet,
  type ReceivedRequest,
  type Receiver,
  type Stack,
} from '@certfleet/test-kit';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import { killAllServices, REPO_ROOT, spawnService, type ServiceProcess } from './support/processes.js';
import { startSmtp, type Mail, type SmtpPeer } from './support/smtp-peer.js';

const ENV = 'acme-prd';
const NAME = 'expiry-client';
const SECRET = 'expiry-outbound-secret';
const REQUESTER = 'requester@customer.example';
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The parsed bodies of the `certificate.expiring` webhooks a receiver got. */
function expiring(received: ReceivedRequest[]): ReceivedRequest[] {
  return received.filter((r) => (JSON.parse(r.body) as { event?: string }).event === 'certificate.expiring');
}

const slackExpiring = (received: ReceivedRequest[]): ReceivedRequest[] =>
  received.filter((r) => /expires in \d+ day/.test((JSON.parse(r.body) as { text: string }).text));

const mailExpiring = (mails: Mail[]): Mail[] =>
  mails.filter((m) => /Subject: .*expires in \d+ day/.test(m.raw));

/**
 * The metric names a PromQL expression reads: what is left after quoted strings, label
 * matchers, ranges, `by (…)`/`without (…)` clauses, function names, keywords and numbers.
 */
function metricsOf(expr: string): string[] {
  const KEYWORDS = new Set([
    'and',
    'or',
    'unless',
    'bool',
    'offset',
    'on',
    'ignoring',
    'group_left',
    'group_right',
  ]);
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?/g)) {
    if (m[1] !== undefined || KEYWORDS.has(m[0])) continue;
    names.push(m[0]);
  }
  return names;
}

describe('the expiry watch', () => {
  let fleet: Fleet;
  let stack: Stack;
  let callback: Receiver;
  let slack: Receiver;
  let smtp: SmtpPeer;
  let certs: DemoCertificates;
  let redis: RedisClient;
  let watchQueue: Queue;
  let notifyQueue: Queue;
  let workers: ServiceProcess[] = [];
  let jobId: string;
  let notAfter: string;
  /** The fake clock of the scheduler. */
  let clockMs = Date.now();
  let generation = 0;

  async function startWorkers(): Promise<ServiceProcess[]> {
    generation += 1;
    const started = [1, 2].map((n) =>
      spawnService('worker', { ...stack.env, LOG_LEVEL: 'info' }, { label: `worker-${generation}.${n}` }),
    );
    await Promise.all(started.map((w) => w.waitForOutput(/"msg":"worker started"/, 60_000)));
    return started;
  }

  async function stopWorkers(): Promise<void> {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.waitExit(30_000)));
  }

  /** Asks for a run as the admin; answers the run's id. */
  async function check(): Promise<string> {
    const res = await stack.request('carol', 'POST', '/v1/expiry/check');
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body.id as string;
  }

  /** Waits until a run has finished and answers what it did. */
  async function finished(
    id: string,
  ): Promise<{ checked: number; warned: { threshold: number; daysLeft: number }[] }> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      // the state first: a job read before it finished has no return value yet
      const state = await watchQueue.getJobState(id);
      if (state === 'completed' || state === 'failed') {
        const job = (await watchQueue.getJob(id))!;
        if (state === 'failed') throw new Error(`expiry watch ${id} failed: ${job.failedReason}`);
        return job.returnvalue as never;
      }
      if (Date.now() > deadline) throw new Error(`expiry watch ${id} still ${state}`);
      await sleep(100);
    }
  }

  /** Waits until the notifier has delivered (or given up on) every report it was given. */
  async function reportsSettled(): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const counts = await notifyQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Object.values(counts).every((n) => n === 0)) return;
      if (Date.now() > deadline) throw new Error(`notify queue not idle: ${JSON.stringify(counts)}`);
      await sleep(100);
    }
  }

  beforeAll(async () => {
    certs = makeDemoCertificates(NAME);
    [fleet, callback, slack, smtp] = await Promise.all([
      startFleet({ count: 1 }),
      startReceiver(),
      startReceiver(),
      startSmtp(),
    ]);
    stack = await startStack({
      environments: fleetEnvironments(fleet, { [ENV]: 1 }),
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
      // the install and the watch run in worker processes of their own
      worker: false,
      clock: () => new Date(clockMs),
      env: {
        FLEET_NOTIFY_WEBHOOK_SECRET: SECRET,
        FLEET_NOTIFY_SLACK_URL: slack.url,
        FLEET_SMTP_URL: smtp.url,
        FLEET_NOTIFY_EMAIL_FROM: 'certfleet@support.example',
      },
    });
    redis = createRedis(stack.config.redisUrl);
    const queueOptions = { connection: redis, prefix: keyPrefix(stack.config.prefix) };
    watchQueue = new Queue(QueueName.ExpiryWatch, queueOptions);
    notifyQueue = new Queue(QueueName.Notify, queueOptions);
    workers = await startWorkers();

    const submitted = await stack.request('alice', 'POST', '/v1/jobs', {
      ticket: 'CASE-EXPIRY-1',
      name: NAME,
      environments: [ENV],
      pfx: certs.pfx.toString('base64'),
      password: certs.password,
      caCertificates: [certs.caPem],
      notify: { webhookUrl: callback.url, email: [REQUESTER] },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    jobId = submitted.body.id as string;
    expect((await stack.request('bob', 'POST', `/v1/jobs/${jobId}/approve`)).status).toBe(202);
    const job = await stack.waitForJob(jobId);
    expect(job.status).toBe('completed');
    notAfter = job.certificate.notAfter as string;
    await reportsSettled();
  });

  afterAll(async () => {
    await killAllServices();
    await Promise.allSettled([watchQueue?.close(), notifyQueue?.close()]);
    redis?.disconnect();
    await stack?.stop();
    await Promise.all([callback?.close(), slack?.close(), smtp?.close(), fleet?.stop()]);
  });

  it('sends a certificate 10 days from expiry exactly the 14-day report, once, through two workers and their restart', async () => {
    clockMs = Date.parse(notAfter) - 10 * DAY_MS + HOUR_MS;
    // two runs at once: each worker process takes one, and both see the certificate
    const runs = await Promise.all([check(), check()]);
    const results = await Promise.all(runs.map(finished));
    expect(results.map((r) => r.checked)).toEqual([1, 1]);
    expect(results.flatMap((r) => r.warned)).toEqual([
      { environment: ENV, name: NAME, daysLeft: 10, threshold: 14 },
    ]);
    await reportsSettled();
    expect(expiring(callback.received)).toHaveLength(1);
    expect(slackExpiring(slack.received)).toHaveLength(1);
    expect(mailExpiring(smtp.mails)).toHaveLength(1);

    await stopWorkers();
    workers = await startWorkers();
    const again = await finished(await check());
    expect(again).toMatchObject({ checked: 1, warned: [] });
    await reportsSettled();
    expect(expiring(callback.received)).toHaveLength(1);
    expect(slackExpiring(slack.received)).toHaveLength(1);
    expect(mailExpiring(smtp.mails)).toHaveLength(1);
  });

  it('signs the report like every report and says where the certificate is and for which ticket', () => {
    const [report] = expiring(callback.received);
    expect(
      verifySignature([SECRET], report!.headers['x-certfleet-signature'] as string, report!.body).ok,
    ).toBe(true);
    expect(
      verifySignature(['another-secret'], report!.headers['x-certfleet-signature'] as string, report!.body)
        .ok,
    ).toBe(false);
    expect(JSON.parse(report!.body)).toEqual({
      event: 'certificate.expiring',
      environment: ENV,
      name: NAME,
      notAfter,
      daysLeft: 10,
      threshold: 14,
      path: `${fleet.installDir}/${NAME}.pfx`,
      ticket: 'CASE-EXPIRY-1',
    });
    expect(report!.headers['idempotency-key']).toMatch(
      new RegExp(`^${jobId}:expiry:${ENV}:14:[0-9a-f]{64}$`),
    );
  });

  it('tells Slack and the requester by e-mail what the customer must do', () => {
    const [message] = slackExpiring(slack.received);
    const posted = JSON.stringify(JSON.parse(message!.body));
    expect(posted).toContain('expires in 10 days');
    expect(posted).toContain(`${fleet.installDir}/${NAME}.pfx`);
    expect(posted).toContain('renewed PFX');
    expect(posted).toContain('\\"replace\\": true');
    const [mail] = mailExpiring(smtp.mails);
    expect(mail!.to).toEqual([REQUESTER]);
    // quoted-printable may fold long lines: compare without soft breaks
    const raw = mail!.raw.replace(/=\r?\n/g, '');
    expect(raw).toContain('CASE-EXPIRY-1');
    expect(raw).toContain(`${fleet.installDir}/${NAME}.pfx`);
    expect(raw).toMatch(/renewed PFX and submit it under the same name/);
    expect(raw).not.toContain(certs.password);
  });

  it('sends the 7-day report once when the clock moves to 6 days left', async () => {
    clockMs = Date.parse(notAfter) - 6 * DAY_MS + HOUR_MS;
    const first = await finished(await check());
    const second = await finished(await check());
    expect(first.warned).toEqual([{ environment: ENV, name: NAME, daysLeft: 6, threshold: 7 }]);
    expect(second.warned).toEqual([]);
    await reportsSettled();
    const reports = expiring(callback.received).map(
      (r) => JSON.parse(r.body) as { threshold: number; daysLeft: number },
    );
    expect(reports.map((r) => [r.threshold, r.daysLeft])).toEqual([
      [14, 10],
      [7, 6],
    ]);
    expect(slackExpiring(slack.received)).toHaveLength(2);
    expect(mailExpiring(smtp.mails)).toHaveLength(2);
  });

  it('keeps one daily schedule at FLEET_EXPIRY_CHECK_AT (06:00 UTC) however many workers started', async () => {
    expect(generation).toBe(2);
    const schedulers = await watchQueue.getJobSchedulers();
    expect(schedulers.map((j) => [j.key, j.name, j.pattern, j.tz])).toEqual([
      ['expiry-watch-daily', 'expiry-watch', '0 6 * * *', 'UTC'],
    ]);
    expect(new Date(schedulers[0]!.next!).toISOString()).toMatch(/T06:00:00\.000Z$/);
  });

  it('lets only an admin run the watch, and audits who did', async () => {
    expect((await stack.request(null, 'POST', '/v1/expiry/check')).status).toBe(401);
    const operator = await stack.request('ticket-bot', 'POST', '/v1/expiry/check');
    expect(operator.status).toBe(403);
    expect(operator.body.error).toBe('forbidden');
    expect((await stack.request('bob', 'POST', '/v1/expiry/check')).status).toBe(403);
    const id = await check();
    await finished(id);
    const audit = await stack.request('bob', 'GET', '/v1/audit?limit=500');
    expect(audit.status).toBe(200);
    const entries = (audit.body.items as { actor: string; action: string; detail: { id?: string } }[]).filter(
      (e) => e.action === 'expiry.check',
    );
    expect(entries.map((e) => e.actor)).toEqual(entries.map(() => 'carol'));
    expect(entries.map((e) => e.detail.id)).toContain(id);
  });

  it('describes POST /v1/expiry/check in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${stack.url}/docs/json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    const route = doc.paths['/v1/expiry/check']?.['post'];
    expect(route).toBeDefined();
    expect(Object.keys(route!.responses)).toEqual(expect.arrayContaining(['202', '401', '403', '429']));
  });

  it('shows the seconds to notAfter of every certificate in /metrics, on the same clock', async () => {
    clockMs = Date.parse(notAfter) - 5 * DAY_MS;
    const text = await (await fetch(`${stack.url}/metrics`)).text();
    expect(text).toContain(`# TYPE ${METRIC_NAMES.certificateExpiry} gauge`);
    expect(text).toContain(
      `${METRIC_NAMES.certificateExpiry}{environment="${ENV}",name="${NAME}"} ${5 * 86_400}`,
    );
  });

  it('ships Prometheus alert rules that promtool accepts, whose expressions read only metrics certfleet shows', async () => {
    const rulesPath = path.join(REPO_ROOT, 'deploy/prometheus/certfleet-alerts.yml');
    const promtool = spawnSync('promtool', ['check', 'rules', rulesPath], { encoding: 'utf8' });
    expect(promtool.error, 'promtool (Debian: apt-get install prometheus) must be installed').toBeUndefined();
    expect(promtool.status, promtool.stdout + promtool.stderr).toBe(0);
    expect(promtool.stdout).toContain('SUCCESS: 6 rules found');
    const file = await readFile(rulesPath, 'utf8');
    const rules = (
      parse(file) as { groups: { rules: { alert: string; expr: string; labels: { severity: string } }[] }[] }
    ).groups.flatMap((g) => g.rules);
    const exposed = new Set(
      [...(await (await fetch(`${stack.url}/metrics`)).text()).matchAll(/^# TYPE (\S+) /gm)].map(
        (m) => m[1]!,
      ),
    );
    for (const rule of rules) {
      const names = metricsOf(rule.expr);
      expect(names.length, rule.alert).toBeGreaterThan(0);
      for (const name of names) expect(exposed, `${rule.alert} reads ${name}`).toContain(name);
    }
    const expiry = rules.filter((r) => r.expr.includes(METRIC_NAMES.certificateExpiry));
    expect(expiry.map((r) => [r.labels.severity, r.expr.match(/< (\d+) \* 86400/)?.[1]])).toEqual([
      ['warning', '14'],
      ['critical', '3'],
    ]);
  });
});
