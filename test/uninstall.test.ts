/**
 * Uninstall against real parts: two real sshd front-ends, real Redis and BullMQ, the
 * whole stack in-process. Two certificates are installed in one environment and a stray
 * file sits beside them; one certificate is then uninstalled. What is left on each host is
 * read from that host's own disk.
 */
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createRedis, type RedisClient } from '@certfleet/jobs';
import { FleetStore } from '@certfleet/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  fleetEnvironments,
  installJob,
  startFleet,
  startStack,
  type Fleet,
  type Stack,
} from '@certfleet/test-kit';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const ENV = 'un-prd';
const ROUTE = (name: string): string => `/v1/environments/${ENV}/certificates/${name}/uninstall`;

describe('uninstall: an approved job removes one certificate from every front-end of an environment', () => {
  let fleet: Fleet;
  let stack: Stack;
  let redis: RedisClient;
  let store: FleetStore;
  let gone: DemoCertificates;
  let stays: DemoCertificates;
  let submitted: Json;
  let finished: Json;

  const listing = async (host: number): Promise<string[]> => (await readdir(fleet.hosts[host]!.dir)).sort();

  beforeAll(async () => {
    fleet = await startFleet({ count: 2 });
    gone = makeDemoCertificates('un-gone');
    stays = makeDemoCertificates('un-stays');
    stack = await startStack({
      environments: fleetEnvironments(fleet, { [ENV]: fleet.hosts.length }),
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
      env: { FLEET_RECONCILE_INTERVAL: '24h' },
    });
    redis = createRedis(stack.config.redisUrl);
    store = new FleetStore(redis, { prefix: stack.config.prefix, masterKey: stack.config.masterKey! });
    // `acme` and `acme-2`: one name is the start of the other, and only the first goes
    for (const [name, cert] of [
      ['acme', gone],
      ['acme-2', stays],
    ] as const) {
      const job = await installJob(stack, {
        ticket: `UN-${name}`,
        name,
        environments: [ENV],
        pfx: cert.pfx,
        password: cert.password,
        caCertificates: [cert.caPem],
      });
      expect(job.status, JSON.stringify(job.targets)).toBe('completed');
    }
    for (const host of fleet.hosts) await writeFile(path.join(host.dir, 'acme.pfx.notes.txt'), 'not ours');
    submitted = (await stack.request('alice', 'POST', ROUTE('acme'))).body;
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
    await fleet?.stop();
  });

  it('answers 201 with a job pending approval whose action is uninstall, one target per front-end', () => {
    expect(submitted).toMatchObject({
      status: 'pending_approval',
      action: 'uninstall',
      name: 'acme',
      environments: [ENV],
      submittedBy: 'alice',
    });
    expect(submitted.targets.map((t: Json) => t.id)).toEqual([`${ENV}/fe-1`, `${ENV}/fe-2`]);
  });

  it('refuses a second uninstall while the first is open (409), and its submitter may not approve it', async () => {
    const again = await stack.request('alice', 'POST', ROUTE('acme'));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'conflict' });
    expect(again.body.message).toContain(submitted.id);
    const self = await stack.request('alice', 'POST', `/v1/jobs/${submitted.id}/approve`);
    expect(self.status).toBe(409);
    expect(self.body.error).toBe('self_approval');
  });

  it('removes exactly the files of that name on every host and nothing else in the directory', async () => {
    const approved = await stack.request('bob', 'POST', `/v1/jobs/${submitted.id}/approve`);
    expect(approved.status, JSON.stringify(approved.body)).toBe(202);
    finished = await stack.waitForJob(submitted.id);
    expect(finished.status, JSON.stringify(finished.targets)).toBe('completed');
    for (const host of [0, 1]) {
      expect(await listing(host)).toEqual(['acme-2.ca1.cer', 'acme-2.pfx', 'acme.pfx.notes.txt']);
    }
  });

  it('lists what was removed per host in GET /v1/jobs/:id', () => {
    for (const t of finished.targets as Json[]) {
      expect(t).toMatchObject({ status: 'installed', unchanged: false });
      expect(t.removed).toEqual([
        `file:${fleet.installDir}/acme.pfx`,
        `file:${fleet.installDir}/acme.ca1.cer`,
      ]);
    }
  });

  it('forgets the certificate: registry entry, retained secret and installed-hosts records are gone; the other stays', async () => {
    expect(await store.registry.get(ENV, 'acme')).toBeUndefined();
    expect(await store.retained.has(ENV, 'acme')).toBe(false);
    expect((await store.installedHosts.list(ENV)).filter((i) => i.name === 'acme')).toEqual([]);
    expect(await store.registry.get(ENV, 'acme-2')).toBeDefined();
    expect(await store.retained.has(ENV, 'acme-2')).toBe(true);
    const envs = await stack.request('alice', 'GET', '/v1/environments');
    const certs = envs.body.find((e: Json) => e.name === ENV).certificates.map((c: Json) => c.name);
    expect(certs).toEqual(['acme-2']);
  });

  it('answers a second uninstall after the first finished with 404, and touches no host', async () => {
    const before = await Promise.all([listing(0), listing(1)]);
    const again = await stack.request('alice', 'POST', ROUTE('acme'));
    expect(again.status).toBe(404);
    expect(again.body).toMatchObject({ error: 'not_found' });
    expect(again.body.message).toMatch(/no certificate named 'acme'/);
    expect(await Promise.all([listing(0), listing(1)])).toEqual(before);
  });

  it('answers 404 for an unknown environment or certificate, 403 for an approver alone', async () => {
    expect(
      (await stack.request('alice', 'POST', '/v1/environments/nope/certificates/acme/uninstall')).status,
    ).toBe(404);
    expect((await stack.request('alice', 'POST', ROUTE('never-installed'))).status).toBe(404);
    expect((await stack.request('bob', 'POST', ROUTE('acme-2'))).status).toBe(403);
  });

  it('records the uninstall in the audit trail: submit, approve, each host, the certificate removed', async () => {
    const audit = await stack.request('bob', 'GET', `/v1/audit?job=${submitted.id}`);
    const actions = (audit.body.items as Json[]).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'submit',
        'approve',
        'target.uninstalled',
        'certificate.removed',
        'job.completed',
      ]),
    );
  });

  it('finds a host where the files are already gone installed with unchanged: true', async () => {
    // acme-2 leaves fe-1 by hand first: the uninstall has nothing left to do there
    const { rm } = await import('node:fs/promises');
    for (const f of ['acme-2.pfx', 'acme-2.ca1.cer']) await rm(path.join(fleet.hosts[0]!.dir, f));
    const job = (await stack.request('alice', 'POST', ROUTE('acme-2'))).body;
    expect((await stack.request('bob', 'POST', `/v1/jobs/${job.id}/approve`)).status).toBe(202);
    const done = await stack.waitForJob(job.id);
    expect(done.status).toBe('completed');
    const [fe1, fe2] = done.targets as Json[];
    expect(fe1).toMatchObject({ status: 'installed', unchanged: true, removed: [] });
    expect(fe2).toMatchObject({ status: 'installed', unchanged: false });
    expect(await listing(1)).toEqual(['acme.pfx.notes.txt']);
  });
});
