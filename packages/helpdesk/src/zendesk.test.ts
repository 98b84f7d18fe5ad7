import { describe, expect, it } from 'vitest';
import { parseAdapters } from './adapters-file.js';
import { zendeskSignature, ZendeskAdapter } from './zendesk.js';

const VECTOR = {
  secret: 'dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==',
  timestamp: '2021-03-25T05:09:27Z',
  body: '{"ticket_id":"123","event":"certfleet.approved"}',
  signature: 'aY3p7sQ8PBqK/LtQ5QUYX+ML+Rq/k4Yk63SfaLfbsmg=',
};

const adapter = (): ZendeskAdapter =>
  new ZendeskAdapter({
    system: 'zendesk',
    name: 'support',
    baseUrl: 'https://acme.zendesk.example',
    email: 'certfleet@acme.example',
    apiToken: 'token',
    webhookSecret: VECTOR.secret,
    fields: { environments: 1, name: 2 },
  });

const request = (
  headers: Record<string, string>,
  body = VECTOR.body,
  now = Date.parse(VECTOR.timestamp),
) => ({
  headers,
  rawBody: Buffer.from(body),
  now,
});

describe('Zendesk webhook signature', () => {
  it("matches Zendesk's documented test vector: base64(HMAC-SHA256(secret, timestamp + body))", () => {
    expect(zendeskSignature(VECTOR.secret, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
  });

  it('accepts the vector and names ticket 123; the same body and timestamp is the same delivery', () => {
    const headers = {
      'x-zendesk-webhook-signature': VECTOR.signature,
      'x-zendesk-webhook-signature-timestamp': VECTOR.timestamp,
    };
    const first = adapter().verify(request(headers));
    expect(first).toMatchObject({ ok: true, ticketId: '123' });
    expect(adapter().verify(request(headers))).toEqual(first);
  });

  it('refuses a changed body, a missing header and a timestamp more than 5 minutes away', () => {
    const headers = {
      'x-zendesk-webhook-signature': VECTOR.signature,
      'x-zendesk-webhook-signature-timestamp': VECTOR.timestamp,
    };
    expect(adapter().verify(request(headers, VECTOR.body.replace('123', '124')))).toMatchObject({
      ok: false,
    });
    expect(adapter().verify(request({ 'x-zendesk-webhook-signature': VECTOR.signature }))).toMatchObject({
      ok: false,
    });
    expect(adapter().verify(request(headers, VECTOR.body, Date.parse(VECTOR.timestamp) + 301_000))).toEqual({
      ok: false,
      reason: 'signature timestamp is more than 300 s away from now',
    });
  });
});

describe('the adapters file (FLEET_ADAPTERS)', () => {
  const yaml = (token: string): string => `
instances:
  - system: zendesk
    name: support
    baseUrl: https://acme.zendesk.example
    email: certfleet@acme.example
    apiToken: ${token}
    webhookSecret: { env: ZD_WEBHOOK }
    fields: { environments: 360001, name: 360002 }
`;
  const env = { ZD_TOKEN: 'api-token-value', ZD_WEBHOOK: 'hook-secret' };

  it('builds one adapter per instance, secrets read from the variables named', () => {
    const adapters = parseAdapters(yaml('{ env: ZD_TOKEN }'), 'adapters.yaml', env);
    expect(adapters.get('zendesk', 'support')?.instance).toBe('support');
    expect(adapters.get('zendesk', 'other')).toBeUndefined();
  });

  it('names the field at fault: a secret written in the file, a variable not set, an unknown system', () => {
    expect(() => parseAdapters(yaml('api-token-in-clear'), 'adapters.yaml', env)).toThrow(
      /^adapters\.yaml: instances\[0\]\.apiToken: /,
    );
    expect(() => parseAdapters(yaml('{ env: NOT_SET }'), 'adapters.yaml', env)).toThrow(
      'adapters.yaml: instances[0].apiToken: environment variable NOT_SET is not set',
    );
    expect(() => parseAdapters('instances:\n  - { system: freshdesk, name: x }\n', 'a.yaml', env)).toThrow(
      /^a\.yaml: instances\[0\]\.system: /,
    );
  });

  it('refuses the same system and name configured twice', () => {
    const twice = `${yaml('{ env: ZD_TOKEN }')}${yaml('{ env: ZD_TOKEN }').replace('instances:\n', '')}`;
    expect(() => parseAdapters(twice, 'adapters.yaml', env)).toThrow(
      'adapters.yaml: instances[1].name: zendesk/support is configured twice',
    );
  });
});
