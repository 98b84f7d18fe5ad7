/**
 * The API answers exactly the wire contract: every job, list, environment and
 * audit answer validates against @certfleet/contract's schemas, which refuse any
 * field they do not define, and the optional fields intake produces
 * (normalizedFrom, emptyPassword, a rejection) survive the exact response schemas.
 */
import { AuditList, EnvironmentList, Job, JobList } from '@certfleet/contract';
import { apiClient, type ApiClient } from '@certfleet/test-kit';
import type { TSchema } from 'typebox';
import Value from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCorpus, type Corpus } from './fixtures/corpus.js';
import { startApiServer, type ApiServer } from './support/api-server.js';

/** TypeBox's errors for `value`: an empty list when it is exactly the contract's. */
const errorsOf = (schema: TSchema, value: unknown) => [...Value.Errors(schema, value)];

describe('the API answers in the wire contract, exactly', () => {
  let api: ApiServer;
  let client: ApiClient;
  let corpus: Corpus;

  beforeAll(async () => {
    corpus = await makeCorpus();
    api = await startApiServer();
    client = apiClient(api.url, api.tokens);
  }, 180_000);

  afterAll(async () => {
    await api?.stop();
  });

  async function submit(file: string, name: string, password = corpus.password) {
    const res = await client.request('alice', 'POST', '/v1/jobs', {
      ticket: 'CASE-1',
      name,
      environments: ['http-prd'],
      pfx: corpus.file(file).toString('base64'),
      password,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as Job;
  }

  it('answers a submitted job as the contract’s Job, and GET answers the same', async () => {
    const job = await submit('3des.pfx', 'wire-3des');
    expect(errorsOf(Job, job)).toEqual([]);
    expect(job.targets).toHaveLength(1);
    expect((await client.request('bob', 'GET', `/v1/jobs/${job.id}`)).body).toEqual(job);
  });

  it('keeps normalizedFrom of a re-encoded PFX and emptyPassword of one without password', async () => {
    const aes = await submit('aes.pfx', 'wire-aes');
    expect(errorsOf(Job, aes)).toEqual([]);
    expect(aes.certificate).toMatchObject({ normalized: true, normalizedFrom: { key: 'aes-256-cbc' } });
    const nopass = await submit('nopass.pfx', 'wire-nopass', '');
    expect(errorsOf(Job, nopass)).toEqual([]);
    expect(nopass.certificate.emptyPassword).toMatchObject({ installed: 'empty' });
  });

  it('answers a rejected job, the job list, the environments and the audit trail in the contract', async () => {
    const job = await submit('3des.pfx', 'wire-rejected');
    const rejected = await client.request('bob', 'POST', `/v1/jobs/${job.id}/reject`, {
      reason: 'not today',
    });
    expect(rejected.status).toBe(200);
    expect(errorsOf(Job, rejected.body)).toEqual([]);
    expect(rejected.body).toMatchObject({ status: 'rejected', rejectedBy: 'bob', rejectReason: 'not today' });

    const list = await client.request('bob', 'GET', '/v1/jobs?ticket=CASE-1');
    expect(errorsOf(JobList, list.body)).toEqual([]);
    expect((list.body as JobList).items.length).toBeGreaterThanOrEqual(4);

    const environments = await client.request('bob', 'GET', '/v1/environments');
    expect(errorsOf(EnvironmentList, environments.body)).toEqual([]);

    const audit = await client.request('bob', 'GET', `/v1/audit?job=${job.id}`);
    expect(errorsOf(AuditList, audit.body)).toEqual([]);
    expect((audit.body as AuditList).items.map((e) => e.action)).toContain('reject');
  });
});
