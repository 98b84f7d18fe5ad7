import { firstErrorLine } from '@certfleet/contract';
import Value from 'typebox/value';
import { describe, expect, it } from 'vitest';
import {
  ServiceNowAdapter,
  ServiceNowInstance,
  serviceNowSignature,
  serviceNowSystem,
  SERVICENOW_DELIVERY_HEADER,
  SERVICENOW_SIGNATURE_HEADER,
  type ServiceNowConfig,
} from './servicenow.js';

/**
 * Computed once with openssl, not with the code under test:
 * printf '%s' '1800000000.{"sys_id":"9d385017c611228701d22104cc95c371"}' \
 *   | openssl dgst -sha256 -hmac 'servicenow-secret' -binary | base64   (and without -binary | base64: hex)
 * printf '%s' '1800000000{"sys_id":"9d385017c611228701d22104cc95c371"}' | sha256sum | cut -c1-40
 */
const VECTOR = {
  secret: 'servicenow-secret',
  t: 1_800_000_000,
  sysId: '9d385017c611228701d22104cc95c371',
  body: '{"sys_id":"9d385017c611228701d22104cc95c371"}',
  base64: '1K8dnC2CvB+kr2lmKSXsA3MVL7M+4OurzPqT8/KiepQ=',
  hex: 'd4af1d9c2d82bc1fa4af69662925ec0373152fb33ee0ebabccfa93f3f2a27a94',
  deliveryHash: '9f712c6b2ba0b7fc6b3f6ecf4503c05ef974b9b6',
};
const NOW = VECTOR.t * 1000;

const config = (over: Partial<ServiceNowConfig> = {}): ServiceNowConfig => ({
  system: 'servicenow',
  name: 'itsm',
  baseUrl: 'https://acme.service-now.example',
  username: 'certfleet.integration',
  password: 'integration-password',
  webhookSecret: VECTOR.secret,
  fields: { environments: 'variables.environments', name: 'variables.certificate_name' },
  ...over,
});
const adapter = (over: Partial<ServiceNowConfig> = {}): ServiceNowAdapter =>
  new ServiceNowAdapter(config(over));

const request = (signature: string | undefined, body = VECTOR.body, now = NOW, extra = {}) => ({
  headers: { ...(signature === undefined ? {} : { [SERVICENOW_SIGNATURE_HEADER]: signature }), ...extra },
  rawBody: Buffer.from(body),
  now,
});
const signed = (body: string, t = VECTOR.t, secret = VECTOR.secret): string =>
  `t=${t},v1b64=${serviceNowSignature(secret, t, body, 'base64')}`;

describe('ServiceNow doorbell signature', () => {
  it('is HMAC-SHA256(secret, t + "." + body) in base64 (generateMac) and hex (the generic webhook), as openssl says', () => {
    expect(serviceNowSignature(VECTOR.secret, VECTOR.t, VECTOR.body, 'base64')).toBe(VECTOR.base64);
    expect(serviceNowSignature(VECTOR.secret, String(VECTOR.t), Buffer.from(VECTOR.body), 'hex')).toBe(
      VECTOR.hex,
    );
  });

  it('accepts the vector as v1b64 and as v1, naming the sys_id; without a delivery header the id is a hash of t and body', () => {
    const b64 = adapter().verify(request(`t=${VECTOR.t},v1b64=${VECTOR.base64}`));
    expect(b64).toEqual({ ok: true, ticketId: VECTOR.sysId, deliveryId: VECTOR.deliveryHash });
    expect(adapter().verify(request(`t=${VECTOR.t},v1=${VECTOR.hex}`))).toEqual(b64);
  });

  it('takes several signatures (a secret being rotated) in any order, and passes over unknown schemes', () => {
    const other = serviceNowSignature('the-old-secret', VECTOR.t, VECTOR.body, 'base64');
    for (const header of [
      `t=${VECTOR.t},v1b64=${other},v1b64=${VECTOR.base64}`,
      `v1=${'0'.repeat(64)}, t=${VECTOR.t}, v1=${VECTOR.hex}`,
      `t=${VECTOR.t},v0=whatever,v1b64=${VECTOR.base64}`,
    ]) {
      expect(adapter().verify(request(header))).toMatchObject({ ok: true, ticketId: VECTOR.sysId });
    }
    expect(adapter().verify(request(`t=${VECTOR.t},v1b64=${other}`))).toEqual({
      ok: false,
      reason: 'signature does not match',
    });
  });

  it('refuses a stale or future t, another secret, a changed body, a missing or malformed header', () => {
    const header = `t=${VECTOR.t},v1b64=${VECTOR.base64}`;
    const stale = { ok: false, reason: 'signature timestamp is more than 300 s away from now' };
    expect(adapter().verify(request(header, VECTOR.body, NOW + 301_000))).toEqual(stale);
    expect(adapter().verify(request(header, VECTOR.body, NOW - 301_000))).toEqual(stale);
    expect(adapter().verify(request(header, VECTOR.body, NOW + 299_000)).ok).toBe(true);
    expect(adapter({ webhookSecret: 'another-secret' }).verify(request(header))).toEqual({
      ok: false,
      reason: 'signature does not match',
    });
    expect(adapter().verify(request(header, VECTOR.body.replace('9d38', '9d39')))).toMatchObject({
      ok: false,
      reason: 'signature does not match',
    });
    const malformed = { ok: false, reason: 'missing or malformed X-Certfleet-Signature header' };
    for (const bad of [
      undefined,
      '',
      `v1b64=${VECTOR.base64}`,
      `t=${VECTOR.t}`,
      `t=${VECTOR.t},t=${VECTOR.t},v1b64=${VECTOR.base64}`,
      `t=${VECTOR.t},v1=${VECTOR.base64}`,
      `t=${VECTOR.t},v1b64=${VECTOR.hex}`,
      `t=${VECTOR.t},v1=${VECTOR.hex.toUpperCase()}`,
      `t=soon,v1=${VECTOR.hex}`,
      `t=${VECTOR.t},v0=${VECTOR.hex}`,
      `t=${VECTOR.t},${`v1=${VECTOR.hex},`.repeat(9)}v1b64=${VECTOR.base64}`,
    ]) {
      expect(adapter().verify(request(bad)), String(bad)).toEqual(malformed);
    }
  });

  it('refuses a signed body without a sys_id of 32 lower-case hex digits, or that is no JSON object', () => {
    for (const body of [
      '{"sys_id":"9D385017C611228701D22104CC95C371"}',
      '{"sys_id":"9d385017c611228701d22104cc95c37"}',
      '{"sys_id":"9d385017c611228701d22104cc95c371^ORnumber=RITM1"}',
      '{"number":"RITM0010001"}',
      '[]',
      'null',
      'sys_id=9d385017c611228701d22104cc95c371',
    ]) {
      expect(adapter().verify(request(signed(body), body)).ok, body).toBe(false);
    }
  });

  it('passes the password of the signed body on, and never names it in a refusal', () => {
    const body = JSON.stringify({ sys_id: VECTOR.sysId, password: 'Pfx-P@ss w0rd"' });
    expect(adapter().verify(request(signed(body), body))).toMatchObject({
      ok: true,
      ticketId: VECTOR.sysId,
      password: 'Pfx-P@ss w0rd"',
    });
    const long = JSON.stringify({ sys_id: VECTOR.sysId, password: 'x'.repeat(1025) });
    const notText = JSON.stringify({ sys_id: VECTOR.sysId, password: 98765 });
    for (const b of [long, notText]) {
      expect(adapter().verify(request(signed(b), b))).toEqual({
        ok: false,
        reason: 'password must be a string of at most 1024 characters',
      });
    }
    const broken = `{"sys_id":"${VECTOR.sysId}","password":"secret-in-broken-json`;
    const refusal = adapter().verify(request(signed(broken), broken));
    expect(refusal).toEqual({ ok: false, reason: 'the body is not JSON' });
    // a tampered body carrying a password is refused before it is read
    expect(
      adapter().verify(request(signed(VECTOR.body), JSON.stringify({ sys_id: VECTOR.sysId, password: 'p' }))),
    ).toEqual({ ok: false, reason: 'signature does not match' });
  });

  it('takes X-Certfleet-Delivery as the delivery id when it is a plain id, else hashes t and body', () => {
    const header = `t=${VECTOR.t},v1b64=${VECTOR.base64}`;
    const withDelivery = (d: string) =>
      adapter().verify(request(header, VECTOR.body, NOW, { [SERVICENOW_DELIVERY_HEADER]: d }));
    expect(withDelivery(`${VECTOR.sysId}-7`)).toMatchObject({ ok: true, deliveryId: `${VECTOR.sysId}-7` });
    expect(withDelivery('has spaces and / slashes')).toMatchObject({ deliveryId: VECTOR.deliveryHash });
    expect(withDelivery('x'.repeat(101))).toMatchObject({ deliveryId: VECTOR.deliveryHash });
    // the same signed request again is the same delivery
    expect(adapter().verify(request(header))).toEqual(adapter().verify(request(header)));
  });
});

describe('a ServiceNow instance in the adapters file', () => {
  const secretRef = { env: 'SN_SECRET' };
  const instance = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    system: 'servicenow',
    name: 'itsm',
    baseUrl: 'https://acme.service-now.com',
    webhookSecret: secretRef,
    fields: { environments: 'variables.environments', name: 'variables.certificate_name' },
    username: 'certfleet.integration',
    password: secretRef,
    ...over,
  });
  const problem = (value: Record<string, unknown>): string | undefined =>
    Value.Check(ServiceNowInstance, value)
      ? undefined
      : firstErrorLine(Value.Errors(ServiceNowInstance, value));
  const authProblem =
    '(top level): authenticate with username and password (Basic) or with oauthToken (Bearer): exactly one of the two';

  it('takes Basic or Bearer, with the optional table, fields, statuses and poll', () => {
    expect(problem(instance())).toBeUndefined();
    const { username: _u, password: _p, ...bearer } = instance();
    expect(problem({ ...bearer, oauthToken: secretRef })).toBeUndefined();
    expect(
      problem(
        instance({
          table: 'u_certificate_request',
          fields: {
            environments: 'variables.environments',
            name: 'variables.certificate_name',
            replace: 'variables.replace',
            requester: 'requested_for.user_name',
          },
          ticketRef: 'number',
          approvalField: 'approval',
          statuses: { completed: '3', failed: '4' },
          poll: {
            query: 'active=true^approval=approved^cat_item.name=Client certificate',
            intervalSeconds: 300,
          },
        }),
      ),
    ).toBeUndefined();
  });

  it('says clearly that it wants one way to authenticate, not both nor half of one', () => {
    const { username: _u, password: _p, ...none } = instance();
    expect(problem(none)).toBe(authProblem);
    expect(problem(instance({ oauthToken: secretRef }))).toBe(authProblem);
    expect(problem({ ...none, username: 'certfleet.integration' })).toBe(authProblem);
    expect(problem({ ...none, password: secretRef })).toBe(authProblem);
    expect(problem({ ...none, username: 'certfleet.integration', oauthToken: secretRef })).toBe(authProblem);
  });

  it('names the field at fault: table, dot-walked fields, the poll query and interval, unknown fields', () => {
    expect(problem(instance({ table: 'sc_req_item; drop' }))).toMatch(/^table: /);
    expect(problem(instance({ fields: { environments: 'variables.Environments', name: 'x' } }))).toMatch(
      /^fields\.environments: /,
    );
    expect(problem(instance({ fields: { environments: 'a' } }))).toBe("fields: missing 'name'");
    expect(problem(instance({ poll: { query: 'x'.repeat(1001), intervalSeconds: 60 } }))).toMatch(
      /^poll\.query: /,
    );
    expect(problem(instance({ poll: { query: 'active=true', intervalSeconds: 29 } }))).toMatch(
      /^poll\.intervalSeconds: /,
    );
    expect(problem(instance({ poll: { query: 'active=true', intervalSeconds: 86401 } }))).toMatch(
      /^poll\.intervalSeconds: /,
    );
    expect(problem(instance({ apiToken: secretRef }))).toBe("(top level): unknown field 'apiToken'");
  });

  it('is built with its secrets resolved; password or oauthToken is absent by design', () => {
    expect(serviceNowSystem.secretFields).toEqual(['password', 'oauthToken', 'webhookSecret']);
    const basic = serviceNowSystem.create(instance() as never, {
      password: 'pw',
      webhookSecret: VECTOR.secret,
    });
    expect(basic).toMatchObject({ system: 'servicenow', instance: 'itsm', pollEverySeconds: undefined });
    const {
      username: _u,
      password: _p,
      ...bearer
    } = instance({
      oauthToken: secretRef,
      poll: { query: 'active=true', intervalSeconds: 120 },
    });
    const viaToken = serviceNowSystem.create(bearer as never, { oauthToken: 'tok', webhookSecret: 's' });
    expect(viaToken.pollEverySeconds).toBe(120);
    expect(viaToken.verify(request(`t=${VECTOR.t},v1b64=${VECTOR.base64}`)).ok).toBe(false);
    expect(basic.verify(request(`t=${VECTOR.t},v1b64=${VECTOR.base64}`)).ok).toBe(true);
  });

  it('refuses to be built with both ways or none, naming fields and never a secret', () => {
    const both = (): ServiceNowAdapter => adapter({ oauthToken: 'the-oauth-token-value' });
    expect(both).toThrow(
      'servicenow/itsm: give username and password (Basic) or oauthToken (Bearer), exactly one of the two',
    );
    try {
      both();
    } catch (err) {
      expect(String((err as Error).message)).not.toMatch(/the-oauth-token-value|integration-password/);
    }
    expect(() => adapter({ username: undefined, password: undefined })).toThrow(/exactly one of the two/);
  });
});
