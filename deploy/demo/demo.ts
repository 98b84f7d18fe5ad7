/**
 * `npm run demo`: a complete install on embedded defaults. Redis (the one at
 * REDIS_URL, or a private redis-server), four front-ends in two environments,
 * a demo CA and client PFX, alice submits, bob approves, progress host by host,
 * the installed path per environment, the notification received, the files
 * checked on every front-end; then everything is cleaned up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { createRedis } from '@certfleet/jobs';
import {
  fleetEnvironments,
  startReceiver,
  startStack,
  type Stack,
  generateClientKeyPair,
  startInProcessHost,
  killOnExit,
  startFleet,
} from '@certfleet/test-kit';
import { makeDemoCertificates } from './demo-certs.js';

const say = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

async function redisAnswers(url: string): Promise<boolean> {
  const client = createRedis(url, {
    lazyConnect: true,
    connectTimeout: 1500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(':').concat(['/usr/sbin', '/usr/bin'])) {
    const full = path.join(dir, cmd);
    if (existsSync(full)) return full;
  }
  return undefined;
}

/** Uses REDIS_URL when Redis answers there, else starts a private redis-server. */
async function ensureRedis(): Promise<{ url: string; child?: ChildProcess }> {
  const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  if (await redisAnswers(url)) {
    say(`Redis: using ${url}`);
    return { url };
  }
  const server = which('redis-server');
  if (!server) {
    throw new Error(
      `no Redis answers at ${url} and redis-server is not installed; start Redis (apt-get install redis-server) or set REDIS_URL`,
    );
  }
  const port = await freePort();
  const child = spawn(
    server,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  // However the demo ends, its private Redis ends with it.
  killOnExit(child);
  const local = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(local)) {
      say(`Redis: none at ${url}; started a private redis-server on port ${port}`);
      return { url: local, child };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`started redis-server on port ${port} but it does not answer`);
}

interface DemoHosts {
  description: string;
  installDir: string;
  username: string;
  clientKeyPath: string;
  hosts: { address: string; port: number; hostKeyLine: string; file(name: string): string }[];
  stop(): Promise<void>;
}

const INSTALL_DIR = '/srv/fleet-certs';

/**
 * Real sshd front-ends when this runs as root with OpenSSH's server installed
 * (each its own address, host key and disk); otherwise in-process SSH servers
 * with their own directories. CERTFLEET_DEMO_HOSTS=sshd|inprocess chooses.
 */
async function startDemoHosts(): Promise<DemoHosts> {
  const wanted = process.env['CERTFLEET_DEMO_HOSTS'];
  const canSshd = process.getuid?.() === 0 && which('sshd') !== undefined && which('unshare') !== undefined;
  if (wanted === 'sshd' && !canSshd) {
    throw new Error(
      'CERTFLEET_DEMO_HOSTS=sshd needs root and OpenSSH server (apt-get install openssh-server)',
    );
  }
  if (wanted !== 'inprocess' && canSshd) {
    const fleet = await startFleet({ count: 4, installDir: INSTALL_DIR });
    return {
      description: `4 real sshd processes, each with its own address, host key and disk at ${fleet.installDir}`,
      installDir: fleet.installDir,
      username: fleet.username,
      clientKeyPath: fleet.clientKeyPath,
      hosts: fleet.hosts.map((h) => ({ ...h, file: (name: string) => path.join(h.dir, name) })),
      stop: () => fleet.stop(),
    };
  }
  const keyDir = await mkdtemp(path.join(tmpdir(), 'certfleet-demo-key-'));
  const client = generateClientKeyPair();
  const clientKeyPath = path.join(keyDir, 'id_ed25519');
  await writeFile(clientKeyPath, client.privateKey, { mode: 0o600 });
  const hosts = await Promise.all(
    [1, 2, 3, 4].map((i) =>
      startInProcessHost({
        flavour: 'linux',
        clientPublicKey: client.publicKey,
        installDir: INSTALL_DIR,
        address: `127.0.20.${i}`,
      }),
    ),
  );
  const why = wanted === 'inprocess' ? 'as asked' : 'real sshd needs root and openssh-server';
  return {
    description: `4 in-process SSH servers (${why}), each with its own host key and directory`,
    installDir: INSTALL_DIR,
    username: 'certfleet',
    clientKeyPath,
    hosts: hosts.map((h) => ({
      address: h.address,
      port: h.port,
      hostKeyLine: h.hostKeyLine,
      file: (name: string) => h.localPath(`${INSTALL_DIR}/${name}`),
    })),
    async stop() {
      await Promise.all(hosts.map((h) => h.stop()));
      await rm(keyDir, { recursive: true, force: true });
    },
  };
}

function fail(message: string): never {
  throw new Error(message);
}

async function main(): Promise<void> {
  say('certfleet demo: one client certificate on every front-end of two environments');
  say();
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  // Interrupted (Ctrl-C, a closed pipe): still stop what the demo started.
  process.stdout.on('error', () => {
    void cleanup().finally(() => process.exit(1));
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGPIPE'] as const) {
    process.once(signal, () => {
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    const redis = await ensureRedis();
    if (redis.child) cleanups.push(async () => redis.child?.kill());

    const fleet = await startDemoHosts();
    cleanups.push(() => fleet.stop());
    say(`Front-ends: ${fleet.description}`);
    const envs = fleetEnvironments(fleet, { 'acme-prd': 2, 'acme-qa': 2 });
    for (const e of envs) {
      say(`  ${e.name}: ${e.hosts.map((h) => `${h.name} (${h.address}:${h.port})`).join(', ')}`);
    }

    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const stack: Stack = await startStack({
      environments: envs,
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
      env: {
        REDIS_URL: redis.url,
        FLEET_NOTIFY_WEBHOOK_URL: receiver.url,
        FLEET_NOTIFY_WEBHOOK_SECRET: 'demo-webhook-secret',
        FLEET_PREFIX: `demo-${process.pid}`,
        LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'silent',
      },
    });
    cleanups.push(() => stack.stop());
    say(
      `certfleet: api, worker and notifier started at ${stack.url} (demo master key, prefix ${stack.config.prefix})`,
    );
    say();

    const certs = makeDemoCertificates();
    say('Certificate: demo root CA and client certificate "demo-payments-client" (PFX: TripleDES-SHA1)');
    const submit = await stack.request('alice', 'POST', '/v1/jobs', {
      ticket: 'CASE-123456',
      name: 'demo-payments-client',
      environments: ['acme-prd', 'acme-qa'],
      pfx: certs.pfx.toString('base64'),
      password: certs.password,
      caCertificates: [certs.caPem],
    });
    if (submit.status !== 201) fail(`submit answered ${submit.status}: ${JSON.stringify(submit.body)}`);
    const job = submit.body;
    say(`alice submitted job ${job.id}: ${job.status}`);
    say(
      `  certificate ${job.certificate.subject}, issuer ${job.certificate.issuer}, expires ${job.certificate.notAfter}`,
    );
    say(`  chain ${job.certificate.chain.join(' -> ')}; ${job.targets.length} targets planned`);

    const selfApprove = await stack.request('alice', 'POST', `/v1/jobs/${job.id}/approve`);
    say(`alice tries to approve her own job: ${selfApprove.status} ${selfApprove.body.error}`);
    const approve = await stack.request('bob', 'POST', `/v1/jobs/${job.id}/approve`);
    if (approve.status !== 202) fail(`approve answered ${approve.status}: ${JSON.stringify(approve.body)}`);
    say(`bob approved: ${approve.body.status}`);
    say();

    const seen = new Map<string, string>();
    const final = await stack.waitForJob(job.id, 120_000, (j) => {
      for (const t of j.targets) {
        const line = `${t.status}${t.error ? ` (${t.error.code})` : ''}`;
        if (seen.get(t.id) !== line) {
          seen.set(t.id, line);
          say(
            `  ${t.environment}/${t.frontEnd} ${t.host}: ${line}${t.status === 'installed' ? ` -> ${t.path}` : ''}`,
          );
        }
      }
    });
    say();
    say(`Job ${final.id}: ${final.status}`);
    for (const [env, p] of Object.entries(final.paths)) say(`  ${env}: ${p}`);
    if (final.status !== 'completed') fail(`the job ended ${final.status}`);

    const [report] = await receiver.waitFor(1);
    const body = JSON.parse(report!.body);
    say();
    say(`Notification received: ${body.event}, job ${body.job.id} ${body.job.status}, round ${body.round}`);
    say(
      `  signature ${String(report!.headers['x-certfleet-signature']).slice(0, 24)}…, idempotency key ${report!.headers['idempotency-key']}`,
    );

    say();
    say('Checking the files on every front-end:');
    const expected = final.targets[0].sha256 as string;
    for (const [i, host] of fleet.hosts.entries()) {
      const data = await readFile(host.file('demo-payments-client.pfx'));
      const digest = createHash('sha256').update(data).digest('hex');
      const ca = await readFile(host.file('demo-payments-client.ca1.cer'));
      const ok = digest === expected && ca.length > 0;
      say(
        `  ${envs[i < 2 ? 0 : 1]!.name}/fe-${(i % 2) + 1}: demo-payments-client.pfx sha256 ${digest.slice(0, 16)}… ${ok ? 'ok' : 'WRONG'}, ca1.cer ${ca.length} bytes`,
      );
      if (!ok) fail(`front-end ${host.address} holds the wrong file`);
    }
    say();
    say('Demo complete: the certificate is installed on all 4 front-ends. Cleaning up.');
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
