/**
 * The Business Rule of docs/servicenow-business-rule.js, run in a Node vm with the
 * ServiceNow APIs it calls stubbed as ServiceNow documents them
 * (CertificateEncryption.generateMac: a base64 key, a base64 MAC; GlideStringUtil;
 * GlideDateTime in ms; RESTMessageV2 collecting what it would send): what it sends must
 * be what the ServiceNow adapter accepts, and the README must hold the same script.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ServiceNowAdapter } from './servicenow.js';

const SCRIPT = readFileSync(new URL('../../../docs/servicenow-business-rule.js', import.meta.url), 'utf8');
const SECRET = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const SYS_ID = '9d385017c611228701d22104cc95c371';
const NOW = Date.parse('2026-12-03T10:00:00Z');

interface Sent {
  endpoint: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  async: boolean;
}

/** Runs the rule on an item; answers what RESTMessageV2 was given. */
function runRule(password: string | undefined, properties: Record<string, string>): Sent[] {
  const sent: Sent[] = [];
  const logged: string[] = [];
  class RESTMessageV2 {
    private readonly s: Sent = { endpoint: '', method: '', headers: {}, body: '', async: false };
    setEndpoint(u: string): void {
      this.s.endpoint = u;
    }
    setHttpMethod(m: string): void {
      this.s.method = m;
    }
    setRequestHeader(k: string, v: string): void {
      this.s.headers[k.toLowerCase()] = v;
    }
    setRequestBody(b: string): void {
      this.s.body = b;
    }
    executeAsync(): void {
      this.s.async = true;
      sent.push(this.s);
    }
  }
  const current = {
    getUniqueValue: () => SYS_ID,
    getValue: (f: string) => (f === 'sys_mod_count' ? '4' : ''),
    variables: password === undefined ? {} : { pfx_password: { getDecryptedValue: () => password } },
  };
  runInNewContext(SCRIPT, {
    current,
    previous: null,
    gs: { getProperty: (k: string) => properties[k], error: (m: string) => logged.push(m) },
    GlideDateTime: class {
      getNumericValue(): number {
        return NOW;
      }
    },
    GlideStringUtil: { base64Encode: (s: string) => Buffer.from(s, 'utf8').toString('base64') },
    // documented: generateMac(base64 key, algorithm, data) answers the base64 MAC
    CertificateEncryption: class {
      generateMac(key: string, algorithm: string, data: string): string {
        expect(algorithm).toBe('HmacSHA256');
        return createHmac('sha256', Buffer.from(key, 'base64')).update(data, 'utf8').digest('base64');
      }
    },
    sn_ws: { RESTMessageV2 },
  });
  if (logged.length > 0 && sent.length === 0) throw new Error(logged.join('; '));
  return sent;
}

const adapter = new ServiceNowAdapter({
  system: 'servicenow',
  name: 'itsm',
  baseUrl: 'https://acme.service-now.example',
  username: 'certfleet.integration',
  password: 'p',
  webhookSecret: SECRET,
  fields: { environments: 'variables.environments', name: 'variables.certificate_name' },
});
const properties = {
  'x_certfleet.url': 'https://certfleet.example/',
  'x_certfleet.instance': 'itsm',
  'x_certfleet.webhook_secret': SECRET,
};

describe('the ServiceNow Business Rule (docs/servicenow-business-rule.js)', () => {
  it('sends a doorbell the adapter accepts, with the Masked password (non-ASCII too) inside the signed body', () => {
    const [sent] = runRule('Pässwörd "quoted"', properties);
    expect(sent).toMatchObject({
      endpoint: 'https://certfleet.example/v1/adapters/servicenow/itsm',
      method: 'post',
      async: true,
    });
    expect(sent!.headers['x-certfleet-signature']).toMatch(/^t=\d+,v1b64=[A-Za-z0-9+/]+=*$/);
    // only ASCII on the wire: the bytes signed are the bytes sent
    expect(/^[\x20-\x7e]*$/.test(sent!.body)).toBe(true);
    const doorbell = adapter.verify({ headers: sent!.headers, rawBody: Buffer.from(sent!.body), now: NOW });
    expect(doorbell).toEqual({
      ok: true,
      deliveryId: `${SYS_ID}-4`,
      ticketId: SYS_ID,
      password: 'Pässwörd "quoted"',
    });
  });

  it('sends no password when the item has none, and nothing at all without its properties', () => {
    const [sent] = runRule(undefined, properties);
    const doorbell = adapter.verify({ headers: sent!.headers, rawBody: Buffer.from(sent!.body), now: NOW });
    expect(doorbell).toEqual({ ok: true, deliveryId: `${SYS_ID}-4`, ticketId: SYS_ID });
    expect(() => runRule(undefined, { 'x_certfleet.url': 'https://certfleet.example' })).toThrow(
      /x_certfleet\.webhook_secret/,
    );
  });

  it('is the script the README tells admins to paste', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`js\n${SCRIPT.trimEnd()}\n\`\`\``);
  });
});
