/**
 * The ServiceNow adapter against a fake ServiceNow on loopback over real HTTP
 * (README: Help desks): the Table API's dot-walked string values, approvals and their
 * approvers, attachments page after page, a file redirected to a host that must get no
 * credentials, the byte cap, a 429 waited out, refused credentials, Bearer tokens,
 * work notes with a mapped state, comments, the journal looked up, and the poll.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeskHttpError } from '@certfleet/helpdesk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceNowAdapter, type ServiceNowConfig } from '@certfleet/helpdesk';
import { FAKE_ATTACHMENT_PAGE, startFakeServiceNow, type FakeServiceNow } from './support/fake-servicenow.js';

const FIELDS = {
  environments: 'variables.environments',
  name: 'variables.certificate_name',
  replace: 'variables.replace',
};

describe('ServiceNow adapter against a ServiceNow on loopback', () => {
  let sn: FakeServiceNow;
  const config = (over: Partial<ServiceNowConfig> = {}): ServiceNowConfig => ({
    system: 'servicenow',
    name: 'itsm',
    baseUrl: sn.url,
    username: sn.username,
    password: sn.password,
    webhookSecret: sn.webhookSecret,
    fields: FIELDS,
    statuses: { completed: '3', failed: '4' },
    ...over,
  });
  const adapter = (over: Partial<ServiceNowConfig> = {}): ServiceNowAdapter =>
    new ServiceNowAdapter(config(over));
  const ritm = (number: string, over: Record<string, string> = {}): Record<string, string> => ({
    number,
    active: 'true',
    'variables.environments': 'acme-prd, acme-tst',
    'variables.certificate_name': 'api-client',
    'variables.replace': 'false',
    'opened_by.email': 'carla@customer.example',
    'opened_by.user_name': 'carla',
    short_description: 'Client certificate',
    ...over,
  });
  const requestsSince = (start: number) => sn.requests.slice(start);

  beforeAll(async () => {
    sn = await startFakeServiceNow();
  });

  afterAll(async () => {
    await sn?.close();
  });

  it('reads a requested item back: dot-walked variables, the requester, RITM number, only the mapped fields asked for', async () => {
    const sysId = sn.put({
      fields: ritm('RITM0010001', {
        'variables.replace': 'Yes',
        'variables.certificate_name': ' api-client ',
      }),
    });
    const start = sn.requests.length;
    const ticket = await adapter().readTicket(sysId);
    expect(ticket).toEqual({
      id: sysId,
      ref: 'RITM0010001',
      requester: 'carla@customer.example',
      environments: ['acme-prd', 'acme-tst'],
      name: 'api-client',
      replace: true,
      approval: undefined,
    });
    const [read] = requestsSince(start);
    const asked = new URL(read!.path, sn.url);
    expect(asked.pathname).toBe(`/api/now/table/sc_req_item/${sysId}`);
    expect(asked.searchParams.get('sysparm_fields')?.split(',').sort()).toEqual(
      [
        'sys_id',
        'number',
        'approval',
        'opened_by.email',
        'variables.environments',
        'variables.certificate_name',
        'variables.replace',
      ].sort(),
    );
    expect(asked.searchParams.get('sysparm_display_value')).toBe('false');
    expect(asked.searchParams.get('sysparm_exclude_reference_link')).toBe('true');
    // 'not requested' is no approval of ServiceNow's: one request, no approver looked up
    expect(requestsSince(start)).toHaveLength(1);
  });

  it('maps another table, ticket field, requester field and empty variables', async () => {
    const sysId = sn.put({
      table: 'u_cert_request',
      fields: { u_number: 'CERT0001', 'requested_for.user_name': 'dave', 'variables.environments': '' },
    });
    const ticket = await adapter({
      table: 'u_cert_request',
      ticketRef: 'u_number',
      fields: { ...FIELDS, requester: 'requested_for.user_name' },
    }).readTicket(sysId);
    expect(ticket).toMatchObject({ ref: 'CERT0001', requester: 'dave', environments: [], name: undefined });
    expect(ticket.replace).toBe(false);
  });

  it('takes the approval from the record, and the approver from sysapproval_approver (the latest, by e-mail or user name)', async () => {
    const approved = sn.put({
      fields: ritm('RITM0010002'),
      approval: 'approved',
      approvers: [
        { state: 'rejected', email: 'early@acme.example' },
        { state: 'approved', email: 'first@acme.example' },
        { state: 'approved', email: 'bob@acme.example', user_name: 'bob' },
      ],
    });
    const start = sn.requests.length;
    expect((await adapter().readTicket(approved)).approval).toEqual({
      state: 'approved',
      by: 'bob@acme.example',
    });
    const lookup = new URL(requestsSince(start)[1]!.path, sn.url);
    expect(lookup.pathname).toBe('/api/now/table/sysapproval_approver');
    expect(lookup.searchParams.get('sysparm_query')).toBe(
      `sysapproval=${approved}^state=approved^ORDERBYDESCsys_updated_on`,
    );
    expect(lookup.searchParams.get('sysparm_fields')).toBe('approver.email,approver.user_name');
    expect(lookup.searchParams.get('sysparm_limit')).toBe('1');

    const byName = sn.put({ fields: ritm('RITM0010003'), approval: 'approved' });
    sn.setApproval(byName, 'approved', { state: 'approved', user_name: 'erin' });
    expect((await adapter().readTicket(byName)).approval).toEqual({ state: 'approved', by: 'erin' });

    const nobody = sn.put({ fields: ritm('RITM0010004'), approval: 'approved' });
    expect((await adapter().readTicket(nobody)).approval).toEqual({ state: 'approved' });

    const rejected = sn.put({
      fields: ritm('RITM0010005'),
      approval: 'rejected',
      approvers: [{ state: 'rejected', email: 'frank@acme.example' }],
    });
    expect((await adapter().readTicket(rejected)).approval).toEqual({
      state: 'declined',
      by: 'frank@acme.example',
    });

    const states: [string, unknown][] = [
      ['requested', { state: 'pending' }],
      ['not requested', undefined],
      ['not_required', undefined],
      ['', undefined],
      ['cancelled', { state: 'declined' }],
    ];
    for (const [value, approval] of states) {
      const id = sn.put({ fields: ritm('RITM0010006'), approval: value });
      expect((await adapter().readTicket(id)).approval, value).toEqual(approval);
    }
  });

  it('lists the attachments page after page by offset, sizes from their strings, content URLs on the instance', async () => {
    const files = ['a.pfx', 'b.cer', 'c.cer', 'd.txt', 'e.pem'].map((file_name, i) => ({
      file_name,
      bytes: Buffer.alloc(100 + i, i),
    }));
    const sysId = sn.put({ fields: ritm('RITM0010010'), attachments: files });
    sn.put({
      fields: ritm('RITM0010011'),
      attachments: [{ file_name: 'other.pfx', bytes: Buffer.from('x') }],
    });
    const start = sn.requests.length;
    const listed = await adapter().listAttachments(sysId);
    expect(listed.map((a) => [a.fileName, a.size, a.malware])).toEqual(
      files.map((f) => [f.file_name, f.bytes.length, false]),
    );
    for (const a of listed) {
      expect(a.id).toMatch(/^[0-9a-f]{32}$/);
      expect(a.contentUrl).toBe(`${sn.url}/api/now/attachment/${a.id}/file`);
    }
    // the instance answers at most 2 a page: 2 + 2 + 1, and the empty page that ends the listing
    const pages = requestsSince(start).map((r) => new URL(r.path, sn.url));
    expect(FAKE_ATTACHMENT_PAGE).toBe(2);
    expect(pages.map((p) => p.searchParams.get('sysparm_offset'))).toEqual(['0', '2', '4', '5']);
    expect(pages[0]!.searchParams.get('sysparm_query')).toBe(
      `table_name=sc_req_item^table_sys_id=${sysId}^ORDERBYsys_created_on`,
    );
    expect(await adapter().listAttachments(sn.put({ fields: ritm('RITM0010012') }))).toEqual([]);
  });

  it('downloads on the instance with credentials, and follows a redirect to the file host without them', async () => {
    const pfx = Buffer.from('pretend-pkcs12-bytes');
    const ca = Buffer.from('-----BEGIN CERTIFICATE-----\n');
    const sysId = sn.put({
      fields: ritm('RITM0010020'),
      attachments: [
        { file_name: 'client.pfx', bytes: pfx, redirect: true },
        { file_name: 'root.cer', bytes: ca },
      ],
    });
    const a = adapter();
    const [onFiles, onDesk] = await a.listAttachments(sysId);
    const start = sn.requests.length;
    expect(await a.download(onFiles!, 1024)).toEqual(pfx);
    expect(await a.download(onDesk!, 1024)).toEqual(ca);
    const seen = requestsSince(start);
    expect(seen.map((r) => [r.host, r.status])).toEqual([
      ['desk', 302],
      ['files', 200],
      ['desk', 200],
    ]);
    expect(seen[0]!.authorization).toMatch(/^Basic /);
    expect(seen[1]!.authorization).toBeUndefined();
  });

  it('stops a download past the byte cap, whatever size the listing said', async () => {
    const sysId = sn.put({
      fields: ritm('RITM0010021'),
      attachments: [
        { file_name: 'liar.pfx', bytes: Buffer.alloc(64 * 1024, 1), size: 10 },
        { file_name: 'far.pfx', bytes: Buffer.alloc(64 * 1024, 2), redirect: true },
      ],
    });
    const [liar, far] = await adapter().listAttachments(sysId);
    expect(liar!.size).toBe(10);
    for (const att of [liar!, far!]) {
      await expect(adapter().download(att, 1000)).rejects.toMatchObject({
        code: 'too_large',
        permanent: true,
      });
    }
  });

  it('waits out a 429 (Retry-After: 1) and then reads', async () => {
    const sysId = sn.put({ fields: ritm('RITM0010030') });
    sn.busy(`/api/now/table/sc_req_item/${sysId}`, 1);
    const start = sn.requests.length;
    expect((await adapter().readTicket(sysId)).ref).toBe('RITM0010030');
    expect(requestsSince(start).map((r) => r.status)).toEqual([429, 200]);
  });

  it('answers desk_refused with the status 401 for wrong credentials, naming neither user nor password', async () => {
    const sysId = sn.put({ fields: ritm('RITM0010040') });
    const wrong = adapter({ password: 'not-the-password' });
    const err = await wrong.readTicket(sysId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeskHttpError);
    expect(err).toMatchObject({ code: 'desk_refused', status: 401, permanent: true });
    expect((err as Error).message).not.toMatch(/not-the-password|certfleet\.integration/);
    await expect(
      adapter({ username: undefined, password: undefined, oauthToken: 'wrong' }).poll(),
    ).resolves.toEqual([]);
    await expect(
      adapter({
        username: undefined,
        password: undefined,
        oauthToken: 'wrong',
        poll: { query: 'active=true', intervalSeconds: 60 },
      }).poll(),
    ).rejects.toMatchObject({ code: 'desk_refused', status: 401 });
  });

  it('authenticates with an OAuth Bearer token instead', async () => {
    const sysId = sn.put({ fields: ritm('RITM0010050') });
    const start = sn.requests.length;
    const bearer = adapter({ username: undefined, password: undefined, oauthToken: sn.oauthToken });
    expect((await bearer.readTicket(sysId)).ref).toBe('RITM0010050');
    expect(requestsSince(start)[0]!.authorization).toBe(`Bearer ${sn.oauthToken}`);
  });

  it('writes work notes, with the state the job status maps to; replies as a comment; finds notes by marker', async () => {
    const sysId = sn.put({ fields: ritm('RITM0010060') });
    const a = adapter();
    const marker = '[certfleet mwyu1-0123456789abcdef:1:completed]';
    expect(await a.hasNote(sysId, marker)).toBe(false);
    await a.writeNote(sysId, 'certfleet received the request.');
    await a.writeNote(sysId, `Installed on acme-prd.\n\n${marker}`, 'completed');
    await a.writeNote(sysId, 'no mapped state for this one', 'partially_failed');
    await a.postReply(
      sysId,
      'Enter the PFX password here: https://certfleet.example/intake/x [certfleet reply]',
    );
    expect(sn.written(sysId)).toEqual([
      { work_notes: 'certfleet received the request.' },
      { work_notes: `Installed on acme-prd.\n\n${marker}`, state: '3' },
      { work_notes: 'no mapped state for this one' },
      { comments: 'Enter the PFX password here: https://certfleet.example/intake/x [certfleet reply]' },
    ]);
    expect(sn.record(sysId)?.['state']).toBe('3');
    expect(await a.hasNote(sysId, marker)).toBe(true);
    expect(await a.hasNote(sysId, '[certfleet mwyu1-0123456789abcdef:2:completed]')).toBe(false);
    // a customer-visible comment is no work note
    expect(await a.hasNote(sysId, '[certfleet reply]')).toBe(false);
    // another record's notes are not this one's
    expect(await a.hasNote(sn.put({ fields: ritm('RITM0010061') }), marker)).toBe(false);
    const lookup = sn.requests.filter((r) => r.path.startsWith('/api/now/table/sys_journal_field')).at(-1)!;
    const q = new URL(lookup.path, sn.url).searchParams;
    expect(q.get('sysparm_fields')).toBe('sys_id');
    expect(q.get('sysparm_limit')).toBe('1');
    const patches = sn.requests.filter((r) => r.method === 'PATCH' && r.path.includes(sysId));
    expect(patches.every((r) => r.status === 200)).toBe(true);
  });

  it('refuses a ticket id that is no sys_id and a marker holding ^ before sending anything', async () => {
    const start = sn.requests.length;
    await expect(adapter().readTicket('abc^ORactive=true')).rejects.toMatchObject({ code: 'desk_refused' });
    await expect(adapter().listAttachments('x')).rejects.toMatchObject({ code: 'desk_refused' });
    await expect(adapter().hasNote('0'.repeat(32), '[a^b]')).rejects.toMatchObject({ code: 'desk_refused' });
    expect(requestsSince(start)).toEqual([]);
  });

  it('polls the queue its encoded query selects, at its interval', async () => {
    const query = 'active=true^approval=approved^short_description=Poll me';
    const ready = [
      sn.put({ fields: ritm('RITM0010070', { short_description: 'Poll me' }), approval: 'approved' }),
      sn.put({ fields: ritm('RITM0010071', { short_description: 'Poll me' }), approval: 'approved' }),
    ];
    sn.put({ fields: ritm('RITM0010072', { short_description: 'Poll me' }), approval: 'requested' });
    sn.put({
      fields: ritm('RITM0010073', { short_description: 'Poll me', active: 'false' }),
      approval: 'approved',
    });
    const polling = adapter({ poll: { query, intervalSeconds: 300 } });
    expect(polling.pollEverySeconds).toBe(300);
    expect(adapter().pollEverySeconds).toBeUndefined();
    const start = sn.requests.length;
    expect((await polling.poll()).sort()).toEqual([...ready].sort());
    const asked = new URL(requestsSince(start)[0]!.path, sn.url);
    expect(asked.pathname).toBe('/api/now/table/sc_req_item');
    expect(asked.searchParams.get('sysparm_query')).toBe(query);
    expect(asked.searchParams.get('sysparm_fields')).toBe('sys_id');
    expect(asked.searchParams.get('sysparm_limit')).toBe('100');
  });

  describe('the doorbell the fake rings, as the Business Rule does', () => {
    let server: Server;
    let certfleetUrl = '';
    const verifier = adapter;

    beforeAll(async () => {
      // a stand-in for certfleet's route: the adapter's verdict, the password only said to be there
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const bell = verifier().verify({
            headers: req.headers,
            rawBody: Buffer.concat(chunks),
            now: Date.now(),
          });
          res.writeHead(bell.ok ? 202 : 401, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify(
              bell.ok
                ? {
                    url: req.url,
                    ticketId: bell.ticketId,
                    deliveryId: bell.deliveryId,
                    password: bell.password,
                  }
                : { reason: bell.reason },
            ),
          );
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      certfleetUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      server?.closeAllConnections();
      await new Promise((r) => server?.close(r));
    });

    it('is accepted signed in base64 or hex, with the password and the sys_id-mod_count delivery id', async () => {
      const sysId = sn.put({ fields: ritm('RITM0010080') });
      const b64 = await sn.ring(certfleetUrl, 'itsm', sysId, { password: 'pfx pass' });
      expect(b64).toEqual({
        status: 202,
        body: {
          url: '/v1/adapters/servicenow/itsm',
          ticketId: sysId,
          deliveryId: `${sysId}-0`,
          password: 'pfx pass',
        },
      });
      await adapter().writeNote(sysId, 'a note moves sys_mod_count on');
      const hex = await sn.ring(certfleetUrl, 'itsm', sysId, { encoding: 'hex' });
      expect(hex.body).toMatchObject({ ticketId: sysId, deliveryId: `${sysId}-1` });
      expect(hex.body['password']).toBeUndefined();
      const hashed = await sn.ring(certfleetUrl, 'itsm', sysId, { delivery: false });
      expect(hashed.body['deliveryId']).toMatch(/^[0-9a-f]{40}$/);
    });

    it('is refused with another secret or a stale time', async () => {
      const sysId = sn.put({ fields: ritm('RITM0010081') });
      expect(await sn.ring(certfleetUrl, 'itsm', sysId, { secret: 'not-the-secret' })).toEqual({
        status: 401,
        body: { reason: 'signature does not match' },
      });
      const stale = await sn.ring(certfleetUrl, 'itsm', sysId, { at: new Date(Date.now() - 301_000) });
      expect(stale.status).toBe(401);
    });
  });
});
