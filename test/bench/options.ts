/** Command-line options of the fan-out benchmark (`npm run bench -- --hosts 4,16 --runs 3`). */

export type ToolName = 'certfleet' | 'parallel-scp' | 'ansible';
export const TOOLS: readonly ToolName[] = ['certfleet', 'parallel-scp', 'ansible'];

/**
 * Under which conditions every tool runs:
 * - `as-is`: this machine as it is: log in as root, whose bash runs ~/.bashrc (pyenv) on
 *   every remote command; each tool keeps its own default key exchange.
 * - `equal`: the same conditions for all: an unprivileged login whose shell is /bin/sh
 *   (no rc file), and every tool on curve25519-sha256, the key exchange ssh2 negotiates.
 */
export type ConditionName = 'as-is' | 'equal';
export const CONDITIONS: readonly ConditionName[] = ['as-is', 'equal'];

export interface BenchOptions {
  hosts: number[];
  runs: number;
  /**
   * FLEET_CONCURRENCY, and the same parallelism for parallel-scp (-p) and ansible (-f);
   * 0: as many as hosts (every host at once).
   */
  concurrency: number;
  /** Host counts at which ansible runs (when it is among the tools). */
  ansibleHosts: number[];
  /** Jobs approved at once in the many-jobs round; 0 skips it. */
  jobs: number;
  /** Front-ends every job of the many-jobs round goes to. */
  jobsHosts: number;
  /** FLEET_CONCURRENCY of the many-jobs round. */
  jobsConcurrency: number;
  conditions: ConditionName[];
  tools: ToolName[];
  /**
   * After its first run at one host count, a baseline is not repeated once another run
   * would take its time there past this many seconds (0: always `runs`). Keeps ansible's
   * slow runs at 16 and 32 hosts from dominating the total; certfleet always gets `runs`.
   */
  budgetS: number;
  /** Repetitions of each single-host probe step; 0 skips the probe. */
  probeReps: number;
  /** One untimed round per condition before the measured ones. */
  warmup: boolean;
  json: string | undefined;
}

export const USAGE = `Usage: npm run bench -- [options]

Compares certfleet (one job through the HTTP API, BullMQ and SSH) with parallel-scp and
ansible -m copy over the same real sshd front-ends. Prints figures; never fails on time.

  --hosts LIST         front-end counts to measure (default 20,100; 1-254 each)
  --runs N             repetitions of each measurement; median and min are shown (default 3)
  --budget SECONDS     after its first run at one host count, a baseline is not repeated
                       once another run would take it past this (default 15; 0: always
                       --runs); certfleet always gets --runs
  --concurrency N      FLEET_CONCURRENCY = parallel-scp -p = ansible -f (default 0: as
                       many as hosts, every host at once)
  --conditions LIST    as-is,equal (default as-is)
                         as-is: root login (bash runs ~/.bashrc on every command),
                                each tool's default key exchange
                         equal: /bin/sh login without rc file, curve25519-sha256 for all
  --tools LIST         certfleet,parallel-scp,ansible (default certfleet,parallel-scp)
  --ansible            also run ansible -m copy (at --ansible-hosts only)
  --ansible-hosts LIST host counts for ansible (default 20)
  --jobs N             many-jobs round: N jobs approved at once (default 200; 0 skips it)
  --jobs-hosts M       ... each for the same M front-ends (default 10)
  --jobs-concurrency C ... with FLEET_CONCURRENCY C (default 16, certfleet's default)
  --probe-reps N       repetitions of the single-host cost probe (default 5; 0 skips it)
  --no-warmup          skip the untimed warm-up round
  --json FILE          also write every sample as JSON
  --help               this text
`;

function list<T extends string>(value: string, allowed: readonly T[], flag: string): T[] {
  const items = value.split(',').map((s) => s.trim());
  for (const item of items) {
    if (!allowed.includes(item as T)) throw new Error(`${flag}: ${item} is not one of ${allowed.join(', ')}`);
  }
  return [...new Set(items as T[])];
}

function integer(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag}: ${value} is not ${min}-${max}`);
  return n;
}

/** Parses argv (without node and script); undefined means --help was asked for. */
export function parseOptions(argv: string[]): BenchOptions | undefined {
  const options: BenchOptions = {
    hosts: [20, 100],
    runs: 3,
    concurrency: 0,
    ansibleHosts: [20],
    jobs: 200,
    jobsHosts: 10,
    jobsConcurrency: 16,
    conditions: ['as-is'],
    tools: ['certfleet', 'parallel-scp'],
    budgetS: 15,
    probeReps: 5,
    warmup: true,
    json: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--help':
      case '-h':
        return undefined;
      case '--hosts':
        options.hosts = [
          ...new Set(
            value()
              .split(',')
              .map((s) => integer(s.trim(), '--hosts', 1, 254)),
          ),
        ].sort((a, b) => a - b);
        break;
      case '--runs':
        options.runs = integer(value(), '--runs', 1, 100);
        break;
      case '--concurrency':
        options.concurrency = integer(value(), '--concurrency', 0, 1000);
        break;
      case '--ansible':
        if (!options.tools.includes('ansible')) options.tools.push('ansible');
        break;
      case '--ansible-hosts':
        options.ansibleHosts = value()
          .split(',')
          .map((s) => integer(s.trim(), '--ansible-hosts', 1, 254));
        break;
      case '--jobs':
        options.jobs = integer(value(), '--jobs', 0, 10_000);
        break;
      case '--jobs-hosts':
        options.jobsHosts = integer(value(), '--jobs-hosts', 1, 254);
        break;
      case '--jobs-concurrency':
        options.jobsConcurrency = integer(value(), '--jobs-concurrency', 1, 1000);
        break;
      case '--conditions':
        options.conditions = list(value(), CONDITIONS, '--conditions');
        break;
      case '--tools':
        options.tools = list(value(), TOOLS, '--tools');
        break;
      case '--budget':
        options.budgetS = integer(value(), '--budget', 0, 100_000);
        break;
      case '--probe-reps':
        options.probeReps = integer(value(), '--probe-reps', 0, 100);
        break;
      case '--no-warmup':
        options.warmup = false;
        break;
      case '--json':
        options.json = value();
        break;
      default:
        throw new Error(`unknown option ${arg}\n\n${USAGE}`);
    }
  }
  return options;
}
