/**
 * A fleet of real OpenSSH front-ends on this machine, for tests and the demo.
 *
 * Every host is its own `sshd` on its own 127.x address, with its own ed25519 host key
 * (generated per run) and its own disk: sshd runs in a private mount namespace where a
 * per-host folder is bind-mounted at the shared install directory, so every host shows
 * its own `installDir` and the caller reads the results straight from `host.dir`.
 *
 * No test-framework imports here: `deploy/demo/` calls `startFleet` from a plain script.
 * Needs root, util-linux `unshare`, and openssh-server (`/usr/sbin/sshd`).
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const SSHD = '/usr/sbin/sshd';
const DEFAULT_INSTALL_DIR = '/srv/fleet-certs';
const DEFAULT_PORT = 2222;
// generous: 100 hosts start at once on a busy 2-core machine
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;

/** One front-end: a real sshd with its own address, host key and disk. */
export interface FleetHost {
  /** `fe1`, `fe2`, … */
  name: string;
  /** 127.A.B.N, unique to this fleet */
  address: string;
  port: number;
  /** This host's own disk: what the host sees at `installDir`. */
  dir: string;
  /** `ssh-ed25519 AAAA…` (type and key, no comment): the inventory pin. */
  hostKeyLine: string;
  /** sshd's PidFile; stop() signals the pid written there, never a process name. */
  pidFile: string;
  /** sshd's log (`-E`, LogLevel VERBOSE): shows connections and accepted keys. */
  logFile: string;
  /** sshd_config, host key and pid file live here, outside the host's disk. */
  configDir: string;
  /** Stops sshd and every process it forked (sessions too); resolves when all are gone. */
  stop(): Promise<void>;
  /** Starts sshd again (mounting `dir` afresh); resolves once it answers with its own key. */
  start(): Promise<void>;
  /** SIGSTOP to sshd and its sessions: a host that hangs (TCP still connects). */
  pause(): void;
  /** SIGCONT to whatever pause() stopped. */
  resume(): void;
  /** True between a successful start() and stop(). */
  readonly running: boolean;
}

/** A set of front-ends sharing one client key; see `startFleet`. */
export interface Fleet {
  hosts: FleetHost[];
  /** ed25519 private key (OpenSSH format, no passphrase) accepted by every host, for every user. */
  clientKeyPath: string;
  /** `ssh-ed25519 AAAA… comment` */
  clientPublicKey: string;
  /** The login name the fleet was started for (default `root`). */
  username: string;
  /** The path where every host shows its own disk. */
  installDir: string;
  /** Everything of this fleet (keys, configs, logs, disks) lives here; removed by stop(). */
  baseDir: string;
  /** Stops every host, unmounts anything mounted under baseDir, removes baseDir. */
  stop(): Promise<void>;
}

/** Options of `startFleet`; every field but `count` has a default. */
export interface FleetOptions {
  /** Number of hosts (1–254). */
  count: number;
  /** Where each host shows its own disk; created on this machine when missing. Default /srv/fleet-certs. */
  installDir?: string;
  /** Login user the caller will use; created (idempotently) when not root. Default root. */
  username?: string;
  /** Port every host listens on (each on its own address). Default 2222. */
  port?: number;
  /**
   * Lines appended to each host's sshd_config after the defaults (`Match` blocks go
   * here); a function gives each host its own.
   */
  extraConfig?: string[] | ((host: { name: string; address: string }) => string[]);
}

// ---------------------------------------------------------------------------------------
// cleanup on exit: no sshd outlives the process that started it

const liveFleets = new Set<FleetImpl>();
const usedBlocks = new Set<string>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllSync();
      // With no other listener the signal would have ended the process: do so still.
      process.removeListener(signal, onSignal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function killAllSync(): void {
  for (const fleet of liveFleets) fleet.killSync();
  liveFleets.clear();
}

// ---------------------------------------------------------------------------------------
// processes, by pid only

/** Pid → parent pid, for every process, read from /proc. */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // comm may contain spaces and parens: the fields after the last ')' are fixed
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), Number(fields[1]));
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/** `pid` and all its descendants (sshd's per-connection monitors and sessions). */
function processTree(pid: number): number[] {
  const table = processTable();
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of table) if (parent === tree[i] && !tree.includes(child)) tree.push(child);
  }
  return tree;
}

/** Alive and not a zombie (pid 1 here may not reap the daemons it inherits). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

async function waitGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// mounts

/** Mount points at or below `dir` in this process's namespace, deepest first. */
function mountsUnder(dir: string): string[] {
  const points: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const point = line.split(' ')[4];
    if (point === undefined) continue;
    // mountinfo escapes space, tab, newline and backslash as octal
    const decoded = point.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
    if (decoded === dir || decoded.startsWith(dir + '/')) points.push(decoded);
  }
  return points.sort((a, b) => b.length - a.length);
}

function unmountUnderSync(dir: string): void {
  for (const point of mountsUnder(dir)) spawnSync('umount', ['-l', point], { stdio: 'ignore' });
}

// ---------------------------------------------------------------------------------------
// addresses

function portIsFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A random 127.A.B.0/24 block whose first `count` addresses have `port` free. A is
 * 20–250, which stays clear of the 127.0.x.x examples in the docs. The host key check
 * after start catches the rare race with another process binding the same address.
 */
async function pickBlock(count: number, port: number): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const block = `127.${randomInt(20, 251)}.${randomInt(0, 256)}`;
    if (usedBlocks.has(block)) continue;
    const free = await Promise.all(
      Array.from({ length: count }, (_, i) => portIsFree(`${block}.${i + 1}`, port)),
    );
    if (free.every(Boolean)) {
      usedBlocks.add(block);
      return block;
    }
  }
  throw new Error(`no free 127.x.y.0/24 block with port ${port} free on ${count} addresses`);
}

// ---------------------------------------------------------------------------------------
// keys and users

async function generateKey(path: string, comment: string): Promise<string> {
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  return (await readFile(`${path}.pub`, 'utf8')).trim();
}

/** Type and base64 of an OpenSSH public key line, without its comment. */
function keyLineWithoutComment(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(' ');
}

/** How `ensureUser` creates a login that does not exist yet. */
export interface UserOptions {
  /** Login shell. Default /bin/sh. */
  shell?: string;
  /** Home directory, created and owned by the user; default: none created. */
  home?: string;
}

/**
 * Makes sure a local login `name` exists and can log in with a key (not locked: sshd
 * refuses locked accounts when UsePAM is off). Safe to call from concurrent processes.
 */
export async function ensureUser(
  name: string,
  options: UserOptions = {},
): Promise<{ uid: number; gid: number }> {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(name)) throw new Error(`not a valid user name: ${name}`);
  const exists = spawnSync('id', ['-u', name]).status === 0;
  if (!exists) {
    const home = options.home === undefined ? ['-M'] : ['-m', '-d', options.home];
    const args = [...home, '-s', options.shell ?? '/bin/sh', '-p', '*', name];
    const made = spawnSync('useradd', args, { encoding: 'utf8' });
    // 9: created meanwhile by a concurrent run
    if (made.status !== 0 && made.status !== 9) throw new Error(`useradd ${name}: ${made.stderr.trim()}`);
  } else {
    const shadow = readFileSync('/etc/shadow', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${name}:`));
    if (shadow?.split(':')[1]?.startsWith('!')) {
      const unlocked = spawnSync('usermod', ['-p', '*', name], { encoding: 'utf8' });
      if (unlocked.status !== 0) throw new Error(`usermod ${name}: ${unlocked.stderr.trim()}`);
    }
  }
  const uid = Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', name], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}

// ---------------------------------------------------------------------------------------
// hosts

interface HostSetup {
  name: string;
  address: string;
  port: number;
  dir: string;
  configDir: string;
  installDir: string;
  authorizedKeysFile: string;
  extraConfig: string[];
}

class HostImpl implements FleetHost {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly dir: string;
  readonly configDir: string;
  readonly pidFile: string;
  readonly logFile: string;
  hostKeyLine = '';
  private readonly installDir: string;
  private readonly configFile: string;
  private readonly hostKeyFile: string;
  private readonly authorizedKeysFile: string;
  private readonly extraConfig: string[];
  private pid: number | undefined;
  private paused: number[] = [];

  constructor(setup: HostSetup) {
    this.name = setup.name;
    this.address = setup.address;
    this.port = setup.port;
    this.dir = setup.dir;
    this.configDir = setup.configDir;
    this.installDir = setup.installDir;
    this.authorizedKeysFile = setup.authorizedKeysFile;
    this.extraConfig = setup.extraConfig;
    this.pidFile = join(setup.configDir, 'sshd.pid');
    this.logFile = join(setup.configDir, 'sshd.log');
    this.configFile = join(setup.configDir, 'sshd_config');
    this.hostKeyFile = join(setup.configDir, 'ssh_host_ed25519_key');
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  /** Creates the disk, host key and sshd_config (once), then starts. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    await chmod(this.dir, 0o755);
    await mkdir(this.configDir, { recursive: true, mode: 0o755 });
    this.hostKeyLine = keyLineWithoutComment(await generateKey(this.hostKeyFile, this.name));
    const config = [
      `ListenAddress ${this.address}:${this.port}`,
      `HostKey ${this.hostKeyFile}`,
      `PidFile ${this.pidFile}`,
      `AuthorizedKeysFile ${this.authorizedKeysFile}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'StrictModes no',
      'UseDNS no',
      'PrintMotd no',
      'X11Forwarding no',
      'LogLevel VERBOSE',
      'Subsystem sftp internal-sftp',
      ...this.extraConfig,
      '',
    ].join('\n');
    await writeFile(this.configFile, config, { mode: 0o644 });
    await this.start();
  }

  async start(): Promise<void> {
    if (this.pid !== undefined) throw new Error(`${this.name} is already running (pid ${this.pid})`);
    await rm(this.pidFile, { force: true });
    // Paths go in as positional parameters: nothing is interpolated into the script.
    const script = 'mount --bind "$1" "$2" && exec "$3" -f "$4" -E "$5"';
    const args = ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh'];
    args.push(this.dir, this.installDir, SSHD, this.configFile, this.logFile);
    const launched = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn('unshare', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stderr }));
    });
    if (launched.code !== 0) {
      throw new Error(`${this.name}: sshd did not start (exit ${launched.code}): ${launched.stderr.trim()}`);
    }
    // sshd daemonises before it binds: it is up once its pid file names a live process
    // and ssh-keyscan on its address returns this host's key (not another process's).
    const deadline = Date.now() + START_TIMEOUT_MS;
    let pid: number | undefined;
    for (;;) {
      if (pid === undefined && existsSync(this.pidFile)) {
        const text = (await readFile(this.pidFile, 'utf8')).trim();
        if (/^\d+$/.test(text)) pid = Number(text);
      }
      if (pid !== undefined) {
        if (!isAlive(pid)) throw new Error(`${this.name}: sshd exited after start: ${this.logTail()}`);
        const key = await keyscan(this.address, this.port);
        if (key !== undefined) {
          if (key !== this.hostKeyLine) {
            signal(processTree(pid), 'SIGTERM');
            throw new Error(`${this.name}: ${this.address}:${this.port} answers with another host key`);
          }
          this.pid = pid;
          return;
        }
      }
      if (Date.now() > deadline) {
        if (pid !== undefined) signal(processTree(pid), 'SIGKILL');
        throw new Error(`${this.name}: sshd did not answer within ${START_TIMEOUT_MS} ms: ${this.logTail()}`);
      }
      await sleep(pid === undefined ? 10 : 50);
    }
  }

  async stop(): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) return;
    const tree = processTree(pid);
    signal(tree, 'SIGTERM');
    // a paused process keeps a pending SIGTERM until it runs again
    signal(tree, 'SIGCONT');
    this.paused = [];
    if (!(await waitGone(tree, STOP_TIMEOUT_MS))) {
      signal(processTree(pid).concat(tree), 'SIGKILL');
      if (!(await waitGone(tree, STOP_TIMEOUT_MS))) throw new Error(`${this.name}: sshd ${pid} did not exit`);
    }
    this.pid = undefined;
    await unlink(this.pidFile).catch(() => undefined);
  }

  pause(): void {
    if (this.pid === undefined) throw new Error(`${this.name} is not running`);
    this.paused = processTree(this.pid);
    signal(this.paused, 'SIGSTOP');
  }

  resume(): void {
    signal(this.paused, 'SIGCONT');
    this.paused = [];
  }

  /** For exit hooks: no waiting, no promises. */
  killSync(): void {
    if (this.pid === undefined) return;
    const tree = processTree(this.pid);
    // SIGTERM first: a login shell killed outright can leave a lock behind (root's pyenv
    // rehash lock stalled every later root login for 60 s once). SIGKILL what is left.
    signal(tree, 'SIGTERM');
    signal(tree, 'SIGCONT');
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 20 && tree.some(isAlive); i++) Atomics.wait(nap, 0, 0, 25);
    signal(tree.filter(isAlive), 'SIGKILL');
    this.pid = undefined;
  }

  private logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-5).join(' | ');
    } catch {
      return '(no sshd log)';
    }
  }
}

/** The ed25519 key line a host presents, or undefined when it does not answer (yet). */
async function keyscan(address: string, port: number): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync(
      'ssh-keyscan',
      ['-T', '2', '-t', 'ed25519', '-p', String(port), address],
      { timeout: 5_000 },
    );
    const line = stdout.split('\n').find((l) => l.includes(' ssh-ed25519 '));
    return line === undefined ? undefined : keyLineWithoutComment(line.slice(line.indexOf(' ') + 1));
  } catch {
    return undefined;
  }
}

class FleetImpl implements Fleet {
  hosts: HostImpl[] = [];
  clientKeyPath = '';
  clientPublicKey = '';
  private stopped = false;

  constructor(
    readonly baseDir: string,
    readonly username: string,
    readonly installDir: string,
    private readonly block: string,
  ) {}

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await Promise.all(this.hosts.map((h) => h.stop()));
    } finally {
      liveFleets.delete(this);
      usedBlocks.delete(this.block);
      unmountUnderSync(this.baseDir);
      await rm(this.baseDir, { recursive: true, force: true });
    }
  }

  killSync(): void {
    for (const host of this.hosts) host.killSync();
    unmountUnderSync(this.baseDir);
    rmSync(this.baseDir, { recursive: true, force: true });
  }
}

/**
 * Starts `count` real sshd front-ends in parallel and resolves once every one answers
 * with its own host key. Call `stop()` when done; hosts are also killed on process exit.
 */
export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  const {
    count,
    installDir = DEFAULT_INSTALL_DIR,
    username = 'root',
    port = DEFAULT_PORT,
    extraConfig = [],
  } = opts;
  if (!Number.isInteger(count) || count < 1 || count > 254) throw new Error(`count must be 1–254: ${count}`);
  if (!installDir.startsWith('/')) throw new Error(`installDir must be absolute: ${installDir}`);
  if (process.getuid?.() !== 0) throw new Error('startFleet needs root (mount namespaces, sshd)');
  if (username !== 'root') await ensureUser(username);

  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  await mkdir(installDir, { recursive: true, mode: 0o755 });
  const baseDir = await mkdtemp(join(tmpdir(), 'certfleet-fleet-'));
  // every login user reads the authorized keys file with its own uid
  await chmod(baseDir, 0o755);
  const block = await pickBlock(count, port);
  const fleet = new FleetImpl(baseDir, username, installDir, block);
  installExitHooks();
  liveFleets.add(fleet);
  try {
    const clientDir = join(baseDir, 'client');
    await mkdir(clientDir, { mode: 0o755 });
    fleet.clientKeyPath = join(clientDir, 'id_ed25519');
    fleet.clientPublicKey = await generateKey(fleet.clientKeyPath, 'certfleet-test-client');
    const authorizedKeysFile = join(clientDir, 'authorized_keys');
    await writeFile(authorizedKeysFile, fleet.clientPublicKey + '\n', { mode: 0o644 });

    fleet.hosts = Array.from(
      { length: count },
      (_, i) =>
        new HostImpl({
          name: `fe${i + 1}`,
          address: `${block}.${i + 1}`,
          port,
          dir: join(baseDir, 'disk', `fe${i + 1}`),
          configDir: join(baseDir, 'etc', `fe${i + 1}`),
          installDir,
          authorizedKeysFile,
          extraConfig:
            typeof extraConfig === 'function'
              ? extraConfig({ name: `fe${i + 1}`, address: `${block}.${i + 1}` })
              : extraConfig,
        }),
    );
    const started = await Promise.allSettled(fleet.hosts.map((h) => h.init()));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return fleet;
  } catch (err) {
    await fleet.stop();
    throw err;
  }
}
