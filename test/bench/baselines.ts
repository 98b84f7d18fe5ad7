/**
 * The baselines certfleet is compared with, over the same front-ends and the same files:
 * `parallel-scp` (Debian's pssh) and `ansible -m copy` (Debian's ansible), both with the
 * host keys pinned through a known_hosts file built from the inventory pins.
 */
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FleetHost } from '@certfleet/test-kit';
import { ownCpu, pidsByCmdlinePrefix, run, stopPids, type RunResult } from './measure.js';

export const PARALLEL_SCP = '/usr/bin/parallel-scp';
export const ANSIBLE = '/usr/bin/ansible';
/** The tools' own processes find ssh, scp and python3 here, not in a pyenv shim. */
const TOOL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What every baseline run shares under one condition. */
export interface BaselineContext {
  /** Scratch directory of this condition (short: ssh control sockets live under it). */
  dir: string;
  hosts: readonly FleetHost[];
  username: string;
  keyPath: string;
  installDir: string;
  concurrency: number;
  /** Extra `-o` options for ssh (e.g. KexAlgorithms=curve25519-sha256); empty for defaults. */
  sshOptions: string[];
}

/** One staged copy of the certificate: the same bytes certfleet installs, under run-unique names. */
export interface StagedFiles {
  dir: string;
  pfx: { name: string; path: string; data: Buffer };
  ca: { name: string; path: string; data: Buffer };
}

export interface BaselineSample {
  ms: number;
  /** CPU seconds of the tool and the ssh processes it ran. */
  clientCpu: number;
  /** The tool was stopped at its time limit: `ms` is a lower bound. */
  timedOut?: boolean;
}

/** How long ansible may take before it is stopped (its time is then reported as "more than"). */
export const ANSIBLE_TIMEOUT_MS = 300_000;

/** `[address]:port key` lines for every host: the pins as OpenSSH reads them. */
export function knownHostsText(hosts: readonly FleetHost[]): string {
  return hosts.map((h) => `[${h.address}]:${h.port} ${h.hostKeyLine}\n`).join('');
}

/** Writes `<run>.pfx` and `<run>.ca1.cer` (mode 0640, which scp keeps on new files). */
export async function stageFiles(
  ctx: BaselineContext,
  run: string,
  pfx: Buffer,
  caDer: Buffer,
): Promise<StagedFiles> {
  const dir = path.join(ctx.dir, 'stage', run);
  await mkdir(dir, { recursive: true });
  const staged: StagedFiles = {
    dir,
    pfx: { name: `${run}.pfx`, path: path.join(dir, `${run}.pfx`), data: pfx },
    ca: { name: `${run}.ca1.cer`, path: path.join(dir, `${run}.ca1.cer`), data: caDer },
  };
  for (const f of [staged.pfx, staged.ca]) {
    await writeFile(f.path, f.data);
    await chmod(f.path, 0o640);
  }
  return staged;
}

/** Every host's own disk holds exactly these bytes with mode 0640; throws otherwise. */
async function verifyOnHosts(
  tool: string,
  hosts: readonly FleetHost[],
  files: { name: string; data: Buffer }[],
  result: RunResult,
): Promise<void> {
  for (const host of hosts) {
    for (const f of files) {
      const p = path.join(host.dir, f.name);
      const ok =
        (await readFile(p).catch(() => Buffer.alloc(0))).equals(f.data) &&
        ((await stat(p)).mode & 0o777) === 0o640;
      if (!ok) {
        throw new Error(
          `${tool} did not leave ${f.name} (0640) on ${host.name} (exit ${result.code}):\n` +
            `${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`,
        );
      }
    }
  }
}

function sshArgs(ctx: BaselineContext, knownHosts: string): string[] {
  return [
    `-o UserKnownHostsFile=${knownHosts}`,
    '-o StrictHostKeyChecking=yes',
    ...ctx.sshOptions.map((o) => `-o ${o}`),
  ];
}

/**
 * parallel-scp of the .pfx and the CA file to the install directory of the first `n`
 * hosts, `-p <concurrency>`, each host on its own port from the hosts file.
 */
export async function runParallelScp(
  ctx: BaselineContext,
  n: number,
  staged: StagedFiles,
): Promise<BaselineSample> {
  const hosts = ctx.hosts.slice(0, n);
  const knownHosts = path.join(ctx.dir, 'known_hosts');
  const hostsFile = path.join(ctx.dir, `pscp-hosts-${n}`);
  await writeFile(knownHosts, knownHostsText(ctx.hosts));
  await writeFile(hostsFile, hosts.map((h) => `${h.address}:${h.port}\n`).join(''));
  const extra = [`-i ${ctx.keyPath}`, ...sshArgs(ctx, knownHosts)].join(' ');
  const result = await run(
    PARALLEL_SCP,
    [
      '-h',
      hostsFile,
      '-l',
      ctx.username,
      '-p',
      String(ctx.concurrency),
      '-t',
      '120',
      '-x',
      extra,
      staged.pfx.path,
      staged.ca.path,
      `${ctx.installDir}/`,
    ],
    { env: { PATH: TOOL_PATH, HOME: process.env['HOME'] ?? '/root', LANG: 'C.UTF-8' } },
  );
  if (result.code !== 0) {
    throw new Error(`parallel-scp exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  }
  await verifyOnHosts('parallel-scp', hosts, [staged.pfx, staged.ca], result);
  return { ms: result.ms, clientCpu: result.cpu };
}

/**
 * `ansible <group> -m copy -a "src=<pfx> dest=<installDir>/<name>.pfx mode=0640" -f <forks>`:
 * ad hoc, an inventory with ansible_host/port/user/key per host, host keys from the pins.
 * Ansible's own defaults otherwise (ControlPersist multiplexing, no pipelining); its
 * control sockets live in a fresh directory per run, so no run reuses another's
 * connections, and the masters are stopped (their CPU counted) when it exits.
 */
export async function runAnsibleCopy(
  ctx: BaselineContext,
  n: number,
  staged: StagedFiles,
  run_: string,
): Promise<BaselineSample> {
  const hosts = ctx.hosts.slice(0, n);
  const knownHosts = path.join(ctx.dir, 'known_hosts');
  await writeFile(knownHosts, knownHostsText(ctx.hosts));
  const ansibleDir = path.join(ctx.dir, 'ansible');
  const remoteTmp = path.join(ansibleDir, 'remote-tmp');
  await mkdir(remoteTmp, { recursive: true });
  // the unprivileged login makes its temporary directories here too
  await chmod(remoteTmp, 0o1777);
  await mkdir(path.join(ansibleDir, 'home'), { recursive: true });
  await mkdir(path.join(ansibleDir, 'local-tmp'), { recursive: true });
  const config = path.join(ansibleDir, 'ansible.cfg');
  await writeFile(config, '# empty: ansible defaults, no ansible.cfg from the working directory\n');
  const inventory = path.join(ansibleDir, `inventory-${n}.ini`);
  const common = sshArgs(ctx, knownHosts).join(' ');
  await writeFile(
    inventory,
    [
      '[fleet]',
      ...hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_port=${h.port}`),
      '',
      '[fleet:vars]',
      `ansible_user=${ctx.username}`,
      `ansible_ssh_private_key_file=${ctx.keyPath}`,
      'ansible_python_interpreter=/usr/bin/python3',
      `ansible_ssh_common_args='${common}'`,
      '',
    ].join('\n'),
  );
  // short: a unix socket path is at most 107 bytes
  const controlDir = path.join(ctx.dir, `cp${run_.replace(/[^0-9a-z]/gi, '').slice(-12)}`);
  await mkdir(controlDir, { recursive: true });
  const result = await run(
    ANSIBLE,
    [
      'fleet',
      '-i',
      inventory,
      '-f',
      String(ctx.concurrency),
      '-m',
      'copy',
      '-a',
      `src=${staged.pfx.path} dest=${ctx.installDir}/${staged.pfx.name} mode=0640`,
      '-o',
    ],
    {
      timeoutMs: ANSIBLE_TIMEOUT_MS,
      env: {
        PATH: TOOL_PATH,
        HOME: process.env['HOME'] ?? '/root',
        LANG: 'C.UTF-8',
        ANSIBLE_CONFIG: config,
        ANSIBLE_HOME: path.join(ansibleDir, 'home'),
        ANSIBLE_LOCAL_TEMP: path.join(ansibleDir, 'local-tmp'),
        ANSIBLE_REMOTE_TEMP: remoteTmp,
        ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
        ANSIBLE_HOST_KEY_CHECKING: 'True',
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_DEPRECATION_WARNINGS: 'False',
      },
    },
  );
  // ControlPersist masters outlive ansible: count their CPU, then stop them (by pid)
  const masters = pidsByCmdlinePrefix(`ssh: ${controlDir}/`);
  const masterCpu = ownCpu(masters);
  await stopPids(masters);
  await rm(controlDir, { recursive: true, force: true });
  const changed = (result.stdout.match(/\| CHANGED =>/g) ?? []).length;
  // stopped at the limit (exit by signal): the limit is a lower bound of ansible's time
  if (result.code === null && result.ms >= ANSIBLE_TIMEOUT_MS) {
    return { ms: result.ms, clientCpu: result.cpu + masterCpu, timedOut: true };
  }
  if (result.code !== 0 || changed !== n) {
    throw new Error(
      `ansible exited ${result.code} with ${changed} of ${n} hosts changed:\n` +
        `${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`,
    );
  }
  await verifyOnHosts('ansible', hosts, [staged.pfx], result);
  return { ms: result.ms, clientCpu: result.cpu + masterCpu };
}

/** After a tool exits, sshd reaps its last sessions a moment later: then its CPU is complete. */
export async function settle(): Promise<void> {
  await sleep(150);
}

/** `parallel-scp --version`, `ansible --version` (first line), `ssh -V`. */
export async function toolVersions(): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  const first = (r: RunResult): string => (r.stdout + r.stderr).trim().split('\n')[0] ?? '';
  versions['parallel-scp'] = await run(PARALLEL_SCP, ['--version']).then(first, () => 'missing');
  versions['ansible'] = await run(ANSIBLE, ['--version']).then(first, () => 'missing');
  versions['openssh'] = await run('ssh', ['-V']).then(first, () => 'missing');
  return versions;
}
