/**
 * Security suite (issue 4, "Done when"): everything goes through the HTTP API
 * of a whole certfleet in this process, against the real Redis and real sshd
 * front-ends. Covers authentication and roles on every route, four eyes,
 * inventory reloads, signed ticket webhooks, hostile input, strict schemas,
 * the rate limit, and a byte-level scan of Redis and of the logs for any trace
 * of the password, the PFX or the private key after a job ran.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '@certfleet/api';
import { createRedis, SIGNATURE_HEADER, signBody } from '@certfleet/jobs';
import { FleetKeys } from '@certfleet/store';
import type { Redis } from 'ioredis';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  startReceiver,
  startStack,
  type HarnessEnvironment,
  type Receiver,
  type Stack,
  startFleet,
  type Fleet,
} from '@certfleet/test-kit';
import { captureLogs, type LogCapture } from './support/log-capture.js';
import { dumpRedis, needlesOf, passwordNeedles, scan, type Needle } from './support/secret-scan.js';

const OLD_SECRET = `whsec-old-${randomBytes(8).toString('hex')}`;
const NEW_SECRET = `whsec-new-${randomBytes(8).toString('hex')}`;
const rand = (): string => randomBytes(5).toString('hex');

// ---------------------------------------------------------------------------------------
// HTTP helpers

interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** A request with exactly these headers and this raw body. */
async function raw(
  stack: Stack,
  method: string,
  route: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<RawResponse> {
  const res = await fetch(`${stack.url}${route}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** POSTs a raw webhook body with the given signature header (none when undefined). */
function postWebhook(
  stack: Stack,
  body: string,
  signature: string | undefined,
  extra: Record<string, string> = {},
): Promise<RawResponse> {
  return raw(
    stack,
    'POST',
    '/v1/webhooks/ticket',
    {
      'content-type': 'application/json',
      ...(signature === undefined ? {} : { [SIGNATURE_HEADER]: signature }),
      ...extra,
    },
    body,
  );
}

function signed(stack: Stack, body: unknown, secret = NEW_SECRET): Promise<RawResponse> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return postWebhook(stack, text, signBody(secret, text));
}

async function jobsForTicket(stack: Stack, ticket: string): Promise<{ id: string; status: string }[]> {
  const res = await stack.request('alice', 'GET', `/v1/jobs?ticket=${encodeURIComponent(ticket)}&limit=200`);
  expect(res.status).toBe(200);
  return res.body.items;
}

async function audit(
  stack: Stack,
  jobId: string,
): Promise<{ actor: string; action: string; at: string; jobId?: string; detail: Record<string, unknown> }[]> {
  const res = await stack.request('bob', 'GET', `/v1/audit?job=${jobId}`);
  expect(res.status).toBe(200);
  return res.body.items;
}

// ---------------------------------------------------------------------------------------
// Redis and disk helpers

async function keyExists(redis: Redis, key: string): Promise<boolean> {
  return (await redis.exists(key)) === 1;
}

/** Every key of this run's prefix whose name says it belongs to a job, ticket or delivery. */
async function recordKeys(redis: Redis, prefix: string): Promise<string[]> {
  const keys = await redis.keys(new FleetKeys(prefix).all);
  return keys.filter((k) => /:(job|jobs|ticket|webhook|secret|env):?/.test(k)).sort();
}

/** Name, size, mode and mtime of everything under each host's install directory. */
async function snapshotDisks(fleet: Fleet): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const s = await stat(full);
      out.push(`${rel}/${entry.name} ${s.size} ${(s.mode & 0o7777).toString(8)} ${s.mtimeMs}`);
      if (entry.isDirectory()) await walk(full, `${rel}/${entry.name}`);
    }
  };
  for (const host of fleet.hosts) await walk(host.dir, host.name);
  return out.sort();
}

function privateKeyDer(pfx: Buffer, password: string): { pkcs8: Buffer; pkcs1: Buffer; pem: string } {
  const p12 = forge.pkcs12.pkcs12FromAsn1(
    forge.asn1.fromDer(forge.util.createBuffer(pfx.toString('binary'))),
    password,
  );
  const oid = forge.pki.oids['pkcs8ShroudedKeyBag']!;
  const bag = p12.getBags({ bagType: oid })[oid]?.[0];
  if (!bag?.key) throw new Error('no private key in the PFX');
  const pkcs1Asn1 = forge.pki.privateKeyToAsn1(bag.key);
  const pkcs8Asn1 = forge.pki.wrapRsaPrivateKey(pkcs1Asn1);
  const der = (a: forge.asn1.Asn1): Buffer => Buffer.from(forge.asn1.toDer(a).getBytes(), 'binary');
  return { pkcs1: der(pkcs1Asn1), pkcs8: der(pkcs8Asn1), pem: forge.pki.privateKeyInfoToPem(pkcs8Asn1) };
}

/**
 * A TripleDES PFX and its root CA with short names, so that no 16-byte slice of the
 * PFX is public text that a job record legitimately shows (subject, issuer).
 */
function makeSecretCertificates(password: string): { pfx: Buffer; caPem: string } {
  return makeDemoCertificates('sx-leaf', { rootCn: 'sx-root', password });
}

// ---------------------------------------------------------------------------------------

describe('security: every way in is authenticated, approved by another and audited; secrets stay sealed', () => {
  let fleet: Fleet;
  let stack: Stack;
  let logs: LogCapture;
  let redis: Redis;
  let certs: DemoCertificates;
  let envs: HarnessEnvironment[];
  let prefix: string;

  beforeAll(async () => {
    certs = makeDemoCertificates('sec-client');
    fleet = await startFleet({ count: 3 });
    const host = (i: number, name: string): HarnessEnvironment['hosts'][number] => ({
      name,
      address: fleet.hosts[i]!.address,
      port: fleet.hosts[i]!.port,
      hostKeyLine: fleet.hosts[i]!.hostKeyLine,
    });
    envs = [
      {
        name: 'sec-prd',
        platform: 'linux',
        installDir: fleet.installDir,
        hosts: [host(0, 'fe-1'), host(1, 'fe-2')],
      },
      { name: 'sec-qa', platform: 'linux', installDir: fleet.installDir, hosts: [host(2, 'fe-1')] },
    ];
    logs = captureLogs('debug');
    stack = await startStack({
      environments: envs,
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
      logger: logs.logger,
      env: {
        LOG_LEVEL: 'debug',
        FLEET_WEBHOOK_SECRET: `${OLD_SECRET},${NEW_SECRET}`,
        FLEET_WEBHOOK_AUTO_APPROVE: 'true',
        FLEET_RATE_LIMIT: '1000',
      },
    });
    prefix = stack.config.prefix;
    // The byte-level scans read one server (this suite runs on a plain REDIS_URL).
    redis = createRedis(stack.config.redisUrl) as Redis;
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
    await fleet?.stop();
  });

  const submitBody = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    ticket: `SEC-${rand()}`,
    name: `sec-${rand()}`,
    environments: ['sec-qa'],
    pfx: certs.pfx.toString('base64'),
    password: certs.password,
    caCertificates: [certs.caPem],
    ...overrides,
  });

  const webhookBody = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    ...submitBody(),
    deliveryId: `dlv-${rand()}`,
    ...overrides,
  });

  async function submit(principal: string, overrides: Record<string, unknown> = {}): Promise<string> {
    const res = await stack.request(principal, 'POST', '/v1/jobs', submitBody(overrides));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.status).toBe('pending_approval');
    return res.body.id;
  }

  // -------------------------------------------------------------------------------------
  describe('authentication and roles on every route', () => {
    let pendingId: string;
    let pendingTicket: string;

    beforeAll(async () => {
      pendingTicket = `AUTH-${rand()}`;
      pendingId = await submit('alice', { ticket: pendingTicket, name: 'auth-target' });
    });

    /**
     * Every bearer-token route (API.md). `wrongRole`: principals holding a valid token but
     * not the role. The GET routes are open to every role and auth.yaml gives each principal
     * at least one, so no principal can lack the role there. The signed webhook route has
     * its own section below; /healthz and /readyz are public.
     */
    const ROUTES: {
      method: 'GET' | 'POST';
      route: (id: string) => string;
      roles: string;
      wrongRole: string[];
      /** A body that would be accepted. */
      body?: () => Record<string, unknown>;
    }[] = [
      {
        method: 'POST',
        route: () => '/v1/jobs',
        roles: 'operator',
        wrongRole: ['bob'],
        body: () => submitBody(),
      },
      { method: 'GET', route: () => '/v1/jobs', roles: 'operator | approver', wrongRole: [] },
      { method: 'GET', route: (id) => `/v1/jobs/${id}`, roles: 'operator | approver', wrongRole: [] },
      {
        method: 'POST',
        route: (id) => `/v1/jobs/${id}/approve`,
        roles: 'approver',
        wrongRole: ['ticket-bot'],
      },
      {
        method: 'POST',
        route: (id) => `/v1/jobs/${id}/reject`,
        roles: 'approver',
        wrongRole: ['ticket-bot'],
        body: () => ({ reason: 'not wanted' }),
      },
      { method: 'POST', route: (id) => `/v1/jobs/${id}/retry`, roles: 'operator', wrongRole: ['bob'] },
      // canary rollout
      {
        method: 'POST',
        route: (id) => `/v1/jobs/${id}/continue`,
        roles: 'approver',
        wrongRole: ['ticket-bot'],
      },
      { method: 'GET', route: (id) => `/v1/audit?job=${id}`, roles: 'approver', wrongRole: ['ticket-bot'] },
      {
        method: 'POST',
        route: () => '/v1/inventory/reload',
        roles: 'admin',
        wrongRole: ['alice', 'bob', 'ticket-bot'],
      },
      { method: 'GET', route: () => '/v1/environments', roles: 'operator | approver', wrongRole: [] },
    ];

    const json = (body: unknown): Record<string, string> =>
      body === undefined ? {} : { 'content-type': 'application/json' };

    it('answers 401 unauthorized without a token on every route', async () => {
      for (const r of ROUTES) {
        const body = r.body ? JSON.stringify(r.body()) : undefined;
        const res = await raw(stack, r.method, r.route(pendingId), json(body), body);
        expect(res.status, `${r.method} ${r.route(':id')}`).toBe(401);
        expect(res.body.error).toBe('unauthorized');
      }
    });

    it('answers 401 unauthorized with a bad token on every route', async () => {
      const alice = stack.tokens['alice']!;
      const badHeaders = [
        `Bearer cf_${randomBytes(18).toString('base64url')}`,
        `Bearer ${alice}x`,
        `Bearer ${alice.slice(0, -1)}`,
        // the hash from auth.yaml is not a token
        `Bearer ${sha256Hex(alice)}`,
        `Basic ${Buffer.from(`alice:${alice}`).toString('base64')}`,
        alice,
        'Bearer ',
        `Bearer ${alice} ${alice}`,
      ];
      for (const r of ROUTES) {
        for (const authorization of badHeaders) {
          const body = r.body ? JSON.stringify(r.body()) : undefined;
          const res = await raw(stack, r.method, r.route(pendingId), { authorization, ...json(body) }, body);
          expect(res.status, `${r.method} ${r.route(':id')} with ${authorization.slice(0, 12)}…`).toBe(401);
          expect(res.body.error).toBe('unauthorized');
        }
      }
    });

    it('answers 403 forbidden with a valid token but the wrong role', async () => {
      const checked: string[] = [];
      for (const r of ROUTES) {
        for (const principal of r.wrongRole) {
          const res = await stack.request(principal, r.method, r.route(pendingId), r.body?.());
          expect(res.status, `${principal} ${r.method} ${r.route(':id')} (needs ${r.roles})`).toBe(403);
          expect(res.body.error).toBe('forbidden');
          checked.push(`${principal} ${r.method} ${r.route(':id')}`);
        }
      }
      // every route that some principal may not call was exercised
      expect(checked.length).toBeGreaterThanOrEqual(8);
      // ... and the right role passes authentication (GETs answer 200)
      for (const r of ROUTES.filter((x) => x.method === 'GET')) {
        for (const principal of ['alice', 'bob', 'carol', 'ticket-bot'].filter(
          (p) => !r.wrongRole.includes(p),
        )) {
          const res = await stack.request(principal, 'GET', r.route(pendingId));
          expect(res.status, `${principal} GET ${r.route(':id')}`).toBe(200);
        }
      }
    });

    it('checks authentication and role before the body: an invalid body gets 401 or 403, not 400', async () => {
      const invalidBodies = ['{"bogus": true, "ticket": "$(id)"}', '{ not json', '[]'];
      for (const r of ROUTES.filter((x) => x.method === 'POST')) {
        for (const body of invalidBodies) {
          const headers = { 'content-type': 'application/json' };
          const anon = await raw(stack, 'POST', r.route(pendingId), headers, body);
          expect(anon.status, `anonymous POST ${r.route(':id')} ${body}`).toBe(401);
          expect(anon.body.error).toBe('unauthorized');
          for (const principal of r.wrongRole) {
            const res = await raw(
              stack,
              'POST',
              r.route(pendingId),
              { ...headers, authorization: `Bearer ${stack.tokens[principal]}` },
              body,
            );
            expect(res.status, `${principal} POST ${r.route(':id')} ${body}`).toBe(403);
            expect(res.body.error).toBe('forbidden');
          }
        }
        // an invalid path parameter is also answered 401, then 403, first
        if (r.route('X') !== r.route('Y')) {
          const bad = r.route('..%2F..%2Fx');
          expect((await raw(stack, 'POST', bad)).status, `anonymous POST ${bad}`).toBe(401);
          for (const principal of r.wrongRole) {
            const res = await raw(stack, 'POST', bad, { authorization: `Bearer ${stack.tokens[principal]}` });
            expect(res.status, `${principal} POST ${bad}`).toBe(403);
          }
          const right = await stack.request('carol', 'POST', bad, { reason: 'x' });
          expect(right.status, `carol POST ${bad}`).toBe(400);
        }
      }
      // and with the right role the same malformed body is a 400, which shows the order
      const ok = await raw(
        stack,
        'POST',
        '/v1/jobs',
        { 'content-type': 'application/json', authorization: `Bearer ${stack.tokens['alice']}` },
        '{"bogus": true}',
      );
      expect(ok.status).toBe(400);
      expect(ok.body.error).toBe('invalid_request');
    });

    it('changed nothing: the job is still pending, nothing was created, only its submit is audited', async () => {
      const job = await stack.request('alice', 'GET', `/v1/jobs/${pendingId}`);
      expect(job.body).toMatchObject({ status: 'pending_approval', approvedBy: null, rejectedBy: null });
      expect((await jobsForTicket(stack, pendingTicket)).map((j) => j.id)).toEqual([pendingId]);
      expect((await audit(stack, pendingId)).map((e) => e.action)).toEqual(['submit']);
    });

    it('keeps /healthz and /readyz public', async () => {
      expect((await raw(stack, 'GET', '/healthz')).status).toBe(200);
      expect((await raw(stack, 'GET', '/readyz')).status).toBe(200);
    });
  });

  // -------------------------------------------------------------------------------------
  describe('four eyes', () => {
    it('refuses self-approval with 409 self_approval', async () => {
      const id = await submit('alice');
      const res = await stack.request('alice', 'POST', `/v1/jobs/${id}/approve`);
      expect(res.status).toBe(409);
      expect(res.body.error).toBe('self_approval');
      expect((await stack.request('alice', 'GET', `/v1/jobs/${id}`)).body.status).toBe('pending_approval');
    });

    it('refuses self-approval through the admin role too (carol submits, carol approves)', async () => {
      const id = await submit('carol');
      const res = await stack.request('carol', 'POST', `/v1/jobs/${id}/approve`);
      expect(res.status).toBe(409);
      expect(res.body.error).toBe('self_approval');
      const job = await stack.request('carol', 'GET', `/v1/jobs/${id}`);
      expect(job.body).toMatchObject({ status: 'pending_approval', submittedBy: 'carol', approvedBy: null });
    });

    it('rejects with a reason; a rejected job cannot be rejected or approved again', async () => {
      const id = await submit('alice');
      expect((await stack.request('bob', 'POST', `/v1/jobs/${id}/reject`, {})).status).toBe(400);
      expect((await stack.request('bob', 'POST', `/v1/jobs/${id}/reject`, { reason: '' })).status).toBe(400);
      expect((await stack.request('bob', 'POST', `/v1/jobs/${id}/reject`)).status).toBe(400);
      const reason = 'the customer sent the wrong certificate';
      const res = await stack.request('bob', 'POST', `/v1/jobs/${id}/reject`, { reason });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'rejected', rejectedBy: 'bob', rejectReason: reason });
      const again = await stack.request('bob', 'POST', `/v1/jobs/${id}/reject`, { reason });
      expect(again.status).toBe(409);
      expect(again.body.error).toBe('conflict');
      const approve = await stack.request('bob', 'POST', `/v1/jobs/${id}/approve`);
      expect(approve.status).toBe(409);
      expect(approve.body.error).toBe('conflict');
      const entry = (await audit(stack, id)).find((e) => e.action === 'reject');
      expect(entry).toMatchObject({ actor: 'bob', detail: { reason } });
    });

    it('lets exactly one of two simultaneous approvals through', async () => {
      const id = await submit('alice');
      const results = await Promise.all(
        ['bob', 'carol'].map((who) => stack.request(who, 'POST', `/v1/jobs/${id}/approve`)),
      );
      expect(results.map((r) => r.status).sort()).toEqual([202, 409]);
      const winner = ['bob', 'carol'][results.findIndex((r) => r.status === 202)];
      expect(results.find((r) => r.status === 409)!.body.error).toBe('conflict');
      const final = await stack.waitForJob(id);
      expect(final).toMatchObject({ status: 'completed', approvedBy: winner });
      expect(final.targets.map((t: { attempts: number }) => t.attempts)).toEqual([1]);
      expect((await audit(stack, id)).filter((e) => e.action === 'approve').map((e) => e.actor)).toEqual([
        winner,
      ]);
    });

    it('answers 409 conflict to a second approval and to approving or rejecting a finished job', async () => {
      const id = await submit('alice');
      const first = await stack.request('bob', 'POST', `/v1/jobs/${id}/approve`);
      expect(first.status).toBe(202);
      expect(first.body).toMatchObject({ status: 'queued', approvedBy: 'bob' });
      for (const approver of ['bob', 'carol']) {
        const twice = await stack.request(approver, 'POST', `/v1/jobs/${id}/approve`);
        expect(twice.status, approver).toBe(409);
        expect(twice.body.error).toBe('conflict');
      }
      const final = await stack.waitForJob(id);
      expect(final.status).toBe('completed');
      expect(final.approvedBy).toBe('bob');
      const reject = await stack.request('bob', 'POST', `/v1/jobs/${id}/reject`, { reason: 'too late' });
      expect(reject.status).toBe(409);
      expect(reject.body.error).toBe('conflict');
      const approve = await stack.request('carol', 'POST', `/v1/jobs/${id}/approve`);
      expect(approve.status).toBe(409);
      expect(approve.body.error).toBe('conflict');
      const retry = await stack.request('alice', 'POST', `/v1/jobs/${id}/retry`);
      expect(retry.status).toBe(409);
      expect(retry.body.error).toBe('conflict');
      expect((await stack.request('bob', 'POST', '/v1/jobs/no-such-job/approve')).status).toBe(404);
    });
  });

  // -------------------------------------------------------------------------------------
  describe('signed ticket webhooks', () => {
    it('answers 401 webhook_signature to forged, wrong-secret, stale, future, missing and malformed signatures', async () => {
      const body = webhookBody();
      const text = JSON.stringify(body);
      const now = Date.now();
      const t = Math.floor(now / 1000);
      const cases: [string, string, string | undefined][] = [
        ['forged signature', text, `t=${t},v1=${randomBytes(32).toString('hex')}`],
        ['wrong secret', text, signBody('not-the-secret', text)],
        ['stale timestamp (301 s)', text, signBody(NEW_SECRET, text, now - 301_000)],
        ['stale timestamp (1 h)', text, signBody(NEW_SECRET, text, now - 3600_000)],
        ['timestamp 301 s ahead', text, signBody(NEW_SECRET, text, now + 301_000)],
        ['missing header', text, undefined],
        ['empty header', text, ''],
        ['no timestamp', text, `v1=${signBody(NEW_SECRET, text).split('v1=')[1]}`],
        ['another scheme', text, signBody(NEW_SECRET, text).replace('v1=', 'v0=')],
        [
          'signed, then the body changed',
          text.replace(body['name'] as string, 'other-name'),
          signBody(NEW_SECRET, text),
        ],
        [
          'signed with the timestamp of another',
          text,
          `t=${t - 1},v1=${signBody(NEW_SECRET, text, now).split('v1=')[1]}`,
        ],
        ['missing header and a body that is not JSON', '{ not json', undefined],
      ];
      for (const [what, sent, signature] of cases) {
        const res = await postWebhook(stack, sent, signature);
        expect(res.status, what).toBe(401);
        expect(res.body.error, what).toBe('webhook_signature');
      }
      // a bearer token is no substitute for the signature
      const bearer = await postWebhook(stack, text, undefined, {
        authorization: `Bearer ${stack.tokens['ticket-bot']}`,
      });
      expect(bearer.status).toBe(401);
      expect(bearer.body.error).toBe('webhook_signature');
      // whatever the content type, the signature answers first
      for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
        const other = await postWebhook(stack, text, undefined, { 'content-type': type });
        expect(other.status, type).toBe(401);
        expect(other.body.error, type).toBe('webhook_signature');
      }
      expect(await jobsForTicket(stack, body['ticket'] as string)).toEqual([]);
      // and the delivery id was not used up: the genuine delivery still makes its job
      const genuine = await postWebhook(stack, text, signBody(NEW_SECRET, text));
      expect(genuine.status).toBe(201);
    });

    it('accepts both secrets during a rotation, and a timestamp within 300 s', async () => {
      for (const [secret, shiftMs] of [
        [OLD_SECRET, 0],
        [NEW_SECRET, 0],
        [NEW_SECRET, -200_000],
      ] as const) {
        const body = webhookBody();
        const text = JSON.stringify(body);
        const res = await postWebhook(stack, text, signBody(secret, text, Date.now() + shiftMs));
        expect(res.status, `${secret === OLD_SECRET ? 'old' : 'new'} secret, ${shiftMs} ms`).toBe(201);
        expect(res.body).toMatchObject({ status: 'pending_approval', ticket: body['ticket'] });
        expect(res.body.submittedBy).toMatch(/^ticket/);
      }
    });

    it('returns the same job for a re-delivery and refuses a replayed deliveryId with another body (409 webhook_replay)', async () => {
      const body = webhookBody({ requestedBy: 'dave' });
      const text = JSON.stringify(body);
      const first = await postWebhook(stack, text, signBody(NEW_SECRET, text));
      expect(first.status).toBe(201);
      // the same bytes again, signed later and with the other accepted secret
      const again = await postWebhook(stack, text, signBody(OLD_SECRET, text, Date.now() + 2000));
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(first.body.id);
      const third = await postWebhook(stack, text, signBody(NEW_SECRET, text));
      expect(third.status).toBe(200);
      expect(third.body.id).toBe(first.body.id);
      expect((await jobsForTicket(stack, body['ticket'] as string)).map((j) => j.id)).toEqual([
        first.body.id,
      ]);

      for (const change of [
        { name: `sec-${rand()}` },
        { approvedBy: 'mallory' },
        { environments: ['sec-prd'] },
      ]) {
        const replay = await signed(stack, { ...body, ...change });
        expect(replay.status, JSON.stringify(change)).toBe(409);
        expect(replay.body.error).toBe('webhook_replay');
      }
      expect((await jobsForTicket(stack, body['ticket'] as string)).map((j) => j.id)).toEqual([
        first.body.id,
      ]);
      const job = await stack.request('alice', 'GET', `/v1/jobs/${first.body.id}`);
      expect(job.body.status).toBe('pending_approval');
      expect(job.body.approvedBy).toBeNull();
    });

    it('makes one job from simultaneous deliveries of the same webhook', async () => {
      const body = webhookBody({ requestedBy: 'dave' });
      const text = JSON.stringify(body);
      const results = await Promise.all(
        [NEW_SECRET, OLD_SECRET, NEW_SECRET, OLD_SECRET].map((secret) =>
          postWebhook(stack, text, signBody(secret, text)),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      // the others answer the job, or ask to send again while it is being made: never a second job
      for (const r of results) expect([200, 201, 409]).toContain(r.status);
      const ids = new Set(results.filter((r) => r.status !== 409).map((r) => r.body.id));
      expect(ids.size).toBe(1);
      expect((await jobsForTicket(stack, body['ticket'] as string)).map((j) => j.id)).toEqual([...ids]);
    });

    describe('with a callback receiver', () => {
      let receiver: Receiver;
      let autoId: string;
      let autoName: string;
      beforeAll(async () => {
        receiver = await startReceiver();
      });
      afterAll(async () => {
        await receiver?.close();
      });

      it('queues at once with FLEET_WEBHOOK_AUTO_APPROVE=true and approvedBy ≠ requestedBy, and installs on the real front-ends', async () => {
        autoName = `hook-auto-${rand()}`;
        const res = await signed(
          stack,
          webhookBody({ name: autoName, requestedBy: 'dave', approvedBy: 'erin', callbackUrl: receiver.url }),
        );
        expect(res.status).toBe(201);
        autoId = res.body.id;
        expect(['queued', 'running', 'completed']).toContain(res.body.status);
        expect(res.body.approvedBy).toMatch(/erin/);
        const final = await stack.waitForJob(autoId);
        expect(final.status).toBe('completed');
        const disk = await readFile(path.join(fleet.hosts[2]!.dir, `${autoName}.pfx`));
        expect(disk.equals(certs.pfx)).toBe(true);
        const actions = (await audit(stack, autoId)).map((e) => `${e.action} ${e.actor}`);
        expect(actions).toEqual(
          expect.arrayContaining([
            expect.stringMatching(/^submit ticket:dave$/),
            expect.stringMatching(/^webhook ticket:dave$/),
            expect.stringMatching(/^approve .*erin$/),
            expect.stringMatching(/^target\.installed /),
          ]),
        );
      });

      it('delivers the completion report to the webhook callbackUrl', async () => {
        const [report] = await receiver.waitFor(1, 8000);
        const parsed = JSON.parse(report!.body);
        expect(parsed).toMatchObject({ event: 'job.finished', job: { id: autoId, status: 'completed' } });
      });
    });

    it('keeps the job pending when approvedBy equals requestedBy', async () => {
      const res = await signed(stack, webhookBody({ requestedBy: 'dave', approvedBy: 'dave' }));
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ status: 'pending_approval', approvedBy: null });
      await new Promise((r) => setTimeout(r, 300));
      const job = await stack.request('alice', 'GET', `/v1/jobs/${res.body.id}`);
      expect(job.body.status).toBe('pending_approval');
    });

    describe('with auto-approve off (the default)', () => {
      let manual: Stack;
      beforeAll(async () => {
        manual = await startStack({
          environments: envs,
          username: fleet.username,
          privateKeyPath: fleet.clientKeyPath,
          env: { FLEET_WEBHOOK_SECRET: NEW_SECRET },
        });
      });
      afterAll(async () => {
        await manual?.stop();
      });

      it('keeps a signed approvedBy job pending approval', async () => {
        const res = await signed(manual, webhookBody({ requestedBy: 'dave', approvedBy: 'erin' }));
        expect(res.status).toBe(201);
        expect(res.body).toMatchObject({ status: 'pending_approval', approvedBy: null });
        await new Promise((r) => setTimeout(r, 300));
        const job = await manual.request('bob', 'GET', `/v1/jobs/${res.body.id}`);
        expect(job.body.status).toBe('pending_approval');
      });
    });
  });

  // -------------------------------------------------------------------------------------
  describe('a stack without a webhook secret and with FLEET_RATE_LIMIT=3', () => {
    let limited: Stack;
    beforeAll(async () => {
      limited = await startStack({
        environments: envs,
        username: fleet.username,
        privateKeyPath: fleet.clientKeyPath,
        env: { FLEET_RATE_LIMIT: '3' },
      });
    });
    afterAll(async () => {
      await limited?.stop();
    });

    it('answers 503 on the webhook route, signed or not', async () => {
      const text = JSON.stringify(webhookBody());
      expect((await postWebhook(limited, text, signBody(NEW_SECRET, text))).status).toBe(503);
      expect((await postWebhook(limited, text, undefined)).status).toBe(503);
      expect(await jobsForTicket(limited, JSON.parse(text).ticket)).toEqual([]);
    });

    it('answers the 4th change in a minute with 429 rate_limited and Retry-After; GETs and other principals go on', async () => {
      const approve = (who: string): Promise<RawResponse> =>
        raw(limited, 'POST', '/v1/jobs/no-such-job/approve', {
          authorization: `Bearer ${limited.tokens[who]}`,
        });
      for (let i = 1; i <= 3; i++) expect((await approve('bob')).status, `request ${i}`).toBe(404);
      const fourth = await approve('bob');
      expect(fourth.status).toBe(429);
      expect(fourth.body.error).toBe('rate_limited');
      const retryAfter = fourth.headers.get('retry-after');
      expect(retryAfter).not.toBeNull();
      expect(Number(retryAfter)).toBeGreaterThan(0);
      expect(Number(retryAfter)).toBeLessThanOrEqual(60);
      // GETs are not limited
      for (let i = 0; i < 6; i++) expect((await limited.request('bob', 'GET', '/v1/jobs')).status).toBe(200);
      // another principal has its own budget
      expect((await approve('alice')).status).toBe(404);
      expect((await approve('carol')).status).toBe(404);
      // and bob is still limited
      expect((await approve('bob')).status).toBe(429);
    });
  });

  // -------------------------------------------------------------------------------------
  describe('hostile input', () => {
    const HOSTILE: [string, string][] = [
      ['path traversal', '../x'],
      ['deep traversal', '../../../../etc/cron.d/x'],
      ['absolute path', '/etc/passwd'],
      ['Windows traversal', '..\\x'],
      ['shell separator', 'a;rm -rf /'],
      ['command substitution', '$(id)'],
      ['backticks', '`id`'],
      ['pipe', 'a|id'],
      ['redirect', 'a>x'],
      ['newline', 'a\nid'],
      ['space', 'a b'],
      ['quote', "a'b"],
      ['accented letter', 'café'],
      ['RTL override', 'a\u202Excf.pfx'],
      ['emoji', 'cert-🔑'],
      ['NUL', 'a\u0000b'],
      ['2 000 characters', 'a'.repeat(2000)],
      ['empty', ''],
    ];
    // the name and environment patterns also refuse what would read as an option or a hidden file
    const NAME_ONLY: [string, string][] = [
      ['leading dash', '-rf'],
      ['leading dot', '.x'],
      ['dot dot', '..'],
    ];

    it('refuses hostile names, tickets and environment names with 400 and creates nothing, touching no host', async () => {
      const disksBefore = await snapshotDisks(fleet);
      const keysBefore = await recordKeys(redis, prefix);
      const jobsBefore = (await stack.request('alice', 'GET', '/v1/jobs?limit=200')).body.items.length;
      const tried: string[] = [];

      const fields: [string, [string, string][], (v: string) => Record<string, unknown>][] = [
        ['name', [...HOSTILE, ...NAME_ONLY], (v) => ({ name: v })],
        ['ticket', HOSTILE, (v) => ({ ticket: v })],
        ['environments', [...HOSTILE, ...NAME_ONLY], (v) => ({ environments: [v] })],
        ['environments (second)', HOSTILE, (v) => ({ environments: ['sec-qa', v] })],
      ];
      for (const [field, values, patch] of fields) {
        for (const [what, value] of values) {
          const res = await stack.request('alice', 'POST', '/v1/jobs', submitBody(patch(value)));
          expect(res.status, `${field}: ${what}`).toBe(400);
          expect(res.body.error, `${field}: ${what}`).toBe('invalid_request');
          tried.push(`${field}: ${what}`);
        }
      }
      // the same through a signed webhook, including its own fields
      const hookFields: [string, [string, string][], (v: string) => Record<string, unknown>][] = [
        ['webhook name', [...HOSTILE, ...NAME_ONLY], (v) => ({ name: v })],
        ['webhook ticket', HOSTILE, (v) => ({ ticket: v })],
        ['webhook environments', HOSTILE, (v) => ({ environments: [v] })],
        ['webhook deliveryId', HOSTILE, (v) => ({ deliveryId: v })],
        ['webhook requestedBy', HOSTILE, (v) => ({ requestedBy: v })],
        ['webhook approvedBy', HOSTILE, (v) => ({ approvedBy: v, requestedBy: 'dave' })],
      ];
      for (const [field, values, patch] of hookFields) {
        for (const [what, value] of values) {
          const res = await signed(stack, webhookBody(patch(value)));
          expect(res.status, `${field}: ${what}`).toBe(400);
          expect(res.body.error, `${field}: ${what}`).toBe('invalid_request');
          tried.push(`${field}: ${what}`);
        }
      }
      // in the query string and the path
      for (const [what, value] of HOSTILE.filter(([, v]) => v !== '')) {
        const list = await stack.request('alice', 'GET', `/v1/jobs?ticket=${encodeURIComponent(value)}`);
        expect(list.status, `?ticket=: ${what}`).toBe(400);
        expect(list.body.error).toBe('invalid_request');
        const auditQuery = await stack.request('bob', 'GET', `/v1/audit?job=${encodeURIComponent(value)}`);
        expect(auditQuery.status, `?job=: ${what}`).toBe(400);
        if (value.length > 100) continue; // the long id has its own test below
        for (const route of [
          `/v1/jobs/${encodeURIComponent(value)}/approve`,
          `/v1/jobs/${encodeURIComponent(value)}/reject`,
        ]) {
          const res = await stack.request('bob', 'POST', route, { reason: 'x' });
          expect(res.status, `${route}: ${what}`).toBe(400);
          expect(res.body.error, `${route}: ${what}`).toBe('invalid_request');
        }
      }
      expect(tried.length).toBeGreaterThan(100);

      expect(await recordKeys(redis, prefix)).toEqual(keysBefore);
      expect((await stack.request('alice', 'GET', '/v1/jobs?limit=200')).body.items.length).toBe(jobsBefore);
      expect(await snapshotDisks(fleet)).toEqual(disksBefore);
      // nothing escaped the install directory on this machine either
      const parent = path.dirname(fleet.installDir);
      for (const escaped of ['x.pfx', 'x', 'passwd.pfx']) {
        expect(existsSync(path.join(parent, escaped)), escaped).toBe(false);
      }
      expect(existsSync('/etc/cron.d/x.pfx')).toBe(false);
    });

    it('treats a 2 000-character job id in the path like any invalid id: 401 without a token, then 400 invalid_request', async () => {
      const long = 'a'.repeat(2000);
      const anonymous = await raw(stack, 'GET', `/v1/jobs/${long}`);
      expect({ status: anonymous.status, error: anonymous.body.error }).toEqual({
        status: 401,
        error: 'unauthorized',
      });
      for (const [method, route] of [
        ['GET', `/v1/jobs/${long}`],
        ['POST', `/v1/jobs/${long}/approve`],
      ] as const) {
        const res = await stack.request('bob', method, route);
        expect({ status: res.status, error: res.body.error }, `${method} ${route.slice(0, 20)}…`).toEqual({
          status: 400,
          error: 'invalid_request',
        });
      }
    });

    it('refuses unknown fields with 400 instead of dropping them, and creates nothing', async () => {
      const keysBefore = await recordKeys(redis, prefix);
      const ticket = `UNK-${rand()}`;
      const cases: [string, () => Promise<{ status: number; body: { error: string; message: string } }>][] = [
        [
          'submit: top level',
          () => stack.request('alice', 'POST', '/v1/jobs', submitBody({ ticket, approvedBy: 'bob' })),
        ],
        [
          'submit: status',
          () => stack.request('alice', 'POST', '/v1/jobs', submitBody({ ticket, status: 'queued' })),
        ],
        [
          'submit: inside notify',
          () =>
            stack.request(
              'alice',
              'POST',
              '/v1/jobs',
              submitBody({ ticket, notify: { webhookUrl: 'http://127.0.0.1:9/x', shell: 'id' } }),
            ),
        ],
        [
          'reject',
          () => stack.request('bob', 'POST', '/v1/jobs/no-such-job/reject', { reason: 'x', force: true }),
        ],
        ['webhook', () => signed(stack, webhookBody({ ticket, submittedBy: 'carol' }))],
      ];
      for (const [what, call] of cases) {
        const res = await call();
        expect(res.status, what).toBe(400);
        expect(res.body.error, what).toBe('invalid_request');
        expect(res.body.message, what).toMatch(/unknown field|additional/i);
      }
      expect(await jobsForTicket(stack, ticket)).toEqual([]);
      expect(await recordKeys(redis, prefix)).toEqual(keysBefore);
    });
  });

  // -------------------------------------------------------------------------------------
  describe('secrets', () => {
    it('deletes a rejected job’s sealed secret at once', async () => {
      const id = await submit('alice');
      const secretKey = new FleetKeys(prefix).secret(id);
      expect(await keyExists(redis, secretKey)).toBe(true);
      const res = await stack.request('bob', 'POST', `/v1/jobs/${id}/reject`, {
        reason: 'duplicate request',
      });
      expect(res.status).toBe(200);
      expect(await keyExists(redis, secretKey)).toBe(false);
    });

    it('the scanner finds every form it looks for, in every Redis type (control)', async () => {
      const password = `ctl-${rand()}`;
      const { pfx } = makeSecretCertificates(password);
      const key = privateKeyDer(pfx, password);
      const needles = [
        ...passwordNeedles(password),
        ...needlesOf('pfx', pfx),
        ...needlesOf('pkcs8', key.pkcs8),
        ...needlesOf('pkcs1', key.pkcs1),
      ];
      const controls: [string, Buffer][] = [
        ['password in a sentence', Buffer.from(`bad password ${password} for x`)],
        ['raw PFX slice', Buffer.concat([randomBytes(7), pfx.subarray(101, 131), randomBytes(5)])],
        ['PFX slice base64', Buffer.from(`{"x":"${pfx.subarray(301, 360).toString('base64')}"}`)],
        ['PFX slice base64url', Buffer.from(pfx.subarray(302, 380).toString('base64url'))],
        ['PFX slice hex', Buffer.from(`0x${pfx.subarray(1003, 1040).toString('hex')}`)],
        ['key slice as a JSON Buffer', Buffer.from(JSON.stringify({ b: key.pkcs8.subarray(211, 260) }))],
        ['key PEM', Buffer.from(key.pem)],
        ['PKCS#1 slice base64', Buffer.from(key.pkcs1.subarray(500, 560).toString('base64'))],
      ];
      for (const [what, bytes] of controls) {
        expect(scan([{ where: what, bytes }], needles).length, what).toBeGreaterThan(0);
      }
      expect(scan([{ where: 'noise', bytes: randomBytes(64 * 1024) }], needles)).toEqual([]);

      // the Redis reader sees into every type: plant one leak per type under a control prefix
      const ctl = `sec-control-${rand()}`;
      const k = (t: string): string => new FleetKeys(ctl).scratch(t);
      const b64 = (o: number): string => pfx.subarray(o, o + 40).toString('base64');
      try {
        await redis.set(k('string'), Buffer.concat([randomBytes(9), key.pkcs8.subarray(77, 120)]));
        await redis.hset(k('hash'), 'data', JSON.stringify({ x: b64(150) }));
        await redis.sadd(k('set'), `m-${password}`);
        await redis.zadd(k('zset'), 1, key.pkcs1.subarray(300, 340).toString('hex'));
        await redis.rpush(k('list'), `q ${b64(700)}`);
        await redis.xadd(k('stream'), '*', 'detail', JSON.stringify({ b: pfx.subarray(900, 940) }));
        const { blobs, types } = await dumpRedis(redis, ctl);
        expect([...types].sort()).toEqual(['hash', 'list', 'set', 'stream', 'string', 'zset']);
        // each type's own read command finds its leak (DUMP alone could hide one in LZF compression)
        const typed = blobs.filter((b) => !b.where.startsWith('DUMP ') && !b.where.startsWith('key name '));
        const found = scan(typed, needles).join('\n');
        for (const type of types)
          expect(found, type).toMatch(new RegExp(` ${type} ${k(type).replace(/[{}]/g, '\\$&')} `));
      } finally {
        await redis.del(...['string', 'hash', 'set', 'zset', 'list', 'stream'].map(k));
      }
    });

    describe('after a job ran to completion on real front-ends', () => {
      const password = `Sx9 ${randomBytes(12).toString('hex')} $(id)'q'`;
      let secret: { pfx: Buffer; caPem: string };
      let receiver: Receiver;
      let jobId: string;
      let needles: Needle[];
      /** Findings of the scans taken while the job was pending and just after approval. */
      const earlyFindings: string[] = [];

      beforeAll(async () => {
        secret = makeSecretCertificates(password);
        const key = privateKeyDer(secret.pfx, password);
        needles = [
          ...passwordNeedles(password),
          ...needlesOf('pfx', secret.pfx),
          ...needlesOf('private key PKCS#8', key.pkcs8),
          ...needlesOf('private key PKCS#1', key.pkcs1),
        ];
        receiver = await startReceiver();
      });
      afterAll(async () => {
        await receiver?.close();
      });

      it('installs it, deletes the sealed secret, and audits submit, approve, target results and notify with actors', async () => {
        const submitted = await stack.request('alice', 'POST', '/v1/jobs', {
          ticket: `SECRET-${rand()}`,
          name: 'secret-scan',
          environments: ['sec-prd', 'sec-qa'],
          pfx: secret.pfx.toString('base64'),
          password,
          caCertificates: [secret.caPem],
          notify: { webhookUrl: receiver.url },
        });
        expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
        jobId = submitted.body.id;
        expect(JSON.stringify(submitted.body)).not.toContain(password);
        const secretKey = new FleetKeys(prefix).secret(jobId);
        expect(await keyExists(redis, secretKey)).toBe(true);
        // the record and the sealed secret while pending, and the BullMQ payloads just after approval
        earlyFindings.push(
          ...scan((await dumpRedis(redis, prefix)).blobs, needles).map((f) => `pending: ${f}`),
        );
        expect((await stack.request('bob', 'POST', `/v1/jobs/${jobId}/approve`)).status).toBe(202);
        earlyFindings.push(
          ...scan((await dumpRedis(redis, prefix)).blobs, needles).map((f) => `queued: ${f}`),
        );
        const final = await stack.waitForJob(jobId);
        expect(final.status, JSON.stringify(final.targets)).toBe('completed');
        for (const host of fleet.hosts) {
          expect((await readFile(path.join(host.dir, 'secret-scan.pfx'))).equals(secret.pfx)).toBe(true);
        }
        expect(await keyExists(redis, secretKey)).toBe(false);

        await receiver.waitFor(1);
        let entries = await audit(stack, jobId);
        for (let i = 0; i < 50 && !entries.some((e) => e.action.startsWith('notify.')); i++) {
          await new Promise((r) => setTimeout(r, 100));
          entries = await audit(stack, jobId);
        }
        for (const e of entries) {
          expect(e.actor, e.action).toMatch(/\S/);
          expect(Number.isNaN(Date.parse(e.at)), e.action).toBe(false);
          expect(e.jobId).toBe(jobId);
        }
        const by = (action: string): string[] =>
          entries.filter((e) => e.action === action).map((e) => e.actor);
        expect(by('submit')).toEqual(['alice']);
        expect(by('approve')).toEqual(['bob']);
        expect(by('target.installed')).toHaveLength(3);
        expect(
          entries
            .filter((e) => e.action === 'target.installed')
            .map((e) => e.detail['target'])
            .sort(),
        ).toEqual(['sec-prd/fe-1', 'sec-prd/fe-2', 'sec-qa/fe-1']);
        expect(entries.filter((e) => e.action.startsWith('notify.')).map((e) => e.actor)).toEqual([
          'notifier',
        ]);
      });

      it('leaves neither the password nor any slice of the PFX or private key in any Redis key or log line', async () => {
        expect(jobId).toBeDefined();
        // let BullMQ settle the notify job before reading everything
        await new Promise((r) => setTimeout(r, 300));
        const { blobs, types } = await dumpRedis(redis, prefix);
        // the scan saw the kinds of keys certfleet and BullMQ write
        for (const type of ['string', 'hash', 'set', 'zset', 'stream']) expect([...types]).toContain(type);
        expect(blobs.some((b) => b.where.includes(new FleetKeys(prefix).job(jobId)))).toBe(true);
        expect(blobs.some((b) => /install-target/.test(b.where))).toBe(true);
        // retention: the secret kept sealed for repairs of each environment is among what was scanned
        for (const env of ['sec-prd', 'sec-qa']) {
          const retained = new FleetKeys(prefix).retained(env, 'secret-scan');
          expect(
            blobs.some((b) => b.where.includes(retained)),
            retained,
          ).toBe(true);
        }

        const logLines = logs.lines();
        expect(logLines.length).toBeGreaterThan(0);
        expect(logs.text()).toContain(jobId);

        const found = [
          ...earlyFindings,
          ...scan(blobs, needles),
          ...scan([{ where: 'captured logs', bytes: logs.bytes() }], needles),
          ...scan(
            receiver.received.map((r, i) => ({ where: `report ${i}`, bytes: Buffer.from(r.body) })),
            needles,
          ),
        ];
        expect(found.slice(0, 20)).toEqual([]);
      });
    });
  });

  // -------------------------------------------------------------------------------------
  describe('inventory reload and plan binding', () => {
    it('refuses an approval with 409 plan_changed after the inventory changed a host key', async () => {
      const id = await submit('alice', { environments: ['sec-prd'] });
      const changed: HarnessEnvironment[] = envs.map((e) =>
        e.name !== 'sec-prd'
          ? e
          : {
              ...e,
              hosts: e.hosts.map((h, i) =>
                i === 1 ? { ...h, hostKeyLine: fleet.hosts[0]!.hostKeyLine } : h,
              ),
            },
      );
      try {
        await stack.writeInventory(changed);
        const reload = await stack.request('carol', 'POST', '/v1/inventory/reload');
        expect(reload.status).toBe(200);
        expect(reload.body.map((e: { name: string }) => e.name).sort()).toEqual(['sec-prd', 'sec-qa']);
        const res = await stack.request('bob', 'POST', `/v1/jobs/${id}/approve`);
        expect(res.status).toBe(409);
        expect(res.body.error).toBe('plan_changed');
        const job = await stack.request('bob', 'GET', `/v1/jobs/${id}`);
        expect(job.body.status).toBe('pending_approval');
      } finally {
        await stack.writeInventory(envs);
        expect((await stack.request('carol', 'POST', '/v1/inventory/reload')).status).toBe(200);
      }
    });

    it('refuses a bad inventory with 422 and keeps the old one in force', async () => {
      const before = await stack.request('alice', 'GET', '/v1/environments');
      expect(before.status).toBe(200);
      const bad = [
        'environments: [ {name: sec-qa, platform: linux, installDir: relative/dir, frontEnds: [] } ]\n',
        'environments:\n  - name: ../x\n    platform: linux\n    installDir: /srv\n    frontEnds: []\n',
        ': : not yaml : [\n',
        `environments:\n  - name: sec-qa\n    platform: linux\n    installDir: /srv/../etc\n    frontEnds:\n      - { name: fe-1, host: ${fleet.hosts[2]!.address}, port: ${fleet.hosts[2]!.port}, hostKey: '${fleet.hosts[2]!.hostKeyLine}' }\n`,
      ];
      try {
        for (const text of bad) {
          await writeFile(stack.inventoryPath, text);
          const res = await stack.request('carol', 'POST', '/v1/inventory/reload');
          expect(res.status, text).toBe(422);
          expect(res.body.message).toMatch(/old one stays/);
          const after = await stack.request('alice', 'GET', '/v1/environments');
          expect(after.body.map((e: { name: string; frontEnds: unknown }) => [e.name, e.frontEnds])).toEqual(
            before.body.map((e: { name: string; frontEnds: unknown }) => [e.name, e.frontEnds]),
          );
        }
        // and a submission still plans against the old inventory
        const res = await stack.request(
          'alice',
          'POST',
          '/v1/jobs',
          submitBody({ environments: ['sec-prd', 'sec-qa'] }),
        );
        expect(res.status).toBe(201);
        expect(res.body.targets).toHaveLength(3);
      } finally {
        await stack.writeInventory(envs);
        expect((await stack.request('carol', 'POST', '/v1/inventory/reload')).status).toBe(200);
      }
    });
  });
});
