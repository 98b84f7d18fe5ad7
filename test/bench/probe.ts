/**
 * Where one target's time goes, measured on a single front-end with nothing else running:
 * the SSH handshake, the SFTP channel and remote commands (the login shell starting, with
 * or without an rc file), each with ssh2's default socket (Nagle on, as certfleet uses it)
 * and with TCP_NODELAY; certfleet's own per-host install code without queue or API;
 * OpenSSH's client with its default and with ssh2's key exchange; and the intake's PFX
 * inspection, which every submission pays once.
 */
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { inspectPfx, inspectPfxSync } from '@certfleet/certs';
import { hostKeyMatches, installOnHost } from '@certfleet/ssh';
import { Client, type ConnectConfig } from 'ssh2';
import type { FleetHost } from '@certfleet/test-kit';
import { median, run } from './measure.js';

export interface ProbeTarget {
  host: FleetHost;
  username: string;
  keyPath: string;
  knownHostsPath: string;
  installDir: string;
}

/** Step → median ms. */
export type ProbeResult = Record<string, number>;

export const PROBE_STEPS = {
  connect: 'ssh2 connect + key exchange + auth (socket as certfleet: Nagle on)',
  sftpOpen: 'ssh2 open SFTP channel (Nagle on)',
  execTrue: 'ssh2 exec `true` = login shell start (Nagle on)',
  execSha: 'ssh2 exec `sha256sum` (Nagle on)',
  connectNoDelay: 'ssh2 connect + key exchange + auth, TCP_NODELAY',
  sftpOpenNoDelay: 'ssh2 open SFTP channel, TCP_NODELAY',
  execTrueNoDelay: 'ssh2 exec `true`, TCP_NODELAY',
  execShaNoDelay: 'ssh2 exec `sha256sum`, TCP_NODELAY',
  installFresh: 'certfleet installOnHost, new files (no queue, no API)',
  installUnchanged: 'certfleet installOnHost, unchanged (no queue, no API)',
  installFreshNoDelay: 'what-if: installOnHost, new files, TCP_NODELAY',
  installUnchangedNoDelay: 'what-if: installOnHost, unchanged, TCP_NODELAY',
  opensshDefault: 'OpenSSH `ssh host true`, default KEX (sntrup761x25519)',
  opensshCurve: 'OpenSSH `ssh host true`, curve25519-sha256',
  inspectThread: 'intake: inspectPfx in a new worker thread (as POST /v1/jobs)',
  inspectSync: 'intake: inspectPfxSync in this thread',
} as const;

export type ProbeStep = keyof typeof PROBE_STEPS;

/** Connects with the pin checked; `noDelay` hands ssh2 a socket with TCP_NODELAY set before connecting. */
function connect(t: ProbeTarget, key: Buffer, noDelay: boolean): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.connect({
      host: t.host.address,
      port: t.host.port,
      username: t.username,
      privateKey: key,
      hostVerifier: (presented: Buffer) => hostKeyMatches(t.host.hostKeyLine, presented),
      ...(noDelay ? { sock: net.connect({ host: t.host.address, port: t.host.port, noDelay: true }) } : {}),
    });
  });
}

function exec(client: Client, command: string): Promise<number> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) return reject(err);
      let code = -1;
      channel.on('exit', (c: number | null) => (code = c ?? -1));
      channel.on('data', () => undefined);
      channel.stderr.on('data', () => undefined);
      channel.once('close', () => resolve(code));
      channel.end();
    });
  });
}

function sftp(client: Client): Promise<void> {
  return new Promise((resolve, reject) => client.sftp((err) => (err ? reject(err) : resolve())));
}

function closed(client: Client): Promise<void> {
  return new Promise((resolve) => {
    client.once('close', () => resolve());
    client.end();
  });
}

/**
 * What-if: runs `fn` with TCP_NODELAY set on every ssh2 socket, by wrapping
 * `Client.prototype.connect` for the duration (nothing else uses SSH meanwhile). This is
 * the one-line change `client.setNoDelay(true)` after `client.connect()` in certfleet.
 */
async function withNoDelay<T>(fn: () => Promise<T>): Promise<T> {
  const original = Client.prototype.connect;
  Client.prototype.connect = function (this: Client, config: ConnectConfig): Client {
    original.call(this, config);
    this.setNoDelay(true);
    return this;
  };
  try {
    return await fn();
  } finally {
    Client.prototype.connect = original;
  }
}

/** Every probe step has a deadline: a host that hangs stops the benchmark instead of stalling it. */
async function timed<T>(fn: () => Promise<T>, timeoutMs = 60_000): Promise<[number, T]> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`probe step did not finish within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    const value = await Promise.race([fn(), deadline]);
    return [performance.now() - started, value];
  } finally {
    clearTimeout(timer);
  }
}

export interface ProbeCertificate {
  pfx: Buffer;
  password: string;
  caPem: string;
  caDer: Buffer;
}

export async function probe(t: ProbeTarget, reps: number, cert: ProbeCertificate): Promise<ProbeResult> {
  const key = await readFile(t.keyPath);
  const samples = Object.fromEntries(Object.keys(PROBE_STEPS).map((k) => [k, [] as number[]])) as Record<
    ProbeStep,
    number[]
  >;
  const sha = 'sha256sum -- /etc/hostname';
  for (let i = 0; i < reps; i++) {
    // the order of certfleet's own steps: connect, SFTP, then commands
    for (const noDelay of [false, true]) {
      const [connectMs, client] = await timed(() => connect(t, key, noDelay));
      samples[noDelay ? 'connectNoDelay' : 'connect'].push(connectMs);
      samples[noDelay ? 'sftpOpenNoDelay' : 'sftpOpen'].push((await timed(() => sftp(client)))[0]);
      samples[noDelay ? 'execTrueNoDelay' : 'execTrue'].push((await timed(() => exec(client, 'true')))[0]);
      samples[noDelay ? 'execShaNoDelay' : 'execSha'].push((await timed(() => exec(client, sha)))[0]);
      await closed(client);
    }

    const target = {
      host: t.host.address,
      port: t.host.port,
      username: t.username,
      privateKey: key,
      hostKey: t.host.hostKeyLine,
    };
    const request = {
      installDir: t.installDir,
      name: `probe-${t.username}-${process.pid}-${i}`,
      pfx: cert.pfx,
      caCertificates: [cert.caDer],
      password: cert.password,
    };
    samples.installFresh.push((await timed(() => installOnHost(target, 'linux', request)))[0]);
    samples.installUnchanged.push((await timed(() => installOnHost(target, 'linux', request)))[0]);
    const again = { ...request, name: `${request.name}-nodelay` };
    await withNoDelay(async () => {
      samples.installFreshNoDelay.push((await timed(() => installOnHost(target, 'linux', again)))[0]);
      samples.installUnchangedNoDelay.push((await timed(() => installOnHost(target, 'linux', again)))[0]);
    });

    for (const [step, kex] of [
      ['opensshDefault', []],
      ['opensshCurve', ['-o', 'KexAlgorithms=curve25519-sha256']],
    ] as const) {
      const result = await run('/usr/bin/ssh', [
        ...['-i', t.keyPath, '-p', String(t.host.port), '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'],
        ...['-o', `UserKnownHostsFile=${t.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', ...kex],
        `${t.username}@${t.host.address}`,
        'true',
      ]);
      if (result.code !== 0)
        throw new Error(`ssh ${t.host.address} true exited ${result.code}: ${result.stderr}`);
      samples[step].push(result.ms);
    }

    const input = { pfx: cert.pfx, password: cert.password, caCertificates: [cert.caPem] };
    samples.inspectThread.push((await timed(() => inspectPfx(input)))[0]);
    samples.inspectSync.push((await timed(async () => inspectPfxSync(input)))[0]);
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

/** Local cost of root's ~/.bashrc (what bash runs before every remote command as root). */
/**
 * Times one run of root's ~/.bashrc. On this kind of machine it runs `pyenv init`, whose
 * `pyenv rehash` waits up to 60 s for a lock file that a killed shell may have left.
 */
export async function rootRcSeconds(): Promise<number> {
  const result = await run('/bin/bash', ['-c', '. /root/.bashrc >/dev/null 2>&1; true'], {
    timeoutMs: 10_000,
  });
  return result.signal ? Infinity : result.ms / 1000;
}

export async function bashrcCost(reps: number): Promise<{ withRc: number; without: number }> {
  const withRc: number[] = [];
  const without: number[] = [];
  for (let i = 0; i < reps; i++) {
    withRc.push((await run('/bin/bash', ['-c', '. ~/.bashrc >/dev/null 2>&1; true'])).ms);
    without.push((await run('/bin/bash', ['-c', 'true'])).ms);
  }
  return { withRc: median(withRc), without: median(without) };
}
