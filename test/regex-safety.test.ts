/**
 * No pattern certfleet applies to outside input can backtrack: each one,
 * collected from the schemas and the running API's OpenAPI document, is proved
 * linear by recheck's automaton analysis (no clock involved), and the pfx field
 * that once took 21.9 s for 400 KB is refused with 400 at the body limit.
 * Timings per pattern are printed by `npm run bench:regex`, never asserted.
 */
import { checkSync } from 'recheck';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiInputs, otherInputPatterns, type InputPattern } from './support/input-patterns.js';
import { startApiServer, type ApiServer } from './support/api-server.js';

/** recheck's verdict; `safe` means no input makes the backtracking engine super-linear. */
function verdict(p: Pick<InputPattern, 'source' | 'flags'>): string {
  const result = checkSync(p.source, p.flags, { timeout: 20_000 });
  if (result.status !== 'vulnerable') return result.status;
  return `vulnerable (${result.complexity.type}): ${result.attack.pattern}`;
}

describe('regular expressions on outside input run in linear time', () => {
  let api: ApiServer;
  let fromRoutes: ReturnType<typeof openApiInputs>;

  beforeAll(async () => {
    api = await startApiServer();
    const doc = (await (await fetch(`${api.url}/docs/json`)).json()) as Parameters<typeof openApiInputs>[0];
    fromRoutes = openApiInputs(doc);
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('finds the patterns of every route, including the pfx, the webhook and the query strings (the walk works)', () => {
    const where = fromRoutes.patterns.map((p) => p.where);
    expect(where).toContain('POST /v1/jobs body.pfx');
    expect(where).toContain('POST /v1/webhooks/ticket body.deliveryId');
    expect(where).toContain('GET /v1/jobs query.cursor');
    expect(where).toContain('GET /v1/jobs/{id} path.id');
    expect(otherInputPatterns().map((p) => p.where)).toEqual(
      expect.arrayContaining([
        'inventory.environments.name',
        'inventory.environments.frontEnds.hostKey',
        'principals.principals.tokenSha256',
        'inventory installDir[0]',
        'Authorization header[0]',
      ]),
    );
  });

  it('flags the base64 pattern of issue 10 as vulnerable (control: the analysis catches the real bug)', () => {
    expect(verdict({ source: '^[A-Za-z0-9+/\\r\\n]*={0,2}[\\r\\n]*$', flags: 'u' })).toMatch(
      /^vulnerable \(polynomial\)/,
    );
    expect(verdict({ source: '^\\/(?:[A-Za-z0-9._-]+\\/?)*$', flags: '' })).toMatch(
      /^vulnerable \(exponential\)/,
    );
  });

  it('proves every request-body, parameter and query pattern of every route safe', () => {
    const verdicts = fromRoutes.patterns.map((p) => `${p.where} ${p.source} → ${verdict(p)}`);
    expect(verdicts.filter((v) => !v.endsWith('→ safe'))).toEqual([]);
    expect(verdicts.length).toBeGreaterThan(10);
  });

  it('proves every inventory, principals, payload, header and path pattern safe', () => {
    const verdicts = otherInputPatterns().map((p) => `${p.where} /${p.source}/${p.flags} → ${verdict(p)}`);
    expect(verdicts.filter((v) => !v.endsWith('→ safe'))).toEqual([]);
  });

  it('uses only regular-expression formats on requests, each proved safe (a code format would escape the check)', () => {
    const seen = [...new Set(fromRoutes.formats.map((f) => f.format))];
    const verdicts = seen.map((format) => {
      const definition = (fullFormats as Record<string, unknown>)[format];
      if (!(definition instanceof RegExp)) return `${format} → not a regular expression`;
      return `${format} → ${verdict({ source: definition.source, flags: definition.flags })}`;
    });
    expect(verdicts.filter((v) => !v.endsWith('→ safe'))).toEqual([]);
  });

  it('answers 400 invalid_request to a pfx of newlines and one bad character at the body limit', async () => {
    // JSON writes each newline as two bytes: the body ends just under the limit.
    const newlines = Math.floor((api.running.app.initialConfig.bodyLimit! - 1024) / 2);
    const res = await fetch(`${api.url}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.tokens['alice']!}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        ticket: 'CASE-1',
        name: 'regex-client',
        environments: ['http-prd'],
        pfx: `${'\n'.repeat(newlines)}!`,
        password: 'x',
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'invalid_request', message: expect.stringMatching(/^pfx: /) });
  });
});
