/**
 * A Windows environment driven through the HTTP API like any other job, against
 * in-process hosts that answer as Windows OpenSSH does (drive-letter SFTP paths,
 * cmd.exe running `powershell -EncodedCommand`, the script and password on
 * stdin) and run the install script with the real PowerShell (pwsh 7) through its
 * Windows-only seams. What only a Windows Server can show is listed in the README
 * (Windows front-ends).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifySignature } from '@certfleet/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoCertificates, type DemoCertificates } from '../deploy/demo/demo-certs.js';
import {
  startReceiver,
  startStack,
  type Receiver,
  type Stack,
  generateClientKeyPair,
  startInProcessHost,
  removeCertificate,
  type InProcessHost,
} from '@certfleet/test-kit';

const SECRET = 'windows-report-secret';

describe('a Windows environment through the API', () => {
  let hosts: InProcessHost[];
  let stack: Stack;
  let receiver: Receiver;
  let certs: DemoCertificates;
  let keyDir: string;

  beforeAll(async () => {
    const client = generateClientKeyPair();
    keyDir = await mkdtemp(path.join(tmpdir(), 'win-key-'));
    const keyPath = path.join(keyDir, 'id_ed25519');
    await writeFile(keyPath, client.privateKey, { mode: 0o600 });
    hosts = await Promise.all(
      [1, 2].map((i) =>
        startInProcessHost({
          flavour: 'windows',
          clientPublicKey: client.publicKey,
          address: `127.0.31.${i}`,
          username: 'certfleet',
        }),
      ),
    );
    receiver = await startReceiver();
    stack = await startStack({
      environments: [
        {
          name: 'acme-prd',
          platform: 'windows',
          installDir: 'D:\\Certificates',
          hosts: hosts.map((h, i) => ({
            name: `fe-${i + 1}`,
            address: h.address,
            port: h.port,
            hostKeyLine: h.hostKeyLine,
          })),
        },
      ],
      username: 'certfleet',
      privateKeyPath: keyPath,
      env: { FLEET_NOTIFY_WEBHOOK_URL: receiver.url, FLEET_NOTIFY_WEBHOOK_SECRET: SECRET },
    });
    certs = makeDemoCertificates('win-client');
  });

  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
    await Promise.all((hosts ?? []).map((h) => h.stop()));
    await rm(keyDir, { recursive: true, force: true });
  });

  it('installs on every front-end, records thumbprint and store, and reports both', async () => {
    const submitted = await stack.request('alice', 'POST', '/v1/jobs', {
      ticket: 'CASE-WIN-1',
      name: 'win-client',
      environments: ['acme-prd'],
      pfx: certs.pfx.toString('base64'),
      password: certs.password,
      caCertificates: [certs.caPem],
    });
    expect(submitted.status).toBe(201);
    expect(submitted.body.paths).toEqual({ 'acme-prd': 'D:\\Certificates\\win-client.pfx' });
    expect((await stack.request('bob', 'POST', `/v1/jobs/${submitted.body.id}/approve`)).status).toBe(202);
    const final = await stack.waitForJob(submitted.body.id);
    expect(final.status).toBe('completed');

    // the thumbprint Windows shows is the SHA-1 of the leaf certificate
    const thumbprint = createHash('sha1').update(certs.leafDer).digest('hex').toUpperCase();
    for (const t of final.targets) {
      expect(t).toMatchObject({
        status: 'installed',
        path: 'D:\\Certificates\\win-client.pfx',
        thumbprint,
        store: 'LocalMachine\\My',
        keyProvider: 'Microsoft Software Key Storage Provider',
        unchanged: false,
      });
    }
    for (const host of hosts) {
      const file = await readFile(host.localPath('/D:/Certificates/win-client.pfx'));
      expect(file.equals(certs.pfx)).toBe(true);
      const store = host.readStore();
      expect(store.My[thumbprint]).toMatchObject({
        hasPrivateKey: true,
        keyProvider: 'Microsoft Software Key Storage Provider',
      });
      expect(store.My[thumbprint]!.keyAcl.sort()).toEqual(['S-1-5-20', 'S-1-5-32-568']);
      expect(Object.keys(store.Root)).toHaveLength(1);
      // Only the short bootstrap is on the command line; the password went over stdin.
      for (const exec of host.received.execs) {
        expect(exec.command).toMatch(
          /^powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand [A-Za-z0-9+/=]+$/,
        );
        expect(exec.command).not.toContain(certs.password);
      }
      const passwordLine = Buffer.from(certs.password, 'utf8').toString('base64');
      expect(host.received.execs.some((e) => e.stdin.split('\n')[2] === passwordLine)).toBe(true);
      expect(host.received.sftp.filter((op) => op.path !== '' && !op.path.startsWith('/D:/'))).toEqual([]);
    }

    const [report] = await receiver.waitFor(1);
    expect(
      verifySignature([SECRET], report!.headers['x-certfleet-signature'] as string, report!.body).ok,
    ).toBe(true);
    const body = JSON.parse(report!.body);
    expect(body.job.targets[0]).toMatchObject({ thumbprint, store: 'LocalMachine\\My' });
    expect(body.job.paths['acme-prd']).toBe('D:\\Certificates\\win-client.pfx');
  });

  it('installs the same certificate again as unchanged', async () => {
    const submitted = await stack.request('alice', 'POST', '/v1/jobs', {
      ticket: 'CASE-WIN-2',
      name: 'win-client',
      environments: ['acme-prd'],
      pfx: certs.pfx.toString('base64'),
      password: certs.password,
      caCertificates: [certs.caPem],
    });
    expect((await stack.request('bob', 'POST', `/v1/jobs/${submitted.body.id}/approve`)).status).toBe(202);
    const final = await stack.waitForJob(submitted.body.id);
    expect(final.status).toBe('completed');
    expect(final.targets.every((t: { unchanged: boolean }) => t.unchanged)).toBe(true);
  });
  /** Runs a drift check as bob and waits for it: front-end → its one certificate's verdict. */
  async function check(): Promise<Record<string, { state: string; detail: string }>> {
    const started = await stack.request('bob', 'POST', '/v1/environments/acme-prd/check');
    expect(started.status).toBe(202);
    for (;;) {
      const res = await stack.request('bob', 'GET', '/v1/environments/acme-prd/check');
      if (res.body.id === started.body.id && res.body.status === 'done') {
        return Object.fromEntries(
          res.body.hosts.map((h: { frontEnd: string; certificates: { state: string; detail: string }[] }) => [
            h.frontEnd,
            h.certificates[0]!,
          ]),
        );
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  it('checks the Windows front-ends for drift: a certificate removed from LocalMachine\\My is missing there, and its approved repair puts it back', async () => {
    const thumbprint = createHash('sha1').update(certs.leafDer).digest('hex').toUpperCase();
    const ok = await check();
    expect(ok['fe-1']).toMatchObject({ state: 'ok' });
    expect(ok['fe-2']).toMatchObject({ state: 'ok' });

    removeCertificate(hosts[1]!.root, 'My', thumbprint);
    const drifted = await check();
    expect(drifted['fe-1']!.state).toBe('ok');
    expect(drifted['fe-2']).toEqual({
      name: 'win-client',
      state: 'missing',
      detail: `certificate ${thumbprint} not in LocalMachine\\My`,
    });

    // repair: approve (the default): a repair job for fe-2 alone waits for an approver
    const repairs = await stack.request('bob', 'GET', '/v1/jobs?source=reconcile&status=pending_approval');
    const [repair] = repairs.body.items;
    expect(repairs.body.items).toHaveLength(1);
    expect(repair).toMatchObject({ name: 'win-client', submittedBy: 'system' });
    expect(repair.reason).toMatch(/^drift check \S+: missing on fe-2$/);
    expect(repair.targets.map((t: { frontEnd: string }) => t.frontEnd)).toEqual(['fe-2']);
    expect((await stack.request('bob', 'POST', `/v1/jobs/${repair.id}/approve`)).status).toBe(202);
    const repaired = await stack.waitForJob(repair.id);
    expect(repaired.status).toBe('completed');
    expect(repaired.targets[0]).toMatchObject({ status: 'installed', thumbprint, store: 'LocalMachine\\My' });
    expect(hosts[1]!.readStore().My[thumbprint]).toMatchObject({ hasPrivateKey: true });

    const again = await check();
    expect(again['fe-2']).toMatchObject({ state: 'ok' });
  });
});
