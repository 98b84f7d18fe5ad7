import type { Static } from 'typebox';
import Value from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { parseAdapters } from './adapters-file.js';
import {
  JIRA_IDENTIFIER_HEADER,
  JIRA_SIGNATURE_HEADER,
  JiraAdapter,
  JiraInstance,
  jiraSignature,
  jiraSystem,
} from './jira.js';

const VECTOR = {
  secret: 'jira-secret',
  body: '{"timestamp":1800000000000,"webhookEvent":"jira:issue_updated","issue":{"id":"10001","key":"SD-42"}}',
  signature: 'sha256=0fda374183e33aca7d13e7129fdca985aeeebc633a8370c17421456982430cf1',
};

const adapter = (): JiraAdapter =>
  new JiraAdapter({
    system: 'jira',
    name: 'servicedesk',
    baseUrl: 'https://acme.atlassian.example',
    email: 'certfleet@acme.example',
    apiToken: 'token',
    webhookSecret: VECTOR.secret,
    fields: { environments: 'customfield_10050', name: 'customfield_10051' },
  });

const request = (headers: Record<string, string>, body = VECTOR.body) => ({
  headers,
  rawBody: Buffer.from(body),
  // Jira signs no time: any clock, even a day later, is the same
  now: Date.parse('2030-01-16T00:00:00Z'),
});

describe('Jira webhook signature', () => {
  it('matches the documented test vector: sha256=<hex HMAC-SHA256(secret, raw body)>', () => {
    expect(jiraSignature(VECTOR.secret, VECTOR.body)).toBe(VECTOR.signature);
  });

  it('accepts the vector, names issue SD-42, and takes the webhook identifier as the delivery across retries', () => {
    const headers = {
      'x-hub-signature': VECTOR.signature,
      'x-atlassian-webhook-identifier': '1234567890123-abc',
    };
    const first = adapter().verify(request(headers));
    const retry = adapter().verify({ ...request(headers), now: Date.now() + 30 * 60_000 });
    expect(first).toEqual({ ok: true, deliveryId: '1234567890123-abc', ticketId: 'SD-42' });
    expect(retry).toEqual(first);
    const noId = adapter().verify(request({ 'x-hub-signature': VECTOR.signature }));
    expect(noId.ok && noId.deliveryId).toMatch(/^[0-9a-f]{40}$/);
  });

  it('without a usable identifier, the delivery is a hash of the body: the same for the same body, another for another', () => {
    const signed = (body: string, identifier?: string) =>
      adapter().verify(
        request(
          {
            [JIRA_SIGNATURE_HEADER]: jiraSignature(VECTOR.secret, body),
            ...(identifier === undefined ? {} : { [JIRA_IDENTIFIER_HEADER]: identifier }),
          },
          body,
        ),
      );
    const other = VECTOR.body.replace('1800000000000', '1800000000001');
    const [a, b, c, odd] = [
      signed(VECTOR.body),
      signed(VECTOR.body),
      signed(other),
      signed(VECTOR.body, 'a b/c'),
    ];
    if (!a.ok || !b.ok || !c.ok || !odd.ok) throw new Error('expected all four accepted');
    expect(a.deliveryId).toMatch(/^[0-9a-f]{40}$/);
    expect(b.deliveryId).toBe(a.deliveryId);
    expect(c.deliveryId).not.toBe(a.deliveryId);
    // an identifier that is not of Jira's form is not taken as it is (it goes into Redis keys)
    expect(odd.deliveryId).toBe(a.deliveryId);
    expect(signed(VECTOR.body, 'x'.repeat(101))).toMatchObject({ deliveryId: a.deliveryId });
  });

  it('reads the first of a repeated header, and names the missing header without echoing anything', () => {
    const repeated = adapter().verify({
      headers: { [JIRA_SIGNATURE_HEADER]: [VECTOR.signature, 'sha256=00'] },
      rawBody: Buffer.from(VECTOR.body),
      now: 0,
    });
    expect(repeated).toMatchObject({ ok: true, ticketId: 'SD-42' });
    expect(adapter().verify(request({}))).toEqual({
      ok: false,
      reason: 'missing or malformed X-Hub-Signature (sha256=<hex>)',
    });
    expect(
      adapter().verify(request({ [JIRA_SIGNATURE_HEADER]: jiraSignature('another-secret', VECTOR.body) })),
    ).toEqual({ ok: false, reason: 'signature does not match' });
  });

  it('refuses another secret, a changed body, a missing or malformed header, and a body without an issue key', () => {
    const tampered = VECTOR.body.replace('SD-42', 'SD-43');
    const cases: [Record<string, string>, string][] = [
      [{ 'x-hub-signature': jiraSignature('another-secret', VECTOR.body) }, VECTOR.body],
      [{ 'x-hub-signature': VECTOR.signature }, tampered],
      [{}, VECTOR.body],
      [{ 'x-hub-signature': VECTOR.signature.slice(7) }, VECTOR.body],
      [{ 'x-hub-signature': VECTOR.signature.toUpperCase() }, VECTOR.body],
    ];
    for (const [headers, body] of cases) expect(adapter().verify(request(headers, body)).ok).toBe(false);
    for (const body of ['not json', '{"issue":{"key":"sd-42"}}', '{"issue":{}}', 'null']) {
      const res = adapter().verify(request({ 'x-hub-signature': jiraSignature(VECTOR.secret, body) }, body));
      expect(res.ok).toBe(false);
    }
  });
});

describe('the Jira instance schema', () => {
  const cloud: Static<typeof JiraInstance> = {
    system: 'jira',
    name: 'servicedesk',
    baseUrl: 'https://acme.atlassian.net',
    email: 'certfleet@acme.example',
    apiToken: { env: 'JIRA_TOKEN' },
    webhookSecret: { file: '/run/secrets/jira-webhook' },
    fields: { environments: 'customfield_10050', name: 'customfield_10051', replace: 'customfield_10052' },
    statuses: { completed: 'Resolve', failed: 'Escalate' },
  };
  // Data Center: no email (the token is a PAT), and a context path under the host
  const dataCenter: Record<string, unknown> = { ...cloud, baseUrl: 'https://jira.acme.example/jira' };
  delete dataCenter['email'];

  it('accepts a Cloud instance (email and API token) and a Data Center one (a PAT, no email)', () => {
    expect(Value.Check(jiraSystem.schema, cloud)).toBe(true);
    expect(Value.Check(jiraSystem.schema, dataCenter)).toBe(true);
    expect(jiraSystem.secretFields).toEqual(['apiToken', 'webhookSecret']);
  });

  it('refuses fields that are no custom field ids, unknown keys, and a base URL with a query', () => {
    const bad: unknown[] = [
      { ...cloud, fields: { ...cloud.fields, name: 'summary' } },
      { ...cloud, fields: { ...cloud.fields, environments: 'customfield_' } },
      { ...cloud, fields: { ...cloud.fields, replace: 'customfield_12345678901' } },
      { ...cloud, fields: { environments: 'customfield_10050' } },
      { ...cloud, fields: { ...cloud.fields, requester: 'customfield_10053' } },
      { ...cloud, statuses: { resolved: 'Resolve' } },
      { ...cloud, statuses: { completed: '' } },
      { ...cloud, baseUrl: 'https://acme.atlassian.net/?x=1' },
      { ...cloud, baseUrl: 'acme.atlassian.net' },
      { ...cloud, system: 'zendesk' },
      { ...cloud, name: 'Service Desk' },
      { ...cloud, apiToken: 'in-clear' },
      { ...cloud, ticketPrefix: 'SD' },
    ];
    for (const instance of bad)
      expect(Value.Check(jiraSystem.schema, instance), JSON.stringify(instance)).toBe(false);
  });

  it('builds an adapter that verifies with the resolved webhook secret', () => {
    const built = jiraSystem.create(cloud, { apiToken: 't', webhookSecret: VECTOR.secret });
    expect(built).toBeInstanceOf(JiraAdapter);
    expect(built.verify(request({ [JIRA_SIGNATURE_HEADER]: VECTOR.signature }))).toMatchObject({ ok: true });
  });
});

describe('Jira instances in the adapters file', () => {
  const yaml = (extra: string): string =>
    [
      'instances:',
      '  - system: jira',
      '    name: servicedesk',
      '    baseUrl: https://acme.atlassian.net',
      '    apiToken: { env: JIRA_TOKEN }',
      '    webhookSecret: { env: JIRA_SECRET }',
      '    fields: { environments: customfield_10050, name: customfield_10051 }',
      extra,
      '',
    ].join('\n');
  const env = { JIRA_TOKEN: 't', JIRA_SECRET: 's' };

  it('takes a Cloud instance (email) and a Data Center one (a PAT, no email)', () => {
    const cloud = parseAdapters(yaml('    email: certfleet@acme.example'), 'adapters.yaml', env);
    expect(cloud.get('jira', 'servicedesk')?.system).toBe('jira');
    const dc = parseAdapters(yaml('    statuses: { completed: Resolve }'), 'adapters.yaml', env);
    expect(dc.get('jira', 'servicedesk')).toBeInstanceOf(JiraAdapter);
  });

  it('refuses a field that is not a custom field id, naming it', () => {
    const bad = yaml('').replace('customfield_10051', 'summary');
    expect(() => parseAdapters(bad, 'adapters.yaml', env)).toThrow(/instances\[0\]\.fields\.name/);
  });
});
