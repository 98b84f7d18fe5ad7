/**
 * The scale-out scenario that the Cluster and the Sentinel-failover tests share: one
 * API, one notifier and several workers, each its own process, against one REDIS_URL;
 * one job installing on every host of a real sshd fleet while things go wrong part-way
 * (a worker killed with SIGKILL, a Sentinel failover); then every host holds the file
 * exactly once with the right bytes, every target is recorded installed, the job
 * completed, and exactly one report per round reached a real HTTP receiver.
 *
 * No test-framework imports: the checks answer a list of problems, empty when all is well.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedis, FleetQueues, JobName, verifySignature } from '@certfleet/jobs';
import {
  fleetEnvironments,
  startReceiver,
  writeServiceFiles,
  type Fleet,
  type Receiver,
  type ServiceFiles,
} from '@certfleet/test-kit';
import type { DemoCertificates } from '../../deploy/demo/demo-certs.js';
import {
  apiClient,
  freePort,
  serviceEnv,
  spawnService,
  type ApiClient,
  type Json,
  type ServiceProcess,
} from './processes.js';

const ENV = 'scale-out';
const WEBHOOK_SECRET = 'scale-out-outbound-secret';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export interface DeploymentOptions {
  redisUrl: string;
  prefix: string;
  fleet: Fleet;
  /** Worker processes (default 3). */
  workers?: number;
}

/** API, notifier and workers as processes, the files they read, and a webhook receiver. */
export interface Deployment {
  client: ApiClient;
  receiver: Receiver;
  workers: ServiceProcess[];
  services: ServiceProcess[];
  /** Queue counts, read from the deployment's Redis. */
  queues: FleetQueues;
  /** The last lines of every process: attached to a failure. */
  evidence(): string;
  stop(): Promise<void>;
}

/**
 * Starts the deployment. FLEET_CONCURRENCY=2 per worker keeps most of the fleet pending
 * while the first hosts install, so "part-way" is a state to wait for, not a guess;
 * FLEET_LOCK_DURATION_MS=2000 lets a dead worker's targets be taken over quickly.
 */
export async function startDeployment(options: DeploymentOptions): Promise<Deployment> {
  const { fleet } = options;
  let files: ServiceFiles | undefined;
  let receiver: Receiver | undefined;
  const all: ServiceProcess[] = [];
  const connection = createRedis(options.redisUrl);
  connection.on('error', () => undefined);
  const queues = new FleetQueues(connection, { prefix: options.prefix, onError: () => undefined });
  const stop = async (): Promise<void> => {
    for (const s of all) s.kill('SIGKILL');
    await Promise.all(all.map((s) => s.exited));
    await queues.close();
    connection.disconnect();
    await receiver?.close();
    await files?.remove();
  };
  try {
    receiver = await startReceiver();
    files = await writeServiceFiles({
      environments: fleetEnvironments(fleet, { [ENV]: fleet.hosts.length }),
      username: fleet.username,
      privateKeyPath: fleet.clientKeyPath,
    });
    const env = serviceEnv(
      files,
      { redisUrl: options.redisUrl, prefix: options.prefix },
      {
        FLEET_RETRY_ATTEMPTS: '5',
        FLEET_RETRY_BACKOFF_MS: '200',
        FLEET_LOCK_DURATION_MS: '2000',
        FLEET_SHUTDOWN_TIMEOUT: '2',
        FLEET_CONCURRENCY: '2',
        FLEET_NOTIFY_WEBHOOK_SECRET: WEBHOOK_SECRET,
      },
    );
    const port = await freePort();
    const api = spawnService('api', { ...env, PORT: String(port) }, { label: 'api' });
    const notifier = spawnService('notifier', env, { label: 'notifier' });
    const workers = Array.from({ length: options.workers ?? 3 }, (_, i) =>
      spawnService('worker', env, { label: `worker-${i + 1}` }),
    );
    all.push(api, notifier, ...workers);
    await Promise.all([
      api.waitForOutput(/"msg":"api listening"/, 120_000),
      notifier.waitForOutput(/"msg":"notifier started"/, 120_000),
      ...workers.map((w) => w.waitForOutput(/"msg":"worker started"/, 120_000)),
    ]);
    const client = apiClient(`http://127.0.0.1:${port}`, files.tokens);
    await client.waitUntilUp();
    const r = receiver;
    return {
      client,
      receiver: r,
      workers,
      services: [api, notifier],
      queues,
      evidence: () =>
        all
          .map((s) => {
            const lines = s.output().trim().split('\n').slice(-12).join('\n');
            return `--- ${s.label} (pid ${s.pid}, ${s.running ? 'running' : 'exited'}):\n${lines}`;
          })
          .join('\n'),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Targets per status. */
export function progress(job: Json): Record<string, number> {
  const counts: Record<string, number> = { pending: 0, running: 0, installed: 0, failed: 0 };
  for (const t of job.targets as Json[]) counts[t.status] = (counts[t.status] ?? 0) + 1;
  return counts;
}

/** Something to do part-way: once `when(job)` holds, `act()` runs (in the order given). */
export interface Disruption {
  label: string;
  when(job: Json): boolean;
  act(): Promise<void>;
}

/** A worker killed with SIGKILL once it installed a target itself and the job is not done. */
export function killWorkerPartWay(deployment: Deployment, index: number, atLeast = 3): Disruption {
  const worker = deployment.workers[index]!;
  return {
    label: `SIGKILL ${worker.label}`,
    when: (job) =>
      progress(job)['installed']! >= atLeast && worker.logs().some((l) => l['msg'] === 'target installed'),
    async act() {
      worker.kill('SIGKILL');
      const status = await worker.waitExit(10_000);
      if (status.signal !== 'SIGKILL')
        throw new Error(`${worker.label} exited with ${JSON.stringify(status)}`);
    },
  };
}

export interface InstallRun {
  job: Json;
  /** Per disruption, the job's progress when it ran. */
  at: { label: string; progress: Record<string, number> }[];
}

/** Submits one job on the whole fleet (alice), approves it (bob), runs the disruptions part-way, waits for the end. */
export async function installThrough(
  deployment: Deployment,
  certs: DemoCertificates,
  name: string,
  disruptions: Disruption[],
): Promise<InstallRun> {
  const { client } = deployment;
  const submitted = await client.request('alice', 'POST', '/v1/jobs', {
    ticket: `CASE-${name}`,
    name,
    environments: [ENV],
    pfx: certs.pfx.toString('base64'),
    password: certs.password,
    caCertificates: [certs.caPem],
    notify: { webhookUrl: deployment.receiver.url },
  });
  if (submitted.status !== 201)
    throw new Error(`submit answered ${submitted.status}: ${JSON.stringify(submitted.body)}`);
  const id = submitted.body.id as string;
  const approved = await client.request('bob', 'POST', `/v1/jobs/${id}/approve`);
  if (approved.status !== 202)
    throw new Error(`approve answered ${approved.status}: ${JSON.stringify(approved.body)}`);
  const at: InstallRun['at'] = [];
  try {
    for (const d of disruptions) {
      const job = await client.waitForJob(id, { until: d.when, intervalMs: 20, timeoutMs: 60_000 });
      at.push({ label: d.label, progress: progress(job) });
      await d.act();
    }
    return { job: await client.waitForJob(id, { timeoutMs: 120_000 }), at };
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${deployment.evidence()}`, { cause: err });
  }
}

/** Problems with the hosts and the record: every host holds `<name>.pfx` and its CA file once, whole, and no other file of that name. */
export async function installProblems(
  fleet: Fleet,
  certs: DemoCertificates,
  name: string,
  job: Json,
): Promise<string[]> {
  const problems: string[] = [];
  const expected = sha256(certs.pfx);
  const caDer = new X509Certificate(certs.caPem).raw;
  if (job.status !== 'completed') problems.push(`job is ${job.status}: ${JSON.stringify(progress(job))}`);
  const targets = job.targets as Json[];
  if (targets.length !== fleet.hosts.length)
    problems.push(`${targets.length} targets for ${fleet.hosts.length} hosts`);
  for (const [i, host] of fleet.hosts.entries()) {
    const target = targets.find((t) => t.frontEnd === `fe-${i + 1}`);
    if (target?.status !== 'installed' || target.sha256 !== expected || target.error !== null)
      problems.push(`${host.name}: recorded ${JSON.stringify(target)}`);
    // this name's files, temporary ones (`.<name>.…`) included
    const files = (await readdir(host.dir))
      .filter((f) => f.startsWith(`${name}.`) || f.startsWith(`.${name}.`))
      .sort();
    if (JSON.stringify(files) !== JSON.stringify([`${name}.ca1.cer`, `${name}.pfx`].sort()))
      problems.push(`${host.name}: holds ${files.join(', ')}`);
    const pfx = await readFile(path.join(host.dir, `${name}.pfx`)).catch(() => Buffer.alloc(0));
    if (sha256(pfx) !== expected) problems.push(`${host.name}: ${name}.pfx has sha256 ${sha256(pfx)}`);
    const ca = await readFile(path.join(host.dir, `${name}.ca1.cer`)).catch(() => Buffer.alloc(0));
    if (!ca.equals(caDer)) problems.push(`${host.name}: ${name}.ca1.cer differs`);
  }
  return problems;
}

/**
 * Problems with the reports: once the notify queue has nothing left to run, the
 * receiver got exactly one signed report per round of the job, with the job's final status.
 */
export async function reportProblems(
  deployment: Deployment,
  job: Json,
  timeoutMs = 30_000,
): Promise<string[]> {
  const { receiver, queues } = deployment;
  const ofJob = (): typeof receiver.received =>
    receiver.received.filter((r) => String(r.headers['idempotency-key']).startsWith(`${job.id}:`));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = (await queues.counts())[JobName.Notify];
    const idle = counts['waiting'] === 0 && counts['active'] === 0 && counts['delayed'] === 0;
    if (idle && ofJob().length >= job.round) break;
    if (Date.now() > deadline) return [`notify queue ${JSON.stringify(counts)}, ${ofJob().length} reports`];
    await sleep(100);
  }
  const problems: string[] = [];
  for (let round = 1; round <= job.round; round++) {
    const reports = ofJob().filter(
      (r) => r.headers['idempotency-key'] === `${job.id}:${round}:${job.status}`,
    );
    if (reports.length !== 1) problems.push(`round ${round}: ${reports.length} reports`);
    for (const r of reports) {
      if (!verifySignature([WEBHOOK_SECRET], String(r.headers['x-certfleet-signature']), r.body).ok)
        problems.push(`round ${round}: signature does not verify`);
      const body = JSON.parse(r.body) as Json;
      if (body.event !== 'job.finished' || body.round !== round || body.job?.status !== job.status)
        problems.push(`round ${round}: body ${r.body.slice(0, 200)}`);
    }
  }
  if (ofJob().length !== job.round) problems.push(`${ofJob().length} reports for ${job.round} round(s)`);
  return problems;
}

/**
 * Problems with what operators read from the API on this Redis: /readyz, /metrics
 * (fleet-wide counters and queue counts) and Bull Board's queue list for carol (admin).
 */
export async function operatorProblems(deployment: Deployment): Promise<string[]> {
  const { client } = deployment;
  const problems: string[] = [];
  const ready = await fetch(`${client.url}/readyz`);
  if (ready.status !== 200) problems.push(`/readyz answered ${ready.status}`);
  const metrics = await fetch(`${client.url}/metrics`);
  const text = await metrics.text();
  if (metrics.status !== 200 || !/certfleet_jobs_total\{status="completed"\} [1-9]/.test(text))
    problems.push(`/metrics answered ${metrics.status}: ${text.slice(0, 200)}`);
  const board = await client.request('carol', 'GET', '/admin/queues/api/queues');
  const names = ((board.body as Json)?.queues as { name: string }[] | undefined)?.map((q) => q.name).sort();
  if (
    board.status !== 200 ||
    JSON.stringify(names) !== JSON.stringify(['install', 'install-target', 'notify'])
  )
    problems.push(`Bull Board answered ${board.status}: ${JSON.stringify(names)}`);
  return problems;
}
