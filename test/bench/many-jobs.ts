/**
 * The many-jobs round of the benchmark: J jobs for the same M real sshd front-ends,
 * submitted first and then approved all at once; every job is followed until its
 * completion report reaches a webhook receiver. Prints figures; never asserts a time.
 */
import { readFileSync } from 'node:fs';
import { type HarnessEnvironment, type FleetHost } from '@certfleet/test-kit';
import { startBenchStack, type ReportClock } from './certfleet-run.js';
import { fixed, median, ms, peakRssWindow, percentile, rssMiB, table } from './measure.js';

export interface ManyJobsSpec {
  jobs: number;
  hosts: FleetHost[];
  concurrency: number;
  login: string;
  keyPath: string;
  installDir: string;
  cert: { pfx: Buffer; password: string; caPem: string };
  reports: ReportClock;
  /** Makes names unique per call. */
  tag: string;
}

export interface ManyJobsResult {
  jobs: number;
  hosts: number;
  concurrency: number;
  login: string;
  /** First approval sent → last report received. */
  totalMs: number;
  installsPerS: number;
  /** Approval sent → that job's report received, per job. */
  medianMs: number;
  p95Ms: number;
  firstMs: number;
  lastMs: number;
  /** Adjacent jobs (in approval order) whose reports arrived the other way round. */
  outOfOrder: number;
  /** Jobs not `completed`, and jobs with other than exactly one report. */
  notCompleted: number;
  reportsNotOnce: number;
  /** SSH connections the hosts' sshd accepted, against installs done. */
  connections: number;
  installs: number;
  idleRssMiB: number;
  peakRssMiB: number;
}

const acceptedSince = (h: FleetHost, from: number): number =>
  (
    readFileSync(h.logFile, 'utf8')
      .slice(from)
      .match(/Accepted publickey for /g) ?? []
  ).length;

export async function runManyJobs(spec: ManyJobsSpec): Promise<ManyJobsResult> {
  const environment: HarnessEnvironment = {
    name: 'bench-many',
    platform: 'linux',
    installDir: spec.installDir,
    hosts: spec.hosts.map((h, i) => ({
      name: `fe-${i + 1}`,
      address: h.address,
      port: h.port,
      hostKeyLine: h.hostKeyLine,
    })),
  };
  const bench = await startBenchStack({
    environments: [environment],
    username: spec.login,
    privateKeyPath: spec.keyPath,
    concurrency: spec.concurrency,
  });
  const { stack, worker } = bench;
  try {
    const ids: string[] = [];
    for (let i = 1; i <= spec.jobs; i++) {
      const res = await stack.request('alice', 'POST', '/v1/jobs', {
        ticket: `MANY-${spec.tag}-${i}`,
        name: `many-${spec.tag}-${i}`,
        environments: ['bench-many'],
        pfx: spec.cert.pfx.toString('base64'),
        password: spec.cert.password,
        caCertificates: [spec.cert.caPem],
        notify: { webhookUrl: spec.reports.url },
      });
      if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.body)}`);
      ids.push(res.body.id as string);
    }
    const logFrom = spec.hosts.map((h) => readFileSync(h.logFile, 'utf8').length);
    const idleRssMiB = rssMiB(worker.pid);
    const peak = peakRssWindow(worker.pid);
    const approvedAt = Date.now();
    const approvals = await Promise.all(
      ids.map((id) => stack.request('bob', 'POST', `/v1/jobs/${id}/approve`)),
    );
    const refused = approvals.find((a) => a.status !== 202);
    if (refused) throw new Error(`approve answered ${refused.status}: ${JSON.stringify(refused.body)}`);
    const arrived = await Promise.all(ids.map((id) => spec.reports.arrived(id, 900_000)));
    const peakRssMiB = peak();
    const perJob = arrived.map((at) => at - approvedAt);
    const totalMs = Math.max(...perJob);
    let notCompleted = 0;
    for (const id of ids) {
      const job = await stack.request('alice', 'GET', `/v1/jobs/${id}`);
      if (job.body.status !== 'completed') notCompleted++;
    }
    // a moment for any duplicate report to show
    await new Promise((r) => setTimeout(r, 500));
    const installs = spec.jobs * spec.hosts.length;
    return {
      jobs: spec.jobs,
      hosts: spec.hosts.length,
      concurrency: spec.concurrency,
      login: spec.login,
      totalMs,
      installsPerS: installs / (totalMs / 1000),
      medianMs: median(perJob),
      p95Ms: percentile(perJob, 95),
      firstMs: Math.min(...perJob),
      lastMs: totalMs,
      outOfOrder: arrived.filter((at, i) => i > 0 && at < arrived[i - 1]!).length,
      notCompleted,
      reportsNotOnce: ids.filter((id) => spec.reports.count(id) !== 1).length,
      connections: spec.hosts.reduce((sum, h, i) => sum + acceptedSince(h, logFrom[i]!), 0),
      installs,
      idleRssMiB,
      peakRssMiB,
    };
  } finally {
    await bench.stop();
  }
}

export function printManyJobs(r: ManyJobsResult): void {
  console.log(
    `\n== many jobs: ${r.jobs} jobs approved at once, each for the same ${r.hosts} front-ends ` +
      `(login ${r.login}), FLEET_CONCURRENCY ${r.concurrency}; times from approval to each job's report`,
  );
  console.log(
    table(
      ['figure', 'value'],
      [
        ['total (first approval → last report)', ms(r.totalMs)],
        ['host installs / s', fixed(r.installsPerS, 1)],
        [
          'per job: first / median / p95 / last',
          [r.firstMs, r.medianMs, r.p95Ms, r.lastMs].map(ms).join(' / '),
        ],
        ['adjacent jobs finishing out of approval order', `${r.outOfOrder} of ${r.jobs - 1}`],
        ['jobs not completed; jobs without exactly one report', `${r.notCompleted}; ${r.reportsNotOnce}`],
        [
          'SSH connections accepted by the hosts / installs',
          `${r.connections} / ${r.installs} (${fixed(r.installs / Math.max(1, r.connections), 1)} installs per handshake)`,
        ],
        ['worker RSS: idle before / peak', `${fixed(r.idleRssMiB, 0)} / ${fixed(r.peakRssMiB, 0)} MiB`],
      ],
      ['left', 'right'],
    ),
  );
}
