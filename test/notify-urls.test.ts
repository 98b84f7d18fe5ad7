/**
 * Notify URLs cannot reach the inside of the network: every written form of a
 * forbidden address is refused at intake with 422 notify_url_forbidden, and at
 * delivery the notifier resolves the name, checks every address and connects
 * to exactly the one it checked; a refused URL is recorded, never retried.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseCidrList, type ResolvedAddress } from '@certfleet/config';
import { DeliveryError, jobReport, webhookSink } from '@certfleet/notifier';
import type { Job } from '@certfleet/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates } from '../deploy/demo/demo-certs.js';
import { startReceiver, startStack, type Receiver, type Stack } from '@certfleet/test-kit';
import { HTTP_ENVIRONMENT } from './support/api-server.js';

/** 169.254.169.254 as the WHATWG parser reads it, written in every form seen in the wild. */
const METADATA_FORMS = [
  'http://169.254.169.254/latest/meta-data/',
  'http://0xa9fea9fe/latest/meta-data/',
  'http://0xA9.0xFE.0xA9.0xFE/',
  'http://2852039166/',
  'http://0251.0376.0251.0376/',
  'http://169.254.43518/',
  'http://[::ffff:169.254.169.254]/',
  'http://[::ffff:a9fe:a9fe]/',
  'http://[fd00:ec2::254]/',
];

const INSIDE_FORMS = [
  'http://127.0.0.1:8080/',
  'http://127.1/',
  'http://0x7f000001/',
  'http://[::1]/',
  'http://0.0.0.0/',
  'http://0/',
  'http://[::]/',
  'http://10.1.2.3/',
  'http://192.168.0.10/',
  'http://172.16.5.4/',
  'http://[fe80::1]/',
  'http://[fc00::1]/',
  'http://100.64.0.1/',
  'http://224.0.0.1/',
  'http://255.255.255.255/',
];

describe('notify URLs that reach the inside', () => {
  let stack: Stack;
  let operatorReceiver: Receiver;
  let ticket = 0;
  const certs = makeDemoCertificates('notify-url-client');

  beforeAll(async () => {
    operatorReceiver = await startReceiver();
    stack = await startStack({
      environments: [HTTP_ENVIRONMENT],
      username: 'fleet',
      privateKeyPath: '/nonexistent/id_ed25519',
      env: {
        // Nothing beyond public addresses, except a support network; loopback stays forbidden.
        FLEET_NOTIFY_ALLOW: '10.20.0.0/16, 169.254.0.0/16',
        FLEET_WEBHOOK_SECRET: 'notify-url-secret',
        // The operator's own URL is configuration, not input: it may be on loopback.
        FLEET_NOTIFY_WEBHOOK_URL: operatorReceiver.url,
        FLEET_NOTIFY_WEBHOOK_SECRET: 'notify-secret',
      },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await operatorReceiver?.close();
  });

  function submitBody(notify: Record<string, unknown>): Record<string, unknown> {
    ticket += 1;
    return {
      ticket: `CASE-NOTIFY-${ticket}`,
      name: 'notify-url-client',
      environments: [HTTP_ENVIRONMENT.name],
      pfx: certs.pfx.toString('base64'),
      password: certs.password,
      caCertificates: [certs.caPem],
      notify,
    };
  }

  describe('at intake', () => {
    it.each([...METADATA_FORMS, ...INSIDE_FORMS])(
      'refuses notify.webhookUrl %s with 422 notify_url_forbidden',
      async (url) => {
        const res = await stack.request('alice', 'POST', '/v1/jobs', submitBody({ webhookUrl: url }));
        expect(res.status, JSON.stringify(res.body)).toBe(422);
        expect(res.body).toEqual({
          error: 'notify_url_forbidden',
          message: expect.stringMatching(/^notify\.webhookUrl: /),
        });
      },
    );

    it('names the metadata address whatever form it was written in, even when FLEET_NOTIFY_ALLOW covers its range', async () => {
      for (const url of METADATA_FORMS) {
        const res = await stack.request('alice', 'POST', '/v1/jobs', submitBody({ slackUrl: url }));
        expect(res.body.message, url).toMatch(/^notify\.slackUrl: .*is a cloud metadata address/);
      }
    });

    it('refuses a webhook callbackUrl on the metadata address the same way', async () => {
      const { signBody } = await import('@certfleet/jobs');
      const body = JSON.stringify({
        ...submitBody({}),
        deliveryId: 'notify-url-1',
        callbackUrl: 'http://[::ffff:169.254.169.254]/',
      });
      const res = await fetch(`${stack.url}/v1/webhooks/ticket`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-certfleet-signature': signBody('notify-url-secret', body),
        },
        body,
      });
      expect(res.status).toBe(422);
      expect(await res.json()).toEqual({
        error: 'notify_url_forbidden',
        message: expect.stringMatching(/^callbackUrl: .*cloud metadata/),
      });
    });

    it('accepts a public address, a host name and an address in FLEET_NOTIFY_ALLOW', async () => {
      for (const url of ['https://hooks.example.com/x', 'http://203.0.114.7/x', 'http://10.20.3.4:8080/x']) {
        const res = await stack.request('alice', 'POST', '/v1/jobs', submitBody({ webhookUrl: url }));
        expect(res.status, `${url}: ${JSON.stringify(res.body)}`).toBe(201);
      }
    });

    it('refuses a URL the WHATWG parser rejects with 422 as well (the schema only checks the scheme)', async () => {
      const res = await stack.request(
        'alice',
        'POST',
        '/v1/jobs',
        submitBody({ webhookUrl: 'http://exa mple/' }),
      );
      expect(res.status).toBe(422);
      expect(res.body.error).toBe('notify_url_forbidden');
    });
  });

  describe('at delivery', () => {
    it('never POSTs to a name that resolves to loopback; records the refusal once and does not retry it', async () => {
      const victim = await startReceiver();
      try {
        const port = new URL(victim.url).port;
        const created = await stack.request(
          'alice',
          'POST',
          '/v1/jobs',
          submitBody({ webhookUrl: `http://localhost:${port}/hook` }),
        );
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        const id = created.body.id as string;
        const rejected = await stack.request('bob', 'POST', `/v1/jobs/${id}/reject`, { reason: 'test' });
        expect(rejected.status).toBe(200);
        // The operator's sink is served by the same notify job: once it has the report, the job ran.
        await operatorReceiver.waitFor(1);
        const deadline = Date.now() + 30_000;
        let refusals: { detail: Record<string, unknown> }[] = [];
        while (refusals.length === 0 && Date.now() < deadline) {
          const audit = await stack.request('bob', 'GET', `/v1/audit?job=${id}`);
          refusals = (audit.body.items as { action: string; detail: Record<string, unknown> }[]).filter(
            (e) => e.action === 'notify.refused',
          );
          if (refusals.length === 0) await new Promise((r) => setTimeout(r, 100));
        }
        expect(refusals).toHaveLength(1);
        expect(refusals[0]!.detail).toMatchObject({
          sink: 'webhook',
          reason: expect.stringMatching(/localhost resolves to (127\.0\.0\.1|::1) is a loopback address/),
        });
        expect(victim.received).toEqual([]);
      } finally {
        await victim.close();
      }
    });
  });
});

describe('the webhook sink at delivery, against a real receiver on loopback', () => {
  let server: Server;
  let port: number;
  let received = 0;
  let answer = 200;
  let location = '';

  beforeAll(async () => {
    server = createServer((req, res) => {
      received += 1;
      req.resume();
      req.on('end', () => {
        if (location) res.setHeader('location', location);
        res.statusCode = answer;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const job = {
    id: 'j1',
    ticket: 'CASE-1',
    name: 'n',
    targets: [],
    paths: {},
    certificate: { subject: 'CN=n', notAfter: '2030-01-01T00:00:00.000Z' },
  } as unknown as Job;
  const report = jobReport(job, 1, 'completed');

  /** A resolver that answers from a table and counts its calls. */
  function resolverOf(table: Record<string, string[]>): {
    calls: string[];
    resolve: (h: string) => Promise<ResolvedAddress[]>;
  } {
    const calls: string[] = [];
    return {
      calls,
      resolve: async (hostname) => {
        calls.push(hostname);
        return (table[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      },
    };
  }

  async function deliver(url: string, allow: string, resolve?: (h: string) => Promise<ResolvedAddress[]>) {
    const before = received;
    const sink = webhookSink(url, 'secret', {
      timeoutMs: 5000,
      addressPolicy: { allow: parseCidrList(allow), ...(resolve ? { resolve } : {}) },
    });
    const outcome = await sink.deliver(report).then(
      () => 'delivered',
      (err: unknown) => err,
    );
    return { outcome, hits: received - before };
  }

  it('connects to the one address it checked, resolving the name once (no second lookup to rebind)', async () => {
    const dns = resolverOf({ 'receiver.test': ['127.0.0.1'] });
    const { outcome, hits } = await deliver(`http://receiver.test:${port}/hook`, '127.0.0.0/8', dns.resolve);
    expect(outcome).toBe('delivered');
    expect(hits).toBe(1);
    expect(dns.calls).toEqual(['receiver.test']);
  });

  it('refuses a name with any forbidden address among its answers, permanently, and sends nothing', async () => {
    const dns = resolverOf({ 'rebind.test': ['127.0.0.1', '169.254.169.254'] });
    const { outcome, hits } = await deliver(`http://rebind.test:${port}/hook`, '127.0.0.0/8', dns.resolve);
    expect(outcome).toBeInstanceOf(DeliveryError);
    expect((outcome as DeliveryError).permanent).toBe(true);
    expect((outcome as DeliveryError).message).toMatch(/169\.254\.169\.254 is a cloud metadata address/);
    expect(hits).toBe(0);
  });

  it('refuses a loopback name from the system resolver when loopback is not allowed', async () => {
    const { outcome, hits } = await deliver(`http://localhost:${port}/hook`, '');
    expect((outcome as DeliveryError).permanent).toBe(true);
    expect(hits).toBe(0);
  });

  it('refuses a literal loopback address before connecting', async () => {
    const { outcome, hits } = await deliver(`http://127.0.0.1:${port}/hook`, '10.0.0.0/8');
    expect((outcome as DeliveryError).message).toMatch(/127\.0\.0\.1 is a loopback address/);
    expect(hits).toBe(0);
  });

  it('does not follow a redirect (it could point inside): a permanent failure', async () => {
    answer = 302;
    location = 'http://169.254.169.254/latest/meta-data/';
    try {
      const { outcome, hits } = await deliver(`http://127.0.0.1:${port}/hook`, '127.0.0.0/8');
      expect((outcome as DeliveryError).permanent).toBe(true);
      expect((outcome as DeliveryError).message).toMatch(/redirects are not followed/);
      expect(hits).toBe(1);
    } finally {
      answer = 200;
      location = '';
    }
  });
});
