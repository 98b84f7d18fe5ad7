import { describe, expect, it } from 'vitest';
import { parseAdapters } from './adapters-file.js';
import { JiraAdapter, jiraSignature } from './jira.js';

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
