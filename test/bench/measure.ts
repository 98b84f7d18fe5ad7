/**
 * Small measuring tools for the fan-out benchmark: medians, CPU time of this process, of
 * its children and of the sshd front-ends, child processes that can be stopped on Ctrl-C,
 * and plain-text tables.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

// ---------------------------------------------------------------------------------------
// statistics

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function min(values: readonly number[]): number {
  return values.length === 0 ? NaN : Math.min(...values);
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

// ---------------------------------------------------------------------------------------
// CPU time, read from /proc (seconds)

const CLK_TCK = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime, stime, cutime, cstime of a process, in seconds; undefined when it is gone. */
function procTimes(pid: number | 'self'): { own: number; children: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = (Number(f[11]) + Number(f[12])) / CLK_TCK;
    const children = (Number(f[13]) + Number(f[14])) / CLK_TCK;
    return { own, children };
  } catch {
    return undefined;
  }
}

/** CPU seconds of every child this process has waited for (and of their waited-for children). */
export function reapedChildrenCpu(): number {
  return procTimes('self')?.children ?? 0;
}

/** CPU seconds of this process (every thread). */
export function selfCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * CPU seconds spent by sshd daemons and every connection they served and reaped: the
 * daemon's own time plus its children's (each connection's sshd, the shells it ran).
 */
export function daemonsCpu(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    const t = procTimes(pid);
    if (t) total += t.own + t.children;
  }
  return total;
}

/** Pids of processes whose command line starts with `prefix` (e.g. ssh ControlMaster sockets in our dir). */
export function pidsByCmdlinePrefix(prefix: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.startsWith(prefix)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Own CPU seconds of the given processes (for processes nobody of ours will reap). */
export function ownCpu(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (procTimes(pid)?.own ?? 0), 0);
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Pid → parent pid of every process, from /proc. */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      table.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/**
 * For a signal handler, synchronously: SIGTERM to every process below the given daemons
 * (their SSH sessions and the shells these run), then waits up to `timeoutMs` for them
 * to go. A shell ended by SIGTERM still runs its EXIT traps; SIGKILL would not, and a
 * root login killed inside ~/.bashrc's `pyenv rehash` leaves its lock file behind, which
 * makes every later root login wait 60 s.
 */
export function terminateDescendantsSync(daemons: readonly number[], timeoutMs: number): void {
  const table = processTable();
  const tree: number[] = [];
  const parents = new Set(daemons);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of table) {
      if (parents.has(ppid) && !parents.has(pid)) {
        parents.add(pid);
        tree.push(pid);
        grew = true;
      }
    }
  }
  for (const pid of tree) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + timeoutMs;
  while (tree.some(alive) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 20);
}

/** SIGTERM to each pid, then waits (up to 3 s, then SIGKILL) until all are gone. */
export async function stopPids(pids: readonly number[]): Promise<void> {
  const signal = (sig: NodeJS.Signals): void => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + 3_000;
  while (pids.some(alive)) {
    if (Date.now() > deadline) {
      signal('SIGKILL');
      break;
    }
    await sleep(20);
  }
}

// ---------------------------------------------------------------------------------------
// child processes

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, ms. */
  ms: number;
  /** CPU seconds of the process and every descendant it waited for. */
  cpu: number;
}

/** Children still running, by process group: stopped on Ctrl-C. */
const running = new Set<number>();

/**
 * Runs a program in its own process group (so that Ctrl-C handling can stop it with all
 * the ssh processes it started) and collects its output.
 */
export function run(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const cpuBefore = reapedChildrenCpu();
    const started = performance.now();
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const pid = child.pid;
    if (pid !== undefined) running.add(pid);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    // SIGTERM first: shells run their EXIT traps (and release what they locked)
    const timer = setTimeout(() => {
      if (pid === undefined) return;
      killGroup(pid, 'SIGTERM');
      setTimeout(() => killGroup(pid, 'SIGKILL'), 2_000).unref();
    }, options.timeoutMs ?? 300_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      if (pid !== undefined) running.delete(pid);
      reject(err);
    });
    child.once('close', (code, signal) => {
      const ms = performance.now() - started;
      clearTimeout(timer);
      if (pid !== undefined) running.delete(pid);
      resolve({ code, signal, stdout, stderr, ms, cpu: reapedChildrenCpu() - cpuBefore });
    });
  });
}

function killGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    // already gone
  }
}

/** For the signal handler: stops every child process group still running. */
export function killRunningChildren(): void {
  for (const pgid of running) killGroup(pgid, 'SIGKILL');
  running.clear();
}

// ---------------------------------------------------------------------------------------
// tables

export type Align = 'left' | 'right';

/** A plain-text table with a header row; columns are right-aligned unless told otherwise. */
export function table(header: string[], rows: string[][], align: Align[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => ((align[i] ?? 'right') === 'left' ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function ms(value: number): string {
  return Number.isFinite(value) ? value.toFixed(0) : '-';
}

export function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

// ---------------------------------------------------------------------------------------
// memory, read from /proc

/** A field of /proc/<pid>/status in MiB (VmRSS, VmHWM); NaN once the process is gone. */
function statusMiB(pid: number | 'self', field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Resident memory of a process (default: this one) now, MiB. */
export function rssMiB(pid: number | 'self' = 'self'): number {
  return statusMiB(pid, 'VmRSS');
}

/**
 * Starts a peak-RSS window for a process (default: this one): the kernel's high-water
 * mark (VmHWM) is reset to the current RSS (`echo 5 > /proc/<pid>/clear_refs`), so the
 * returned function reads the exact peak since, in MiB, without sampling.
 */
export function peakRssWindow(pid: number | 'self' = 'self'): () => number {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  return () => statusMiB(pid, 'VmHWM');
}
