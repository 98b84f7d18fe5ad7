/**
 * The kinds of real export that intake now accepts (no password, self-signed, zero padding),
 * installed on Windows front-ends through the API: in-process hosts that answer as Windows
 * OpenSSH does and run the real install script under pwsh through its Windows-only seams.
 * What only a Windows Server can show is listed in the README (Windows front-ends).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCorpus, type Corpus } from './fixtures/corpus.js';
import { noPasswordPfx, paddedPfx } from './fixtures/real-exports.js';
import {
  startStack,
  type Stack,
  generateClientKeyPair,
  startInProcessHost,
  type InProcessHost,
} from '@certfleet/test-kit';

const thumbprintOf = (der: Buffer): string => createHash('sha1').update(der).digest('hex').toUpperCase();

describe('real exports on Windows front-ends, run by the real install script', () => {
  let host: InProcessHost;
  let stack: Stack;
  let corpus: Corpus;
  let keyDir: string;
  let ticket = 0;

  beforeAll(async () => {
    const client = generateClientKeyPair();
    keyDir = await mkdtemp(path.join(tmpdir(), 'win-real-'));
    const keyPath = path.join(keyDir, 'id_ed25519');
    await writeFile(keyPath, client.privateKey, { mode: 0o600 });
    [corpus, host] = await Promise.all([
      makeCorpus(),
      startInProcessHost({
        flavour: 'windows',
        clientPublicKey: client.publicKey,
        address: '127.0.32.1',
        username: 'certfleet',
      }),
    ]);
    stack = await startStack({
      environments: [
        {
          name: 'acme-prd',
          platform: 'windows',
          installDir: 'D:\\Certificates',
          hosts: [{ name: 'fe-1', address: host.address, port: host.port, hostKeyLine: host.hostKeyLine }],
        },
      ],
      username: 'certfleet',
      privateKeyPath: keyPath,
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await host?.stop();
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
  });

  /** Submits `pfx` (without a password field when `password` is undefined), approves, waits. */
  async function install(pfx: Buffer, password: string | undefined, caCertificates: string[] = []) {
    ticket += 1;
    const name = `real-win-${ticket}`;
    const submitted = await stack.request('alice', 'POST', '/v1/jobs', {
      ticket: `CASE-WINREAL-${ticket}`,
      name,
      environments: ['acme-prd'],
      pfx: pfx.toString('base64'),
      ...(password === undefined ? {} : { password }),
      ...(caCertificates.length > 0 ? { caCertificates } : {}),
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    expect((await stack.request('bob', 'POST', `/v1/jobs/${submitted.body.id}/approve`)).status).toBe(202);
    const final = await stack.waitForJob(submitted.body.id);
    const [target] = final.targets;
    expect(final.status, JSON.stringify(target?.error)).toBe('completed');
    const file = await readFile(host.localPath(`/D:/Certificates/${name}.pfx`));
    return { job: submitted.body, target, file };
  }

  it('imports a PFX made with no password (NULL form) with its key, given the empty password', async () => {
    const { job, target, file } = await install(noPasswordPfx(corpus, 'null'), undefined);
    expect(job.certificate.emptyPassword).toEqual({ submitted: 'null', installed: 'empty' });
    const thumbprint = thumbprintOf(corpus.file('leaf.der'));
    expect(target).toMatchObject({ status: 'installed', thumbprint, store: 'LocalMachine\\My' });
    expect(file.equals(noPasswordPfx(corpus, 'null'))).toBe(false);
    const store = host.readStore();
    expect(store.My[thumbprint]).toMatchObject({ hasPrivateKey: true });
    expect(store.My[thumbprint]!.keyAcl.sort()).toEqual(['S-1-5-20', 'S-1-5-32-568']);
  });

  it('imports a self-signed client certificate alone: no CA file, nothing added to Root or CA', async () => {
    const rootBefore = Object.keys(host.readStore().Root).length;
    const { job, target } = await install(corpus.file('selfsigned.pfx'), corpus.password);
    const der = Buffer.from(new X509Certificate(corpus.text('selfsigned.pem')).raw);
    const thumbprint = thumbprintOf(der);
    expect(target).toMatchObject({ status: 'installed', thumbprint });
    const files = await readdir(host.localPath('/D:/Certificates'));
    expect(files.filter((file) => file.startsWith(`${job.name}.`))).toEqual([`${job.name}.pfx`]);
    const store = host.readStore();
    expect(store.My[thumbprint]).toMatchObject({ hasPrivateKey: true });
    expect(Object.keys(store.Root)).toHaveLength(rootBefore);
    expect(store.Root[thumbprint]).toBeUndefined();
  });

  it('imports a zero-padded file, and the file on the host ends where the PFX does', async () => {
    const good = corpus.file('3des.pfx');
    const { target, file } = await install(paddedPfx(good, 16), corpus.password, [
      corpus.text('int.pem'),
      corpus.text('root.pem'),
    ]);
    expect(file.equals(good)).toBe(true);
    expect(target).toMatchObject({ status: 'installed', thumbprint: thumbprintOf(corpus.file('leaf.der')) });
  });
});
