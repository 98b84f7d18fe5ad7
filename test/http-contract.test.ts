/**
 * Every answer of the HTTP layer has the contract's shape `{ error, message }`
 * with a documented code, including what Node.js and Fastify refuse before a
 * route runs; authentication still answers first where a route exists; and
 * /docs/json lists every status each route is seen answering here.
 */
import { connect } from 'node:net';
import { signBody } from '@certfleet/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from './support/api-server.js';

/** Codes of API.md and their statuses. */
const DOCUMENTED: Record<string, number[]> = {
  invalid_request: [400],
  unauthorized: [401],
  webhook_signature: [401],
  forbidden: [403],
  not_found: [404],
  method_not_allowed: [405],
  request_timeout: [408],
  conflict: [409],
  payload_too_large: [413],
  uri_too_long: [414],
  unsupported_media_type: [415],
  headers_too_large: [431],
  webhook_disabled: [503],
  unavailable: [503],
};

interface RawAnswer {
  status: number;
  headers: string;
  body: unknown;
}

/** Sends bytes on a real TCP connection and reads the answer until the server closes it. */
function rawRequest(port: number, bytes: Buffer | string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n', 2);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      let parsed: unknown = body;
      try {
        parsed = JSON.parse(body);
      } catch {
        // left as text: the assertion shows it
      }
      resolve({ status, headers: head, body: parsed });
    });
    socket.end(bytes);
  });
}

describe('the HTTP layer answers in the contract’s shape', () => {
  let api: ApiServer;
  /** `<METHOD> <route> <status>` for every answer seen, to compare with /docs/json. */
  const seen = new Set<string>();

  beforeAll(async () => {
    api = await startApiServer({ FLEET_WEBHOOK_SECRET: 'contract-secret' });
  });

  afterAll(async () => {
    await api?.stop();
  });

  function expectShape(body: unknown, status: number, code?: string): void {
    expect(body).toEqual({ error: expect.any(String), message: expect.any(String) });
    const { error } = body as { error: string };
    expect(DOCUMENTED[error], `${error} is a documented code`).toContain(status);
    if (code) expect(error).toBe(code);
  }

  async function call(
    method: string,
    path: string,
    init: {
      route?: string;
      headers?: Record<string, string>;
      body?: string | FormData | URLSearchParams;
    } = {},
  ): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${api.url}${path}`, { method, headers: init.headers, body: init.body });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    seen.add(`${method} ${init.route ?? path} ${res.status}`);
    return { status: res.status, body };
  }

  const token = (name: string): string => `Bearer ${api.tokens[name]!}`;

  describe('on the raw socket (a real TCP client, not inject)', () => {
    it('answers a NUL in a header with 400 invalid_request', async () => {
      const res = await rawRequest(api.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\0b\r\n\r\n');
      expect(res.status).toBe(400);
      expectShape(res.body, 400, 'invalid_request');
    });

    it('answers raw non-ASCII bytes in the path with 400 invalid_request', async () => {
      const res = await rawRequest(
        api.port,
        Buffer.concat([
          Buffer.from('GET /v1/jobs/'),
          Buffer.from('é☃', 'utf8'),
          Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n'),
        ]),
      );
      expect(res.status).toBe(400);
      expectShape(res.body, 400, 'invalid_request');
    });

    it('answers headers larger than the server accepts with 431 headers_too_large', async () => {
      const res = await rawRequest(
        api.port,
        `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      );
      expect(res.status).toBe(431);
      expectShape(res.body, 431, 'headers_too_large');
    });

    it('answers an unknown method with 405 method_not_allowed', async () => {
      const res = await rawRequest(api.port, 'FROB /v1/jobs HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(res.status).toBe(405);
      expectShape(res.body, 405, 'method_not_allowed');
    });
  });

  describe('before a route runs, authentication first', () => {
    it('answers a bad percent-encoding in a job id with 401 without a token, then 400 invalid_request', async () => {
      const anonymous = await call('GET', '/v1/jobs/%ZZ', { route: '/v1/jobs/{id}' });
      expect(anonymous.status).toBe(401);
      expectShape(anonymous.body, 401, 'unauthorized');
      const signedIn = await call('GET', '/v1/jobs/%ZZ', {
        route: '/v1/jobs/{id}',
        headers: { authorization: token('alice') },
      });
      expect(signedIn.status).toBe(400);
      expectShape(signedIn.body, 400, 'invalid_request');
    });

    it('answers a 9 000-character job id with 401 without a token, 403 with the wrong role, then 414 uri_too_long', async () => {
      const path = `/v1/jobs/${'a'.repeat(9000)}/approve`;
      const route = '/v1/jobs/{id}/approve';
      const anonymous = await call('POST', path, { route });
      expect(anonymous.status).toBe(401);
      const operator = await call('POST', path, { route, headers: { authorization: token('ticket-bot') } });
      expect(operator.status).toBe(403);
      expectShape(operator.body, 403, 'forbidden');
      const approver = await call('POST', path, { route, headers: { authorization: token('bob') } });
      expect(approver.status).toBe(414);
      expectShape(approver.body, 414, 'uri_too_long');
    });

    it('accepts the bearer scheme in any case (RFC 9110: schemes are case-insensitive)', async () => {
      for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
        const res = await call('GET', '/v1/jobs', {
          headers: { authorization: `${scheme} ${api.tokens['alice']!}` },
        });
        expect(res.status, scheme).toBe(200);
      }
    });
  });

  describe('content types', () => {
    const bodies: [
      string,
      () => { headers: Record<string, string>; body: string | FormData | URLSearchParams },
    ][] = [
      [
        'multipart',
        () => ({
          headers: {},
          body: (() => {
            const f = new FormData();
            f.set('ticket', 'x');
            return f;
          })(),
        }),
      ],
      ['urlencoded', () => ({ headers: {}, body: new URLSearchParams({ ticket: 'x' }) })],
      ['text/plain', () => ({ headers: { 'content-type': 'text/plain' }, body: '{}' })],
      ['an empty type', () => ({ headers: { 'content-type': '' }, body: '{}' })],
      ['no type', () => ({ headers: {}, body: Buffer.from('{}') as unknown as string })],
    ];
    const posts: [string, string, string][] = [
      ['/v1/jobs', '/v1/jobs', 'alice'],
      ['/v1/jobs/abc/approve', '/v1/jobs/{id}/approve', 'bob'],
      ['/v1/jobs/abc/reject', '/v1/jobs/{id}/reject', 'bob'],
      ['/v1/jobs/abc/retry', '/v1/jobs/{id}/retry', 'alice'],
      ['/v1/jobs/abc/continue', '/v1/jobs/{id}/continue', 'bob'],
      ['/v1/inventory/reload', '/v1/inventory/reload', 'carol'],
    ];

    it.each(bodies)(
      'answers %s on every authenticated POST with 415 unsupported_media_type',
      async (_kind, make) => {
        for (const [path, route, who] of posts) {
          const { headers, body } = make();
          const res = await call('POST', path, {
            route,
            headers: { ...headers, authorization: token(who) },
            body,
          });
          expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(415);
          expectShape(res.body, 415, 'unsupported_media_type');
        }
      },
    );

    it.each([
      ...bodies,
      [
        'two types',
        () => ({ headers: { 'content-type': 'application/json, text/plain' }, body: '{}' }),
      ] as const,
    ])(
      'answers an unsigned webhook with %s with 401 webhook_signature before any content type check',
      async (_kind, make) => {
        const { headers, body } = make();
        const res = await call('POST', '/v1/webhooks/ticket', { headers, body });
        expect(res.status, JSON.stringify(res.body)).toBe(401);
        expectShape(res.body, 401, 'webhook_signature');
      },
    );

    it('parses a signed webhook body as JSON whatever its content type (then the schema answers 400)', async () => {
      const body = JSON.stringify({ deliveryId: 'ct-1' });
      const res = await call('POST', '/v1/webhooks/ticket', {
        headers: { 'content-type': 'text/plain', 'x-certfleet-signature': signBody('contract-secret', body) },
        body,
      });
      expect(res.status).toBe(400);
      expectShape(res.body, 400, 'invalid_request');
    });
  });

  describe('the queue board', () => {
    it('answers 401 and 403 in the contract’s shape', async () => {
      const anonymous = await call('GET', '/admin/queues');
      expect(anonymous.status).toBe(401);
      expectShape(anonymous.body, 401, 'unauthorized');
      const operator = await call('GET', '/admin/queues', { headers: { authorization: token('alice') } });
      expect(operator.status).toBe(403);
      expectShape(operator.body, 403, 'forbidden');
      const basic = `Basic ${Buffer.from(`x:${api.tokens['carol']!}`).toString('base64')}`;
      const admin = await call('GET', '/admin/queues', { headers: { authorization: basic } });
      expect(admin.status).toBe(200);
    });
  });

  describe('the OpenAPI description', () => {
    type Doc = { paths: Record<string, Record<string, { responses?: Record<string, unknown> }>> };

    it('lists every status each route was seen answering above', async () => {
      const doc = (await (await fetch(`${api.url}/docs/json`)).json()) as Doc;
      const missing = [...seen].filter((entry) => {
        const [method, route, status] = entry.split(' ') as [string, string, string];
        const op = doc.paths[route]?.[method.toLowerCase()];
        return op !== undefined && !(status in (op.responses ?? {}));
      });
      expect(missing).toEqual([]);
      expect(seen.size).toBeGreaterThan(10);
    });

    it('lists the common error statuses on every route, and 401/403 on every route that needs a token', async () => {
      const doc = (await (await fetch(`${api.url}/docs/json`)).json()) as Doc;
      const lacking: string[] = [];
      for (const [route, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          const statuses = Object.keys(op.responses ?? {});
          const needed = ['400', '431', '500'];
          if (method === 'post') needed.push('413', '415');
          if (route.includes('{')) needed.push('414');
          // a webhook or help desk request proves itself by its signature, a password link by its token: no roles
          const signedOrLinked = ['/v1/webhooks/', '/v1/adapters/', '/v1/intake/'].some((p) =>
            route.startsWith(p),
          );
          if (route.startsWith('/v1/') && !signedOrLinked) needed.push('401', '403');
          for (const s of needed)
            if (!statuses.includes(s)) lacking.push(`${method.toUpperCase()} ${route} ${s}`);
        }
      }
      expect(lacking).toEqual([]);
    });
  });
});
