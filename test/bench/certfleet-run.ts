/**
 * One certfleet job to N front-ends, end to end through the HTTP API: submit (alice),
 * approve (bob), then poll until the job is final. Times come from this process's clock
 * and from the job record itself (`updatedAt` of the final transition, `finishedAt` per
 * target), which the in-process stack writes with the same clock.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isFinalStatus, METRIC_NAMES } from '@certfleet/store';
import { startStack, type HarnessEnvironment, type Stack } from '@certfleet/test-kit';
import { spawnService, type ServiceProcess } from '../support/processes.js';

/** The API and notifier in this process, the worker in a process of its own (so its memory can be read). */
export interface BenchStack {
  stack: Stack;
  worker: ServiceProcess;
  stop(): Promise<void>;
}

/**
 * The worker's V8 flags, as README "Performance" recommends for deployments: a small
 * young generation (2 MiB semi-spaces instead of V8's 16) holds the worker's peak RSS at
 * 100 concurrent targets well under 200 MB (about 140 MiB against about 200 without).
 */
export const WORKER_NODE_OPTIONS = '--max-semi-space-size=2';

/** Idle SSH connections stay this long in the worker's pool (SessionPool's default) before they close. */
export const POOL_IDLE_MS = 2_000;

export async function startBenchStack(options: {
  environments: HarnessEnvironment[];
  username: string;
  privateKeyPath: string;
  concurrency: number;
}): Promise<BenchStack> {
  const stack = await startStack({
    environments: options.environments,
    username: options.username,
    privateKeyPath: options.privateKeyPath,
    worker: false,
    env: {
      FLEET_CONCURRENCY: String(options.concurrency),
      FLEET_RATE_LIMIT: '1000000',
      FLEET_NOTIFY_WEBHOOK_SECRET: 'bench-report-secret',
    },
  });
  // the worker from its TypeScript (node + tsx), logging at info like production
  const worker = spawnService(
    'worker',
    { ...stack.env, LOG_LEVEL: 'info', NODE_OPTIONS: WORKER_NODE_OPTIONS },
    { label: 'bench-worker' },
  );
  try {
    await worker.waitForOutput(/worker started/, 30_000);
  } catch (err) {
    worker.kill('SIGKILL');
    await stack.stop();
    throw err;
  }
  return {
    stack,
    worker,
    async stop() {
      worker.kill('SIGTERM');
      await worker.waitExit(20_000).catch(() => worker.kill('SIGKILL'));
      await stack.stop();
    },
  };
}

/** A webhook receiver that notes when each job's first completion report arrived. */
export interface ReportClock {
  url: string;
  /** Date.now() at which the report of `jobId` arrived; waits for it up to `timeoutMs`. */
  arrived(jobId: string, timeoutMs?: number): Promise<number>;
  /** How many reports arrived for `jobId` (one per round and status is right). */
  count(jobId: string): number;
  close(): Promise<void>;
}

export async function startReportClock(): Promise<ReportClock> {
  const times = new Map<string, number>();
  const counts = new Map<string, number>();
  const waiters = new Map<string, (at: number) => void>();
  const server = createServer((req, res) => {
    const at = Date.now();
    // Idempotency-Key: <jobId>:<round>:<status>
    const jobId = String(req.headers['idempotency-key'] ?? '').split(':')[0] ?? '';
    req.resume();
    req.on('end', () => {
      counts.set(jobId, (counts.get(jobId) ?? 0) + 1);
      if (!times.has(jobId)) {
        times.set(jobId, at);
        waiters.get(jobId)?.(at);
      }
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/report`,
    arrived(jobId, timeoutMs = 120_000) {
      const known = times.get(jobId);
      if (known !== undefined) return Promise.resolve(known);
      return new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no report for ${jobId} in ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.set(jobId, (at) => {
          clearTimeout(timer);
          waiters.delete(jobId);
          resolve(at);
        });
      });
    },
    count: (jobId) => counts.get(jobId) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface CertfleetSample {
  /** submit request sent → 201 (PFX inspection, plan, sealed secret). */
  submitMs: number;
  /** approve request sent → 202 (flow added to BullMQ). */
  approveMs: number;
  /** submit sent → final transition written (job record `updatedAt`). */
  e2eMs: number;
  /** approve sent → final transition written: the install phase alone. */
  installMs: number;
  /** approve sent → the completion report arrived at the webhook receiver. */
  reportMs: number;
  /** approve sent → each target's `finishedAt`, ascending. */
  targetFinishMs: number[];
  /** Mean worker-side time per target (connect, upload, verify, move), from /metrics. */
  workerMeanMs: number;
  unchanged: boolean;
}

export interface JobSpec {
  environment: string;
  /** Certificate name (file name on the hosts). */
  name: string;
  ticket: string;
  pfx: Buffer;
  password: string;
  caPem: string;
  /** true: every target must come back `unchanged` (the same certificate again). */
  expectUnchanged: boolean;
  /** Number of targets the job must have. */
  targets: number;
  /** Where the completion report goes; its arrival ends the measurement. */
  reports: ReportClock;
}

interface TargetBody {
  id: string;
  status: string;
  unchanged: boolean;
  finishedAt: string;
  error: unknown;
}

interface JobBody {
  status: string;
  updatedAt: string;
  targets: TargetBody[];
}

interface InstallMetric {
  sum: number;
  count: number;
}

async function installMetric(stack: Stack): Promise<InstallMetric> {
  const res = await stack.request('alice', 'GET', '/metrics');
  const text = typeof res.body === 'string' ? res.body : '';
  const read = (name: string): number => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  };
  return {
    sum: read(`${METRIC_NAMES.installDuration}_sum`),
    count: read(`${METRIC_NAMES.installDuration}_count`),
  };
}

/** Polls more often than the harness's waitForJob (150 ms): the record's own times are exact anyway. */
async function waitFinal(stack: Stack, id: string, timeoutMs: number): Promise<JobBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await stack.request('alice', 'GET', `/v1/jobs/${id}`);
    if (status !== 200) throw new Error(`GET /v1/jobs/${id} answered ${status}: ${JSON.stringify(body)}`);
    if (isFinalStatus(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${body.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function runCertfleetJob(stack: Stack, spec: JobSpec): Promise<CertfleetSample> {
  const metricBefore = await installMetric(stack);
  const submitAt = Date.now();
  const submitted = await stack.request('alice', 'POST', '/v1/jobs', {
    ticket: spec.ticket,
    name: spec.name,
    environments: [spec.environment],
    pfx: spec.pfx.toString('base64'),
    password: spec.password,
    caCertificates: [spec.caPem],
    notify: { webhookUrl: spec.reports.url },
  });
  const submitMs = Date.now() - submitAt;
  if (submitted.status !== 201) {
    throw new Error(`submit answered ${submitted.status}: ${JSON.stringify(submitted.body)}`);
  }
  const id: string = submitted.body.id;
  const approveAt = Date.now();
  const approved = await stack.request('bob', 'POST', `/v1/jobs/${id}/approve`);
  const approveMs = Date.now() - approveAt;
  if (approved.status !== 202) {
    throw new Error(`approve answered ${approved.status}: ${JSON.stringify(approved.body)}`);
  }
  const job = await waitFinal(stack, id, 300_000);
  const targets = job.targets;
  const bad = targets.filter((t) => t.status !== 'installed' || t.unchanged !== spec.expectUnchanged);
  if (job.status !== 'completed' || targets.length !== spec.targets || bad.length > 0) {
    throw new Error(
      `certfleet job ${id} ended ${job.status} with ${targets.length} targets; not as expected ` +
        `(unchanged=${spec.expectUnchanged}): ${JSON.stringify(bad.slice(0, 3))}`,
    );
  }
  const finishedAt = Date.parse(job.updatedAt);
  const reportAt = await spec.reports.arrived(id);
  const metricAfter = await installMetric(stack);
  const count = metricAfter.count - metricBefore.count;
  return {
    submitMs,
    approveMs,
    e2eMs: finishedAt - submitAt,
    installMs: finishedAt - approveAt,
    reportMs: reportAt - approveAt,
    targetFinishMs: targets.map((t) => Date.parse(t.finishedAt) - approveAt).sort((a, b) => a - b),
    workerMeanMs: count > 0 ? ((metricAfter.sum - metricBefore.sum) / count) * 1000 : NaN,
    unchanged: spec.expectUnchanged,
  };
}
