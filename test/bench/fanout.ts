/**
 * Fan-out benchmark: one certificate to N real sshd front-ends, certfleet (HTTP API →
 * approval → BullMQ → SSH) next to parallel-scp and `ansible -m copy` over the very same
 * hosts, with the same parallelism. Prints figures and ratios; never asserts a time
 * (see "Benchmarks are not tests" in TESTING.md).
 *
 *   npm run bench -- --hosts 4,16 --runs 3 --json bench.json
 *
 * Needs root, openssh-server, and Debian's pssh and ansible (`apt-get install -y pssh ansible`).
 * The API and notifier run in this process, the worker in its own (from its TypeScript:
 * `node --import tsx --conditions=source services/worker/src/main.ts`), whose peak RSS is
 * read from /proc. Every sshd, child process and the stack are stopped at the end and on Ctrl-C.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRedis } from '@certfleet/jobs';
import { FleetKeys } from '@certfleet/store';
import { makeDemoCertificates } from '../../deploy/demo/demo-certs.js';
import { type HarnessEnvironment, ensureUser, startFleet, type Fleet } from '@certfleet/test-kit';
import {
  ANSIBLE,
  PARALLEL_SCP,
  knownHostsText,
  runAnsibleCopy,
  runParallelScp,
  settle,
  stageFiles,
  toolVersions,
  type BaselineContext,
} from './baselines.js';
import {
  POOL_IDLE_MS,
  runCertfleetJob,
  startBenchStack,
  startReportClock,
  WORKER_NODE_OPTIONS,
  type BenchStack,
  type CertfleetSample,
  type ReportClock,
} from './certfleet-run.js';
import { printManyJobs, runManyJobs, type ManyJobsResult } from './many-jobs.js';
import {
  daemonsCpu,
  fixed,
  killRunningChildren,
  median,
  min,
  ms,
  peakRssWindow,
  pidsByCmdlinePrefix,
  selfCpu,
  stopPids,
  table,
  terminateDescendantsSync,
} from './measure.js';
import { parseOptions, USAGE, type BenchOptions, type ConditionName, type ToolName } from './options.js';
import { PROBE_STEPS, bashrcCost, probe, rootRcSeconds, type ProbeResult } from './probe.js';

/** The unprivileged login of the `equal` condition: shell /bin/sh, no home, no rc file. */
const PLAIN_USER = 'certfleet-bench';
const CURVE25519 = 'KexAlgorithms=curve25519-sha256';

type RowKind = 'certfleet' | 'certfleet-install' | 'certfleet-unchanged' | 'parallel-scp' | 'ansible';

interface Sample {
  condition: ConditionName;
  hosts: number;
  run: number;
  kind: RowKind;
  /** Wall time of what the row measures, ms. */
  ms: number;
  /** CPU seconds on the client side: the tool and its ssh processes, or this process plus Redis. */
  clientCpu: number;
  /** CPU seconds of every sshd of the fleet and the sessions they served. */
  sshdCpu: number;
  /** The baseline was stopped at its time limit: `ms` is a lower bound. */
  timedOut?: boolean;
  /** certfleet rows: peak RSS of this process (api + worker + notifier + the bench) during the job, MiB. */
  peakRssMiB?: number;
  certfleet?: CertfleetSample;
}

interface ConditionInfo {
  name: ConditionName;
  login: string;
  shell: string;
  sshOptions: string[];
  probe?: ProbeResult;
}

/** What root's ~/.bashrc does that matters here (on these machines: pyenv init). */
const ROOT_RC_NOTE = ((): string => {
  try {
    return readFileSync('/root/.bashrc', 'utf8').includes('pyenv init') ? ', i.e. pyenv init' : '';
  } catch {
    return '';
  }
})();

const describeCondition = (c: ConditionInfo): string =>
  c.name === 'as-is'
    ? `login ${c.login} (${c.shell}: runs ~/.bashrc${ROOT_RC_NOTE}, before every remote command); ` +
      `each tool's default key exchange`
    : `login ${c.login} (${c.shell}, no rc file); every tool on curve25519-sha256`;

// ---------------------------------------------------------------------------------------
// clean-up, also on Ctrl-C

let fleet: Fleet | undefined;
let bench: BenchStack | undefined;
let reports: ReportClock | undefined;
let scratch: string | undefined;
let interrupted = false;

async function cleanUp(): Promise<void> {
  killRunningChildren();
  // ssh ControlPersist masters that ansible left in our scratch directory (they detach from its group)
  if (scratch) await stopPids(pidsByCmdlinePrefix(`ssh: ${scratch}/`));
  const b = bench;
  bench = undefined;
  if (b) {
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 25_000).unref());
    if ((await Promise.race([b.stop().then(() => 'ok' as const), timeout])) === 'timeout') {
      // the worker still waits for a target: drop this run's keys ourselves
      const redis = createRedis(b.stack.config.redisUrl);
      const keys = await redis.keys(new FleetKeys(b.stack.config.prefix).all);
      for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
      redis.disconnect();
    }
  }
  await reports?.close();
  reports = undefined;
  const f = fleet;
  fleet = undefined;
  await f?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
  scratch = undefined;
}

/** The fleet's sshd daemons (set once it runs): their sessions are ended gently on Ctrl-C. */
const sshdPids: number[] = [];

function onSignal(signal: NodeJS.Signals): void {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.stderr.write(`\n${signal}: stopping every sshd, child process and the stack…\n`);
  killRunningChildren();
  // This listener runs before the fleet's own, which SIGKILLs every sshd and session at
  // once: end the sessions with SIGTERM first so that their shells run their EXIT traps.
  terminateDescendantsSync(sshdPids, 3_000);
  cleanUp().then(
    () => process.exit(130),
    (err: unknown) => {
      process.stderr.write(`clean-up failed: ${String(err)}\n`);
      process.exit(130);
    },
  );
}

// ---------------------------------------------------------------------------------------

function rotate<T>(items: readonly T[], by: number): T[] {
  return items.map((_, i) => items[(i + by) % items.length]!);
}

async function redisCpu(redisUrl: string): Promise<() => Promise<number>> {
  const redis = createRedis(redisUrl);
  return async () => {
    const info = await redis.info('cpu');
    const read = (k: string): number => Number(new RegExp(`^${k}:([0-9.]+)`, 'm').exec(info)?.[1] ?? 0);
    return read('used_cpu_sys') + read('used_cpu_user');
  };
}

/** The login shell sshd starts for `user` (getent: the same answer sshd gets). */
function loginShell(user: string): string {
  try {
    return execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).trim().split(':')[6] ?? '?';
  } catch {
    return '?';
  }
}

async function main(options: BenchOptions): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error('the benchmark needs root (sshd front-ends in mount namespaces)');
  const missing = [
    ['/usr/sbin/sshd', 'openssh-server'],
    ...(options.tools.includes('parallel-scp') ? [[PARALLEL_SCP, 'pssh']] : []),
    ...(options.tools.includes('ansible') ? [[ANSIBLE, 'ansible']] : []),
  ].filter(([file]) => !existsSync(file!));
  if (missing.length > 0) {
    throw new Error(
      `missing ${missing.map(([f]) => f).join(', ')}: apt-get install -y ${missing.map(([, p]) => p).join(' ')}`,
    );
  }
  if (options.conditions.includes('as-is')) {
    const rc = await rootRcSeconds();
    if (rc > 5) {
      throw new Error(
        `root's ~/.bashrc took ${Number.isFinite(rc) ? rc.toFixed(1) + ' s' : 'over 10 s'} to run, and it runs ` +
          'before every remote command of the as-is condition. A stale `pyenv rehash` lock ' +
          '(/root/.pyenv/shims/.pyenv-shim, left by a shell killed during rehash) does that. ' +
          'Remove the stale lock, or run --conditions equal.',
      );
    }
  }
  const started = performance.now();
  const maxHosts = Math.max(...options.hosts, options.jobs > 0 ? options.jobsHosts : 0);
  const parallelism = (n: number): number => options.concurrency || n;
  const reportClock = await startReportClock();
  reports = reportClock;
  const versions = await toolVersions();
  const machine = {
    nproc: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    loadAverageAtStart: os.loadavg().map((l) => Number(l.toFixed(2))),
    ...versions,
  };
  console.log('certfleet fan-out benchmark (figures only; nothing here passes or fails on time)');
  console.log(
    `machine: ${machine.nproc} cores, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}; ` +
      `load average at start ${machine.loadAverageAtStart.join(' ')}`,
  );
  console.log(
    `tools: ${versions['openssh']}; parallel-scp ${versions['parallel-scp']}; ${versions['ansible']}`,
  );
  console.log(
    `settings: hosts ${options.hosts.join(',')}; runs ${options.runs} (median / min); parallelism ` +
      `${options.concurrency || 'as many as hosts'} = FLEET_CONCURRENCY = parallel-scp -p = ansible -f; ` +
      `conditions ${options.conditions.join(', ')}; worker: its own process, NODE_OPTIONS=${WORKER_NODE_OPTIONS}`,
  );

  // short (ssh control sockets live below it) and open to the unprivileged login (ansible's remote tmp)
  scratch = await mkdtemp('/tmp/cfb-');
  await chmod(scratch, 0o755);
  const certs = makeDemoCertificates('bench-client');
  const caDer = Buffer.from(new X509Certificate(certs.caPem).raw);
  const wantsPlain = options.conditions.includes('equal');
  process.stdout.write(`starting ${maxHosts} sshd front-ends… `);
  fleet = await startFleet({ count: maxHosts, username: wantsPlain ? PLAIN_USER : 'root' });
  console.log(`done (${((performance.now() - started) / 1000).toFixed(1)} s since start)`);
  if (wantsPlain) {
    // the unprivileged login writes into each host's own install directory
    const { uid, gid } = await ensureUser(PLAIN_USER);
    for (const h of fleet.hosts) await chown(h.dir, uid, gid);
    // An empty home: without one sshd prints "Could not chdir to home directory" on every
    // session, an extra small write that Nagle holds back for a delayed ACK (~40 ms).
    const home = execFileSync('getent', ['passwd', PLAIN_USER], { encoding: 'utf8' }).split(':')[5]!;
    if (home.startsWith('/home/') && !existsSync(home)) {
      await mkdir(home, { mode: 0o755 });
      await chown(home, uid, gid);
    }
  }
  const knownHostsPath = path.join(scratch, 'known_hosts');
  await writeFile(knownHostsPath, knownHostsText(fleet.hosts));
  for (const h of fleet.hosts) sshdPids.push(Number(readFileSync(h.pidFile, 'utf8').trim()));
  const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const readRedisCpu = await redisCpu(redisUrl);
  const sshdCpu = (): number => daemonsCpu(sshdPids);

  const bashrc = options.probeReps > 0 ? await bashrcCost(options.probeReps) : undefined;
  const samples: Sample[] = [];
  const conditions: ConditionInfo[] = [];

  for (const [ci, condition] of options.conditions.entries()) {
    const login = condition === 'as-is' ? 'root' : PLAIN_USER;
    const info: ConditionInfo = {
      name: condition,
      login,
      shell: loginShell(login),
      sshOptions: condition === 'equal' ? [CURVE25519] : [],
    };
    if (condition === 'equal' && !['sh', 'dash'].includes(path.basename(info.shell))) {
      throw new Error(
        `${PLAIN_USER} exists with the login shell ${info.shell}; the equal condition needs /bin/sh`,
      );
    }
    conditions.push(info);
    console.log(`\n[${condition}] ${describeCondition(info)}`);
    const ctx: BaselineContext = {
      dir: path.join(scratch, `c${ci}`),
      hosts: fleet.hosts,
      username: login,
      keyPath: fleet.clientKeyPath,
      installDir: fleet.installDir,
      concurrency: options.concurrency,
      sshOptions: info.sshOptions,
    };
    const envName = (n: number): string => `bench-n${n}`;
    const environments: HarnessEnvironment[] = options.hosts.map((n) => ({
      name: envName(n),
      platform: 'linux',
      installDir: fleet!.installDir,
      hosts: fleet!.hosts.slice(0, n).map((h, i) => ({
        name: `fe-${i + 1}`,
        address: h.address,
        port: h.port,
        hostKeyLine: h.hostKeyLine,
      })),
    }));
    /** A stack whose FLEET_CONCURRENCY is the parallelism for `n` hosts (restarted when it differs). */
    let stackConcurrency = 0;
    const stackFor = async (n: number): Promise<void> => {
      if (!options.tools.includes('certfleet') || (bench && stackConcurrency === parallelism(n))) return;
      if (bench) {
        const b = bench;
        bench = undefined;
        await b.stop();
      }
      stackConcurrency = parallelism(n);
      bench = await startBenchStack({
        environments,
        username: login,
        privateKeyPath: fleet!.clientKeyPath,
        concurrency: stackConcurrency,
      });
    };

    if (options.probeReps > 0) {
      process.stdout.write(`  probing one host (${options.probeReps}×)… `);
      info.probe = await probe(
        {
          host: fleet.hosts[0]!,
          username: login,
          keyPath: fleet.clientKeyPath,
          knownHostsPath,
          installDir: fleet.installDir,
        },
        options.probeReps,
        { pfx: certs.pfx, password: certs.password, caPem: certs.caPem, caDer },
      );
      console.log('done');
    }

    /** One measurement of one tool; `record` false for the warm-up round. */
    const measure = async (tool: ToolName, n: number, r: number, record: boolean): Promise<void> => {
      const tag = `c${ci}n${n}r${record ? r : 'w'}`;
      const push = (s: Omit<Sample, 'condition' | 'hosts' | 'run'>): void => {
        if (record) samples.push({ condition, hosts: n, run: r, ...s });
      };
      if (tool === 'certfleet') {
        for (const again of [false, true]) {
          const cpu0 = selfCpu() + (await readRedisCpu());
          const sshd0 = sshdCpu();
          const peak = peakRssWindow(bench!.worker.pid);
          const sample = await runCertfleetJob(bench!.stack, {
            reports: reportClock,
            environment: envName(n),
            name: `bench-${tag}`,
            ticket: `BENCH-${tag}${again ? '-again' : ''}`,
            pfx: certs.pfx,
            password: certs.password,
            caPem: certs.caPem,
            expectUnchanged: again,
            targets: n,
          });
          const peakRssMiB = peak();
          // the worker's pooled connections close after their idle time: only then has sshd's CPU been counted
          await new Promise((r) => setTimeout(r, POOL_IDLE_MS + 300));
          await settle();
          const clientCpu = selfCpu() + (await readRedisCpu()) - cpu0;
          const sshd = sshdCpu() - sshd0;
          if (!again) {
            push({
              kind: 'certfleet',
              ms: sample.e2eMs,
              clientCpu,
              sshdCpu: sshd,
              peakRssMiB,
              certfleet: sample,
            });
            push({ kind: 'certfleet-install', ms: sample.reportMs, clientCpu, sshdCpu: sshd, peakRssMiB });
          } else {
            push({
              kind: 'certfleet-unchanged',
              ms: sample.reportMs,
              clientCpu,
              sshdCpu: sshd,
              peakRssMiB,
              certfleet: sample,
            });
          }
        }
        return;
      }
      const staged = await stageFiles(
        ctx,
        `bench-${tool === 'ansible' ? 'a' : 'p'}-${tag}`,
        certs.pfx,
        caDer,
      );
      const sshd0 = sshdCpu();
      const at = { ...ctx, concurrency: parallelism(n) };
      const result =
        tool === 'parallel-scp'
          ? await runParallelScp(at, n, staged)
          : await runAnsibleCopy(at, n, staged, tag);
      await settle();
      push({
        kind: tool,
        ms: result.ms,
        clientCpu: result.clientCpu,
        sshdCpu: sshdCpu() - sshd0,
        ...(result.timedOut ? { timedOut: true } : {}),
      });
    };

    const toolsAt = (n: number): ToolName[] =>
      options.tools.filter((t) => t !== 'ansible' || options.ansibleHosts.includes(n));
    if (options.warmup) {
      const n = options.hosts[0]!;
      await stackFor(n);
      process.stdout.write(`  warm-up (${n} hosts, not counted)… `);
      // ansible is not warmed up: one run of it costs more than all the others together
      for (const tool of toolsAt(n).filter((t) => t !== 'ansible')) await measure(tool, n, 0, false);
      console.log('done');
    }
    for (const n of options.hosts) {
      await stackFor(n);
      process.stdout.write(`  ${n} hosts:`);
      const spent = new Map<ToolName, number>();
      const skipped = new Set<ToolName>();
      for (let r = 1; r <= options.runs; r++) {
        for (const tool of rotate(toolsAt(n), r - 1)) {
          // after its first run, a slow baseline stops repeating once another run would pass
          // the budget; certfleet, the subject, always gets every run
          const so = spent.get(tool) ?? 0;
          const over = (so + so / (r - 1)) / 1000 > options.budgetS;
          if (tool !== 'certfleet' && r > 1 && options.budgetS > 0 && over) {
            skipped.add(tool);
            continue;
          }
          const t0 = performance.now();
          await measure(tool, n, r, true);
          spent.set(tool, so + performance.now() - t0);
        }
        process.stdout.write(` run ${r}`);
      }
      console.log(skipped.size > 0 ? ` (${[...skipped].join(', ')}: fewer runs, --budget)` : '');
    }
    if (bench) {
      const s = bench;
      bench = undefined;
      await s.stop();
    }
  }

  let many: ManyJobsResult | undefined;
  if (options.jobs > 0) {
    const login = conditions[0]?.login ?? 'root';
    process.stdout.write(`\nmany jobs: ${options.jobs} jobs × ${options.jobsHosts} hosts (login ${login})… `);
    many = await runManyJobs({
      jobs: options.jobs,
      hosts: fleet.hosts.slice(0, options.jobsHosts),
      concurrency: options.jobsConcurrency,
      login,
      keyPath: fleet.clientKeyPath,
      installDir: fleet.installDir,
      cert: certs,
      reports: reportClock,
      tag: String(Date.now() % 100_000),
    });
    console.log('done');
  }

  const totalS = (performance.now() - started) / 1000;
  printResults(options, conditions, samples, bashrc, totalS);
  if (many) printManyJobs(many);
  if (options.json) {
    await writeFile(
      options.json,
      JSON.stringify({ machine, options, conditions, bashrc, samples, many, totalSeconds: totalS }, null, 2) +
        '\n',
    );
    console.log(`\nevery sample: ${options.json}`);
  }
}

// ---------------------------------------------------------------------------------------
// output

const ROW_LABEL: Record<RowKind, string> = {
  certfleet: 'certfleet submit→completed',
  'certfleet-install': 'certfleet approve→report sent',
  'certfleet-unchanged': 'certfleet again, all unchanged (approve→report)',
  'parallel-scp': 'parallel-scp (.pfx + CA)',
  ansible: 'ansible -m copy (.pfx)',
};

function printResults(
  options: BenchOptions,
  conditions: ConditionInfo[],
  samples: Sample[],
  bashrc: { withRc: number; without: number } | undefined,
  totalS: number,
): void {
  const pick = (c: ConditionName, n: number, kind: RowKind): Sample[] =>
    samples.filter((s) => s.condition === c && s.hosts === n && s.kind === kind);
  const kinds: RowKind[] = [
    ...(options.tools.includes('certfleet')
      ? (['certfleet', 'certfleet-install', 'certfleet-unchanged'] as const)
      : []),
    ...(options.tools.includes('parallel-scp') ? (['parallel-scp'] as const) : []),
    ...(options.tools.includes('ansible') ? (['ansible'] as const) : []),
  ];
  for (const c of conditions) {
    console.log(`\n== ${c.name}: ${describeCondition(c)}`);
    console.log(
      'wall ms: median and min over the runs; targets/s = hosts / median; ×cf = median / certfleet ' +
        'submit→completed median (>1: slower than certfleet); CPU s: medians, client side and all sshd',
    );
    const rows: string[][] = [];
    for (const n of options.hosts) {
      const reference = median(pick(c.name, n, 'certfleet').map((s) => s.ms));
      const referenceInstall = median(pick(c.name, n, 'certfleet-install').map((s) => s.ms));
      for (const kind of kinds) {
        const got = pick(c.name, n, kind);
        if (got.length === 0) continue;
        const wall = median(got.map((s) => s.ms));
        rows.push([
          String(n),
          ROW_LABEL[kind],
          String(got.length),
          ms(wall),
          ms(min(got.map((s) => s.ms))),
          fixed(n / (wall / 1000), 1),
          fixed(wall / reference),
          fixed(wall / referenceInstall),
          // the install phase is part of the same job as the row above
          kind === 'certfleet-install' ? '〃' : fixed(median(got.map((s) => s.clientCpu))),
          kind === 'certfleet-install' ? '〃' : fixed(median(got.map((s) => s.sshdCpu))),
        ]);
      }
    }
    console.log(
      table(
        [
          'hosts',
          'tool',
          'runs',
          'median ms',
          'min ms',
          'targets/s',
          '×cf',
          '×cf install',
          'CPU client',
          'CPU sshd',
        ],
        rows,
        ['right', 'left'],
      ),
    );

    const ratios: string[][] = [];
    for (const n of options.hosts) {
      const cf = median(pick(c.name, n, 'certfleet-install').map((s) => s.ms));
      const pscp = median(pick(c.name, n, 'parallel-scp').map((s) => s.ms));
      const ansRuns = pick(c.name, n, 'ansible');
      const ans = median(ansRuns.map((s) => s.ms));
      const more = ansRuns.some((s) => s.timedOut) ? '> ' : '';
      const rss = pick(c.name, n, 'certfleet-install').map((s) => s.peakRssMiB ?? NaN);
      ratios.push([
        String(n),
        `${ms(cf)} / ${ms(pscp)} = ${fixed(cf / pscp)}`,
        Number.isNaN(ans) ? '-' : `${more}${ms(ans)} / ${ms(cf)} = ${more}${fixed(ans / cf, 1)}`,
        rss.length > 0 ? `${fixed(Math.max(...rss), 0)} MiB` : '-',
      ]);
    }
    console.log(
      '\nratios (medians): certfleet approve → completed with its report sent, against the baselines ' +
        `(parallelism: ${options.concurrency || 'as many as hosts'})`,
    );
    console.log(
      table(
        [
          'hosts',
          'certfleet / parallel-scp (goal ≤ 0.5)',
          'ansible / certfleet (goal ≥ 20)',
          'worker peak RSS (goal < 200 MB)',
        ],
        ratios,
        ['right', 'left', 'left', 'left'],
      ),
    );

    const detail: string[][] = [];
    for (const n of options.hosts) {
      for (const kind of ['certfleet', 'certfleet-unchanged'] as const) {
        const got = pick(c.name, n, kind).map((s) => s.certfleet!);
        if (got.length === 0) continue;
        const all = got.flatMap((s) => s.targetFinishMs);
        const waves = Math.ceil(n / options.concurrency);
        const single = c.probe?.[kind === 'certfleet' ? 'installFresh' : 'installUnchanged'] ?? NaN;
        detail.push([
          String(n),
          kind === 'certfleet' ? 'new' : 'unchanged',
          ms(median(got.map((s) => s.submitMs))),
          ms(median(got.map((s) => s.approveMs))),
          ms(median(got.map((s) => s.targetFinishMs[0]!))),
          ms(median(all)),
          ms(median(got.map((s) => s.targetFinishMs[s.targetFinishMs.length - 1]!))),
          ms(median(got.map((s) => s.workerMeanMs))),
          `${waves} × ${ms(single)} = ${ms(waves * single)}`,
        ]);
      }
    }
    if (detail.length > 0) {
      console.log(
        '\ncertfleet per target (ms after approve; medians over runs; finish times from the job record)',
      );
      console.log(
        table(
          [
            'hosts',
            'install',
            'submit',
            'approve',
            'first done',
            'median done',
            'last done',
            'worker/target',
            'waves × 1-host install',
          ],
          detail,
          ['right', 'left'],
        ),
      );
    }
  }

  const probed = conditions.filter((c) => c.probe);
  if (probed.length > 0) {
    console.log(`\n== one host, nothing else running (median of ${options.probeReps}), ms`);
    const rows = Object.entries(PROBE_STEPS).map(([key, label]) => [
      label,
      ...probed.map((c) => ms(c.probe![key] ?? NaN)),
    ]);
    if (bashrc) {
      rows.push([
        "local `bash -c '. ~/.bashrc'` (root's rc) vs `bash -c true`",
        ...probed.map(() => `${ms(bashrc.withRc)} vs ${ms(bashrc.without)}`),
      ]);
    }
    console.log(
      table(['step', ...probed.map((c) => `${c.name} (${c.login}, ${path.basename(c.shell)})`)], rows, [
        'left',
      ]),
    );
  }
  console.log(`\ntotal ${totalS.toFixed(0)} s`);
}

// ---------------------------------------------------------------------------------------

let options: BenchOptions | undefined;
try {
  options = parseOptions(process.argv.slice(2));
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(2);
}
if (options === undefined) {
  console.log(USAGE);
} else {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => onSignal(signal));
  try {
    await main(options);
  } catch (err) {
    if (!interrupted) {
      console.error(
        `\nbenchmark stopped: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
      process.exitCode = 1;
    }
  } finally {
    if (!interrupted) await cleanUp();
  }
  // ioredis connections of the CPU reader keep the loop alive: leave once clean
  if (!interrupted) process.exit(process.exitCode ?? 0);
}
