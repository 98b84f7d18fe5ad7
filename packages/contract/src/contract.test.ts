import { Type } from 'typebox';
import Value from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { installed, makeJob, makeTarget } from '../../cli/test/fixtures/job-fixture.js';
import { firstErrorLine, Job, JobList, type SchemaErrorLike } from './index.js';

/** A job as the API returns it at the end of a Windows round that kept a bound certificate. */
function windowsJob(): Job {
  const target = installed(
    makeTarget('acme-prd', 'fe-1', { path: 'D:\\Certificates\\acme-payments-client.pfx' }),
  );
  return makeJob({
    status: 'partially_failed',
    source: 'webhook',
    approvedBy: 'bob',
    round: 2,
    notify: {
      webhookUrl: 'https://hooks.example/x',
      callbackUrl: 'https://desk.example/cb',
      email: ['ops@example.com'],
    },
    targets: [
      {
        ...target,
        round: 2,
        thumbprint: 'AB'.repeat(20),
        store: 'LocalMachine\\My',
        keyProvider: 'Microsoft Software Key Storage Provider',
        kept: ['the superseded certificate: IIS binds it'],
      },
      {
        ...makeTarget('acme-prd', 'fe-2'),
        status: 'failed',
        attempts: 5,
        round: 2,
        error: { code: 'secret_expired', message: 'the secret expired; submit it again' },
      },
    ],
  });
}

describe('the contract’s Job is exactly what the API returns', () => {
  it('accepts the jobs of the CLI’s fixtures, pending and finished', () => {
    expect([...Value.Errors(Job, makeJob())]).toEqual([]);
    expect([...Value.Errors(Job, windowsJob())]).toEqual([]);
    expect(Value.Check(JobList, { items: [makeJob(), windowsJob()], nextCursor: null })).toBe(true);
  });

  it('accepts a normalised certificate and one without password', () => {
    const job = makeJob();
    const certificate = {
      ...job.certificate,
      normalized: true,
      normalizedFrom: { key: 'aes-256-cbc', certificates: 'aes-256-cbc', mac: 'sha256', iterations: 2048 },
      emptyPassword: { submitted: 'null', installed: 'empty' },
    };
    expect([...Value.Errors(Job, { ...job, certificate })]).toEqual([]);
  });

  it('refuses a field it does not define, so drift cannot hide', () => {
    expect(Value.Check(Job, { ...makeJob(), colour: 'blue' })).toBe(false);
    const target = { ...makeTarget('acme-prd', 'fe-1'), extra: 1 };
    expect(Value.Check(Job, makeJob({ targets: [target] }))).toBe(false);
  });

  it('refuses a target error code outside the one list', () => {
    const target = makeTarget('acme-prd', 'fe-1', { status: 'failed' });
    const failed = { ...target, error: { code: 'exploded', message: 'x' } };
    expect(Value.Check(Job, makeJob({ targets: [failed as never] }))).toBe(false);
  });
});

describe('the first schema error is told in one line', () => {
  const Schema = Type.Object(
    {
      environments: Type.Array(
        Type.Object(
          {
            name: Type.String({ pattern: '^[a-z]+$' }),
            hostKey: Type.Optional(Type.String({ pattern: '^ssh-' })),
          },
          { additionalProperties: false },
        ),
      ),
    },
    { additionalProperties: false },
  );
  const line = (value: unknown, options?: Parameters<typeof firstErrorLine>[1]): string =>
    firstErrorLine(Value.Errors(Schema, value), options);

  it('names unknown fields, all of them, and not TypeBox’s per-field `schema is false`', () => {
    expect(line({ environments: [{ name: 'a', colour: 'blue', size: 1 }] })).toBe(
      "environments[0]: unknown field 'colour', 'size'",
    );
  });

  it('names a missing field, and the top level as such', () => {
    expect(line({ environments: [{}] })).toBe("environments[0]: missing 'name'");
    expect(line({})).toBe("(top level): missing 'environments'");
    expect(line({}, { root: 'body' })).toBe("body: missing 'environments'");
  });

  it('keeps the schema’s message unless the caller explains the field better', () => {
    const bad = { environments: [{ name: 'a' }, { name: 'b', hostKey: 'trust-me' }] };
    expect(line(bad)).toBe('environments[1].hostKey: must match pattern "^ssh-"');
    const explain = (field: string) =>
      field.endsWith('.hostKey') ? 'must be an OpenSSH public key line' : undefined;
    expect(line(bad, { explain })).toBe('environments[1].hostKey: must be an OpenSSH public key line');
  });

  it('reads Ajv’s errors (fastify’s request validation) the same way', () => {
    const ajv = (error: SchemaErrorLike) => firstErrorLine([error], { root: 'body' });
    expect(
      ajv({
        keyword: 'additionalProperties',
        instancePath: '',
        params: { additionalProperty: 'extra' },
        message: 'must NOT have additional properties',
      }),
    ).toBe("body: unknown field 'extra'");
    expect(ajv({ keyword: 'required', instancePath: '/notify', params: { missingProperty: 'email' } })).toBe(
      "notify: missing 'email'",
    );
    expect(
      ajv({
        keyword: 'pattern',
        instancePath: '/environments/0',
        params: {},
        message: 'must match pattern "^x$"',
      }),
    ).toBe('environments[0]: must match pattern "^x$"');
  });
});
