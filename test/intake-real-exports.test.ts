/**
 * PFX files as real tools export them, through POST /v1/jobs with real Redis: the kinds that
 * used to be refused although valid (no password, self-signed, zero padding) are accepted and
 * installed on real sshd front-ends in a form the hosts read; the others are refused with
 * their real cause and a fix that works.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS_PASSWORD, makeCorpus, type Corpus } from './fixtures/corpus.js';
import {
  gostKeyPfx,
  keytoolIterationsPfx,
  latin1PasswordPfx,
  noPasswordPfx,
  opensslTestIterationsPfx,
  paddedPfx,
  pbmac1Pfx,
  separateKeyPasswordPfx,
} from './fixtures/real-exports.js';
import { startStack, type Stack, fleetEnvironments, startFleet, type Fleet } from '@certfleet/test-kit';

const run = promisify(execFile);

describe('intake of real exports through the API', () => {
  let fleet: Fleet;
  let stack: Stack;
  let corpus: Corpus;
  let work: string;
  let ticket = 0;

  beforeAll(async () => {
    [corpus, fleet] = await Promise.all([makeCorpus(), startFleet({ count: 2 })]);
    work = await mkdtemp(path.join(tmpdir(), 'intake-real-'));
    // the default KDF budget: the Java keytool and OpenSSL test iteration counts must pass it
    stack = await startStack({
      environments: fleetEnvironments(fleet, { 'acme-prd': fleet.hosts.length }),
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await fleet?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A submit body for `pfx`; `password` is left out when undefined. */
  function body(pfx: Buffer, password: string | undefined, extra: Record<string, unknown> = {}) {
    ticket += 1;
    return {
      ticket: `CASE-REAL-${ticket}`,
      name: `real-${ticket}`,
      environments: ['acme-prd'],
      pfx: pfx.toString('base64'),
      ...(password === undefined ? {} : { password }),
      ...extra,
    };
  }

  /** Submits, approves and waits; returns the job and each host's install directory listing. */
  async function install(sent: ReturnType<typeof body>) {
    const res = await stack.request('alice', 'POST', '/v1/jobs', sent);
    expect(res.status).toBe(201);
    expect((await stack.request('bob', 'POST', `/v1/jobs/${res.body.id}/approve`)).status).toBe(202);
    const final = await stack.waitForJob(res.body.id);
    expect(final.status).toBe('completed');
    return res.body;
  }

  /** The installed file on every host, opened by openssl with exactly `password`. */
  async function installedOpens(name: string, password: string): Promise<Buffer[]> {
    const files: Buffer[] = [];
    for (const host of fleet.hosts) {
      const installed = await readFile(path.join(host.dir, `${name}.pfx`));
      const file = path.join(work, `${name}.pfx`);
      await writeFile(file, installed);
      await run('openssl', [
        'pkcs12',
        '-info',
        '-noout',
        '-nokeys',
        '-in',
        file,
        '-passin',
        `pass:${password}`,
      ]);
      files.push(installed);
    }
    return files;
  }

  it('installs a PFX made with no password (NULL form), sent without a password field, for ""', async () => {
    const sent = body(noPasswordPfx(corpus, 'null'), undefined);
    const job = await install(sent);
    expect(job.certificate.emptyPassword).toEqual({ submitted: 'null', installed: 'empty' });
    expect(job.certificate.normalized).toBe(true);
    expect(job.certificate.warnings).toContainEqual(expect.stringContaining('no password'));
    for (const installed of await installedOpens(sent.name, '')) {
      expect(installed.equals(noPasswordPfx(corpus, 'null'))).toBe(false);
    }
  });

  it('installs a no-password file sent with password "" as it is when already in the empty form', async () => {
    const pfx = corpus.file('nopass.pfx');
    const sent = body(pfx, '');
    const job = await install(sent);
    expect(job.certificate.emptyPassword).toEqual({ submitted: 'empty', installed: 'empty' });
    expect(job.certificate.normalized).toBe(false);
    for (const installed of await installedOpens(sent.name, '')) expect(installed.equals(pfx)).toBe(true);
  });

  it('installs a self-signed client certificate alone, with the warning, and no CA files', async () => {
    const sent = body(corpus.file('selfsigned.pfx'), corpus.password);
    const job = await install(sent);
    expect(job.certificate.chain).toEqual(['CN=Corpus Self-Signed Client, O=Certfleet Corpus']);
    expect(job.certificate.warnings).toContainEqual(expect.stringContaining('self-signed'));
    await installedOpens(sent.name, corpus.password);
    for (const host of fleet.hosts) {
      expect((await readdir(host.dir)).filter((file) => file.startsWith(`${sent.name}.`))).toEqual([
        `${sent.name}.pfx`,
      ]);
    }
  });

  it('installs a zero-padded file without its padding', async () => {
    const good = corpus.file('3des.pfx');
    const sent = body(paddedPfx(good, 16), corpus.password);
    const job = await install(sent);
    expect(job.certificate.normalized).toBe(true);
    expect(job.certificate.warnings).toContainEqual(expect.stringContaining('16 zero bytes'));
    for (const installed of await installedOpens(sent.name, corpus.password)) {
      expect(installed.equals(good)).toBe(true);
    }
  });

  it('accepts the iteration counts of Java keytool and of OpenSSL test exports, and an ISO-8859-1 password', async () => {
    for (const pfx of [keytoolIterationsPfx(corpus), opensslTestIterationsPfx(corpus)]) {
      const res = await stack.request('alice', 'POST', '/v1/jobs', body(pfx, corpus.password));
      expect(res.status).toBe(201);
      expect(res.body.certificate.normalizedFrom.iterations).toBeGreaterThanOrEqual(100_000);
    }
    const latin1 = 'Pässwörd-Ünïcode';
    const res = await stack.request(
      'alice',
      'POST',
      '/v1/jobs',
      body(latin1PasswordPfx(corpus, latin1), latin1),
    );
    expect(res.status).toBe(201);
    expect(res.body.certificate.warnings).toContainEqual(expect.stringContaining('ISO-8859-1'));
  });

  const refusals: [string, () => Buffer, string | undefined, string, RegExp, RegExp][] = [
    [
      'a password sent for a file without one',
      () => noPasswordPfx(corpus),
      'guess',
      'pfx_bad_password',
      /has no password/,
      /case-sensitive/,
    ],
    [
      'no password for a file that has one',
      () => corpus.file('3des.pfx'),
      undefined,
      'pfx_bad_password',
      /protected with a password/,
      /case-sensitive/,
    ],
    [
      'a key with its own password (keytool -keypass)',
      () => separateKeyPasswordPfx(corpus, 'key-only'),
      CORPUS_PASSWORD,
      'pfx_bad_password',
      /-keypass/,
      /damaged/,
    ],
    [
      'PBMAC1',
      () => pbmac1Pfx(corpus),
      CORPUS_PASSWORD,
      'pfx_unsupported_encryption',
      /-nomacver.*3\.4|3\.4.*-nomacver/,
      /^$/,
    ],
    [
      'a GOST key',
      () => gostKeyPfx(corpus),
      CORPUS_PASSWORD,
      'pfx_unreadable',
      /GOST R 34\.10-2012/,
      /base64/,
    ],
    [
      'CAs that sign each other',
      () => corpus.file('cycle.pfx'),
      CORPUS_PASSWORD,
      'chain_incomplete',
      /loops/,
      /did not sign/,
    ],
    [
      'data after the end that is not padding',
      () => Buffer.concat([corpus.file('3des.pfx'), corpus.file('leaf.pem')]),
      CORPUS_PASSWORD,
      'pfx_unreadable',
      /after its end.*PEM text/,
      /base64-encoded once/,
    ],
    [
      '10 million iterations under the default budget',
      () => corpus.file('iter.pfx'),
      CORPUS_PASSWORD,
      'pfx_kdf_too_expensive',
      /FLEET_MAX_KDF_ITERATIONS/,
      /^$/,
    ],
  ];

  it.each(refusals)('refuses %s with its real cause', async (_what, pfx, password, code, says, never) => {
    const res = await stack.request('alice', 'POST', '/v1/jobs', body(pfx(), password));
    expect(res.status).toBe(422);
    expect(res.body.error).toBe(code);
    expect(res.body.message).toMatch(says);
    expect(res.body.message).not.toMatch(never);
    if (password) expect(res.body.message).not.toContain(password);
  });
});
