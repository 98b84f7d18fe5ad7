/**
 * Certificate intake through POST /v1/jobs: every refusal answers its status and
 * code and leaves nothing behind; an OpenSSL 3 AES file installs on real
 * front-ends as TripleDES-SHA1; a costly PFX does not stall the API.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { createRedis, QueueName } from '@certfleet/jobs';
import { keyPrefix } from '@certfleet/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCorpus, type Corpus } from './fixtures/corpus.js';
import { startStack, type Stack, fleetEnvironments, startFleet, type Fleet } from '@certfleet/test-kit';

const run = promisify(execFile);

describe('certificate intake through the API', () => {
  let fleet: Fleet;
  let stack: Stack;
  let corpus: Corpus;
  let ticket = 0;

  beforeAll(async () => {
    [corpus, fleet] = await Promise.all([makeCorpus(), startFleet({ count: 2 })]);
    stack = await startStack({
      environments: fleetEnvironments(fleet, { 'acme-prd': fleet.hosts.length }),
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
      // iter-aes (2 × 200 000 PBKDF2-SHA256 iterations, 2.4 M units) is accepted here: it is the costly inspection below.
      env: { FLEET_MAX_PFX_BYTES: String(64 * 1024), FLEET_MAX_KDF_ITERATIONS: '3000000' },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await fleet?.stop();
  });

  function body(file: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    ticket += 1;
    return {
      ticket: `CASE-INTAKE-${ticket}`,
      name: 'intake-client',
      environments: ['acme-prd'],
      pfx: corpus.file(file).toString('base64'),
      password: corpus.password,
      ...overrides,
    };
  }

  async function queued(): Promise<number> {
    const redis = createRedis(stack.config.redisUrl);
    const queue = new Queue(QueueName.InstallTarget, {
      connection: redis,
      prefix: keyPrefix(stack.config.prefix),
    });
    try {
      const counts = await queue.getJobCounts(
        'waiting',
        'delayed',
        'active',
        'prioritized',
        'waiting-children',
      );
      return Object.values(counts).reduce((a, b) => a + b, 0);
    } finally {
      await queue.close();
      redis.disconnect();
    }
  }

  const refusals: [string, string, Record<string, unknown>, number, string, RegExp][] = [
    [
      'not PKCS#12',
      '3des.pfx',
      { pfx: Buffer.from('not a pfx at all').toString('base64') },
      422,
      'pfx_unreadable',
      /PKCS#12/i,
    ],
    ['a wrong password', '3des.pfx', { password: 'wrong' }, 422, 'pfx_bad_password', /password/i],
    ['RC4', 'rc4.pfx', {}, 422, 'pfx_unsupported_encryption', /rc4/i],
    ['RC2-128', 'rc2-128.pfx', {}, 422, 'pfx_unsupported_encryption', /rc2/i],
    [
      'AES with normalize: false',
      'aes.pfx',
      { normalize: false },
      422,
      'pfx_unsupported_encryption',
      /openssl pkcs12 -export -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1/,
    ],
    ['10 million KDF iterations', 'iter.pfx', {}, 422, 'pfx_kdf_too_expensive', /iteration/i],
    ['no private key', 'nokey.pfx', {}, 422, 'pfx_no_private_key', /key/i],
    ['two private keys', 'twokeys.pfx', {}, 422, 'pfx_multiple_keys', /key/i],
    ['a key that is not the certificate’s', 'mismatch.pfx', {}, 422, 'pfx_key_mismatch', /key/i],
    ['an expired certificate', 'expired.pfx', {}, 422, 'cert_expired', /expired/i],
    ['a certificate not yet valid', 'notyet.pfx', {}, 422, 'cert_not_yet_valid', /valid/i],
    ['serverAuth only', 'server.pfx', {}, 422, 'cert_not_client_auth', /clientAuth/i],
    ['a chain without its root', 'nochain.pfx', {}, 422, 'chain_incomplete', /Corpus Root/i],
    [
      'a CA file that is neither DER nor PEM',
      '3des.pfx',
      { caCertificates: ['bm90IGEgY2VydA=='] },
      422,
      'ca_unreadable',
      /1/,
    ],
    [
      'a request larger than the PFX limit allows',
      '3des.pfx',
      { pfx: Buffer.alloc(700 * 1024, 1).toString('base64') },
      413,
      'payload_too_large',
      /bytes/,
    ],
    // The first failing check answers: the password is checked before validity.
    [
      'an expired certificate with a wrong password',
      'expired.pfx',
      { password: 'wrong' },
      422,
      'pfx_bad_password',
      /password/i,
    ],
  ];

  it.each(refusals)(
    'refuses %s with its code, and nothing is stored or queued',
    async (_what, file, overrides, status, code, message) => {
      const sent = body(file, overrides);
      const res = await stack.request('alice', 'POST', '/v1/jobs', sent);
      expect(res.status).toBe(status);
      expect(res.body.error).toBe(code);
      expect(res.body.message).toMatch(message);
      expect(res.body.message).not.toContain(corpus.password);
      const listed = await stack.request('alice', 'GET', `/v1/jobs?ticket=${sent['ticket'] as string}`);
      expect(listed.body.items).toEqual([]);
      expect(await queued()).toBe(0);
    },
  );

  it('completes a chain with the root supplied as DER or as PEM', async () => {
    for (const ca of [corpus.file('root.der').toString('base64'), corpus.text('root.pem')]) {
      const res = await stack.request(
        'alice',
        'POST',
        '/v1/jobs',
        body('nochain.pfx', { caCertificates: [ca] }),
      );
      expect(res.status).toBe(201);
      expect(res.body.certificate.chain).toHaveLength(3);
      await stack.request('alice', 'POST', `/v1/jobs/${res.body.id}/reject`, { reason: 'test' });
    }
  });

  it('installs an OpenSSL 3 AES file on the front-ends as TripleDES-SHA1', async () => {
    const res = await stack.request('alice', 'POST', '/v1/jobs', body('aes.pfx'));
    expect(res.status).toBe(201);
    expect(res.body.certificate.normalized).toBe(true);
    expect(res.body.certificate.normalizedFrom.key).toMatch(/aes-256/);
    expect(res.body.certificate.pfxEncryption).toMatchObject({ key: '3des', mac: 'sha1' });
    expect((await stack.request('bob', 'POST', `/v1/jobs/${res.body.id}/approve`)).status).toBe(202);
    const final = await stack.waitForJob(res.body.id);
    expect(final.status).toBe('completed');

    const dir = await mkdtemp(path.join(tmpdir(), 'intake-'));
    try {
      for (const host of fleet.hosts) {
        const installed = await readFile(path.join(host.dir, 'intake-client.pfx'));
        expect(installed.equals(corpus.file('aes.pfx'))).toBe(false);
        const file = path.join(dir, 'installed.pfx');
        await writeFile(file, installed);
        const { stderr } = await run('openssl', [
          'pkcs12',
          '-info',
          '-noout',
          '-in',
          file,
          '-passin',
          `pass:${corpus.password}`,
        ]);
        expect(stderr).toContain('MAC: sha1');
        expect(stderr).toMatch(/pbeWithSHA1And3-KeyTripleDES-CBC/);
        expect(stderr).not.toMatch(/AES|PBES2/);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps answering /healthz while a costly PFX is inspected', async () => {
    // iter-aes costs seconds of key derivation (200 000 PBKDF2 iterations), all off the event loop.
    const latencies: number[] = [];
    let done = false;
    const submit = stack
      .request('alice', 'POST', '/v1/jobs', body('iter-aes.pfx', { caCertificates: [] }))
      .finally(() => {
        done = true;
      });
    const probe = async (): Promise<void> => {
      while (!done) {
        const started = performance.now();
        const res = await fetch(`${stack.url}/healthz`);
        await res.arrayBuffer();
        latencies.push(performance.now() - started);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const [res] = await Promise.all([submit, probe()]);
    expect(res.status).toBe(201);
    // Many probes were answered during the inspection: the event loop stayed free (a blocked
    // loop answers none until the inspection ends). No latency bound: the CPU is shared.
    expect(latencies.length).toBeGreaterThan(10);
    // The 10-million-iteration file is refused before any derivation, also while probing.
    const heavy = await stack.request('alice', 'POST', '/v1/jobs', body('iter.pfx'));
    expect(heavy.body.error).toBe('pfx_kdf_too_expensive');
    const health = await fetch(`${stack.url}/healthz`);
    expect(health.status).toBe(200);
  });
});
