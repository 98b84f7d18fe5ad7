/**
 * Maintenance windows against real parts: two real sshd front-ends, real Redis and
 * BullMQ, the whole stack in-process. The clock of the scheduler (the API's approval
 * and the worker's wake-ups) is injected: the test puts "now" outside the window, then
 * moves it inside; what lands on each host is read from that host's own disk.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createRedis, JobName, type RedisClient } from '@certfleet/jobs';
import { keyPrefix } from '@certfleet/store';
import {
  fleetEnvironments,
  startFleet,
  startStack,
  until,
  type Fleet,
  type Stack,
} from '@certfleet/test-kit';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const ENV = 'mw-prd';
/** Saturday and Sunday, 02:00–05:00 in Lisbon (UTC+0 in March). */
const WINDOW = { days: ['sat', 'sun'], from: '02:00', to: '05:00', tz: 'Europe/Lisbon' };
/** A Wednesday noon: outside; the window opens on Saturday 2025-03-08 at 02:00 UTC. */
const OUTSIDE = Date.parse('2025-03-05T12:00:00Z');
const OPENS = '2025-03-08T02:00:00.000Z';
const INSIDE = Date.parse('2025-03-08T02:30:00Z');

describe('maintenance windows: an approved job waits for its window', () => {
  let fleet: Fleet;
  let stack: Stack;
  let certs: DemoCertificates;
  let redis: RedisClient;
  let wakeUps: Queue;
  let clockMs = OUTSIDE;

  const onHosts = (name: string): boolean[] =>
    fleet.hosts.map((h) => existsSync(path.join(h.dir, `${name}.pfx`)));

  /** Submits `name` for the environment as alice (with `extra` body fields); answers the job's id. */
  async function submit(name: string, extra: Record<string, unknown> = {}): Promise<string> {
    const submitted = await stack.request('alice', 'POST', '/v1/jobs', {
      ticket: `MW-${name}`,
      name,
      environments: [ENV],
      pfx: certs.pfx.toString('base64'),
      password: certs.password,
      caCertificates: [certs.caPem],
      ...extra,
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    return submitted.body.id as string;
  }

  /** Submits `name` as alice and approves it as bob; answers the approval. */
  async function approved(name: string): Promise<{ status: number; body: Json }> {
    return stack.request('bob', 'POST', `/v1/jobs/${await submit(name)}/approve`);
  }

  /** The wake-ups the workers have run for a job (every one looked at its window). */
  async function checksDone(jobId: string): Promise<number> {
    const done = await wakeUps.getJobs(['completed']);
    return done.filter((j) => (j.data as { jobId: string }).jobId === jobId).length;
  }

  /**
   * `who` sends job `id` on to its second round (`retry`, `continue`) outside the window: it
   * waits `scheduled` until the window opens, and a wake-up of that round has looked already.
   */
  async function secondRoundWaits(who: string, id: string, step: 'retry' | 'continue'): Promise<void> {
    const res = await stack.request(who, 'POST', `/v1/jobs/${id}/${step}`);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ status: 'scheduled', startsAt: OPENS, round: 2 });
    await until(`a wake-up of the ${step}`, async () => {
      const done = await wakeUps.getJobs(['completed']);
      return done.some(
        (j) => (j.data as { jobId: string; round: number }).jobId === id && j.data.round === 2,
      );
    });
  }

  const auditOf = async (jobId: string): Promise<Json[]> =>
    (await stack.request('bob', 'GET', `/v1/audit?job=${jobId}`)).body.items;

  beforeAll(async () => {
    fleet = await startFleet({ count: 2 });
    certs = makeDemoCertificates('mw-client');
    const [env] = fleetEnvironments(fleet, { [ENV]: 2 });
    stack = await startStack({
      environments: [{ ...env!, maintenanceWindows: [WINDOW] }],
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
      env: { FLEET_WINDOW_RECHECK: '200ms' },
      clock: () => new Date(clockMs),
    });
    redis = createRedis(stack.config.redisUrl);
    wakeUps = new Queue(JobName.WindowStart, { connection: redis, prefix: keyPrefix(stack.config.prefix) });
  }, 120_000);

  afterAll(async () => {
    await wakeUps?.close();
    await stack?.stop();
    redis?.disconnect();
    await fleet?.stop();
  });

  it('outside its window an approved job is scheduled with its start time and touches no host; inside, it installs', async () => {
    clockMs = OUTSIDE;
    const res = await approved('mw-window');
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ status: 'scheduled', startsAt: OPENS, approvedBy: 'bob' });
    const id = res.body.id as string;
    // several wake-ups looked at the window and found it closed
    await until('three wake-ups', async () => (await checksDone(id)) >= 3);
    const waiting = await stack.request('alice', 'GET', `/v1/jobs/${id}`);
    expect(waiting.body).toMatchObject({ status: 'scheduled', startsAt: OPENS });
    expect(waiting.body.targets.map((t: Json) => t.status)).toEqual(['pending', 'pending']);
    expect(onHosts('mw-window')).toEqual([false, false]);

    clockMs = INSIDE;
    const final = await stack.waitForJob(id);
    expect(final.status, JSON.stringify(final.targets)).toBe('completed');
    for (const h of fleet.hosts) {
      expect(await readFile(path.join(h.dir, 'mw-window.pfx'))).toEqual(certs.pfx);
    }
    const actions = (await auditOf(id)).map((e: Json) => `${e.action} ${e.actor}`);
    expect(actions).toEqual(expect.arrayContaining(['approve bob', 'window_start system']));
  });

  it('a retry outside the window waits scheduled and touches no host; it installs when the window opens', async () => {
    clockMs = INSIDE;
    await fleet.hosts[1]!.stop();
    const res = await approved('mw-retry');
    expect(res.body.status).toMatch(/^(queued|running)$/);
    const id = res.body.id as string;
    const ended = await stack.waitForJob(id);
    expect(ended.status).toBe('partially_failed');
    await fleet.hosts[1]!.start();

    clockMs = OUTSIDE;
    await secondRoundWaits('alice', id, 'retry');
    expect(onHosts('mw-retry')).toEqual([true, false]);
    const retry = (await auditOf(id)).find((e: Json) => e.action === 'retry');
    expect(retry).toMatchObject({ actor: 'alice', detail: { round: 2, scheduled: OPENS } });

    clockMs = INSIDE;
    const final = await stack.waitForJob(id);
    expect(final.status, JSON.stringify(final.targets)).toBe('completed');
    expect(final.round).toBe(2);
    expect(onHosts('mw-retry')).toEqual([true, true]);
  });

  it('a canary continued outside the window waits scheduled; the other front-end installs when it opens', async () => {
    clockMs = INSIDE;
    const id = await submit('mw-canary', { rollout: 'canary' });
    expect((await stack.request('bob', 'POST', `/v1/jobs/${id}/approve`)).status).toBe(202);
    await until('the canary round', async () => {
      const job = (await stack.request('alice', 'GET', `/v1/jobs/${id}`)).body;
      return job.status === 'canary' && job;
    });
    expect(onHosts('mw-canary')).toEqual([true, false]);

    clockMs = OUTSIDE;
    await secondRoundWaits('bob', id, 'continue');
    expect(onHosts('mw-canary')).toEqual([true, false]);

    clockMs = INSIDE;
    const final = await stack.waitForJob(id);
    expect(final.status, JSON.stringify(final.targets)).toBe('completed');
    expect(onHosts('mw-canary')).toEqual([true, true]);
  });

  it('an admin starts a scheduled job at once with a reason, audited; others get 403, a missing reason 400', async () => {
    clockMs = OUTSIDE;
    const res = await approved('mw-now');
    expect(res.body.status).toBe('scheduled');
    const id = res.body.id as string;
    const route = `/v1/jobs/${id}/start-now`;
    const reason = 'customer outage: CASE-9 needs it before the weekend';

    expect((await stack.request('alice', 'POST', route, { reason })).status).toBe(403);
    expect((await stack.request('bob', 'POST', route, { reason })).status).toBe(403);
    const noReason = await stack.request('carol', 'POST', route, {});
    expect(noReason.status).toBe(400);
    expect(noReason.body.error).toBe('invalid_request');
    expect((await stack.request('alice', 'GET', `/v1/jobs/${id}`)).body.status).toBe('scheduled');

    const started = await stack.request('carol', 'POST', route, { reason });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.status).toMatch(/^(queued|running|completed)$/);
    const final = await stack.waitForJob(id);
    expect(final.status, JSON.stringify(final.targets)).toBe('completed');
    expect(onHosts('mw-now')).toEqual([true, true]);
    const entry = (await auditOf(id)).find((e: Json) => e.action === 'start_now');
    expect(entry).toMatchObject({ actor: 'carol', detail: { reason, startsAt: OPENS } });
    // the wake-ups that were due find it started: nothing installs twice
    expect(final.round).toBe(1);
    expect(final.targets.map((t: Json) => t.attempts)).toEqual([1, 1]);
  });

  it('start-now answers 409 for a job that is not scheduled and 404 for an unknown one', async () => {
    const pending = await stack.request('alice', 'POST', '/v1/jobs', {
      ticket: 'MW-pending',
      name: 'mw-pending',
      environments: [ENV],
      pfx: certs.pfx.toString('base64'),
      password: certs.password,
      caCertificates: [certs.caPem],
    });
    const reason = 'why not';
    const conflict = await stack.request('carol', 'POST', `/v1/jobs/${pending.body.id}/start-now`, {
      reason,
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ error: 'conflict' });
    expect(conflict.body.message).toMatch(/pending_approval; only a scheduled job can be started now/);
    const unknown = await stack.request('carol', 'POST', '/v1/jobs/0000000000-unknown/start-now', { reason });
    expect(unknown.status).toBe(404);
  });
});
