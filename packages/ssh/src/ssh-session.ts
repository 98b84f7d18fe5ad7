import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import {
  classifyConnectError,
  commandFailedError,
  timeoutError,
  unreachableError,
  type HostContext,
} from './classify-error.js';
import { withDeadline, type Done } from './deadline.js';
import {
  fingerprintOf,
  hostKeyAlgorithmsFor,
  hostKeyMatches,
  parseHostKeyPin,
  pinFingerprint,
} from './host-key.js';
import { RemoteFs, type SessionSteps } from './remote-fs.js';
import { TargetError } from './target-error.js';

/** Where and how to log in to one front-end. */
export interface SshTarget {
  host: string;
  port: number;
  username: string;
  /** OpenSSH or PEM private key, without a passphrase. */
  privateKey: Buffer | string;
  /** The pin: an OpenSSH public key line `ssh-ed25519 AAAA… [comment]` or `SHA256:<base64>`. */
  hostKey: string;
  /** TCP connect plus SSH handshake and authentication. Default 10 s. */
  readyTimeoutMs?: number;
  /** Each remote step afterwards (one SFTP request, one command). Default 30 s. */
  commandTimeoutMs?: number;
}

/** Options of `SshSession.exec`. */
export interface ExecOptions {
  /** Sent on the command's stdin, which is then closed (it is closed at once without it). */
  stdin?: Buffer | string;
  /** Default: the target's commandTimeoutMs. */
  timeoutMs?: number;
}

/** How a remote command ended. */
export interface ExecResult {
  /** Exit status; -1 when the command died by a signal (see `signal`). */
  code: number;
  signal?: string;
  stdout: string;
  stderr: string;
}

const DEFAULTS = { readyTimeoutMs: 10_000, commandTimeoutMs: 30_000 } as const;
/** More output than this is dropped: certfleet's commands print a few lines. */
const MAX_OUTPUT = 1024 * 1024;
/** How long close() waits for a clean disconnect before dropping the socket. */
const CLOSE_GRACE_MS = 1_000;

/**
 * One SSH connection to a front-end, wrapping ssh2's callback API once: connect with the
 * pinned host key, SFTP and exec with a deadline on every step, close. Prefer
 * `withSshSession`, which always closes.
 */
export class SshSession implements SessionSteps {
  /** A step timed out: the peer may hang, so close() drops the socket at once. */
  private broken = false;
  private lost: Error | undefined;
  private closed = false;
  private fs: Promise<RemoteFs> | undefined;

  private constructor(
    private readonly client: Client,
    readonly context: HostContext,
    readonly commandTimeoutMs: number,
  ) {
    client.on('error', (err) => (this.lost ??= err));
    client.on('close', () => (this.lost ??= new Error('connection closed')));
  }

  /**
   * Connects and authenticates. The server's host key is compared with the pin during
   * the key exchange: on a mismatch the connection is dropped before any credential is
   * sent and the promise rejects with `host_key_mismatch`.
   */
  static connect(target: SshTarget): Promise<SshSession> {
    const readyTimeoutMs = target.readyTimeoutMs ?? DEFAULTS.readyTimeoutMs;
    const commandTimeoutMs = target.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs;
    const context: HostContext = { host: target.host, port: target.port, username: target.username };
    const pin = parseHostKeyPin(target.hostKey);
    if (pin === undefined) {
      return Promise.reject(
        new TargetError(
          'host_key_mismatch',
          `${target.host}:${target.port}: the pinned hostKey is neither an OpenSSH public key line nor a ` +
            'SHA256:<base64> fingerprint; fix it in the inventory (ssh-keyscan shows the line).',
        ),
      );
    }
    const connectContext = {
      ...context,
      readyTimeoutMs,
      pinnedFingerprint: pinFingerprint(pin),
      presentedFingerprint: undefined as string | undefined,
      keyRejected: false,
    };
    const client = new Client();
    return new Promise<SshSession>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(guard);
        client.destroy();
        reject(classifyConnectError(err, connectContext));
      };
      // ssh2's readyTimeout starts after DNS; this one bounds everything
      const guard = setTimeout(
        () => fail(Object.assign(new Error('connect timed out'), { level: 'client-timeout' })),
        readyTimeoutMs + 1_000,
      );
      client.on('error', fail);
      client.once('close', () => fail(new Error('the server closed the connection during the handshake')));
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        clearTimeout(guard);
        client.removeListener('error', fail);
        resolve(new SshSession(client, context, commandTimeoutMs));
      });
      const algorithms = hostKeyAlgorithmsFor(pin);
      const config: ConnectConfig = {
        host: target.host,
        port: target.port,
        username: target.username,
        privateKey: target.privateKey,
        readyTimeout: readyTimeoutMs,
        // straight to the key: ssh2 would first try "none", one round trip more per connection
        authHandler: ['publickey'],
        hostVerifier: (key: Buffer): boolean => {
          connectContext.presentedFingerprint = fingerprintOf(key);
          const ok = hostKeyMatches(target.hostKey, key);
          connectContext.keyRejected = !ok;
          return ok;
        },
        ...(algorithms ? { algorithms: { serverHostKey: algorithms } } : {}),
      };
      try {
        client.connect(config);
        // Small SSH packets otherwise wait for Nagle and delayed ACKs: about 40 ms per round
        // trip on the handshake and on each command (measured by test/bench).
        client.setNoDelay(true);
      } catch (err) {
        fail(err);
      }
    });
  }

  /** Open, and no step timed out and no error was seen: fit for the next target (SessionPool). */
  get reusable(): boolean {
    return !this.closed && !this.broken && this.lost === undefined;
  }

  /**
   * Runs one callback-style step with a deadline (default: commandTimeoutMs). A timeout
   * rejects with `host_timeout`; a connection already lost rejects with `host_unreachable`.
   */
  step<T>(what: string, run: (done: Done<T>) => void, timeoutMs = this.commandTimeoutMs): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`${what}: the session is closed`));
    if (this.lost)
      return Promise.reject(unreachableError(this.context, `the connection was lost before ${what}`));
    return withDeadline(timeoutMs, run, () => {
      this.broken = true;
      return timeoutError(this.context, what, timeoutMs);
    });
  }

  /** The SFTP channel of this connection, opened on first use. */
  sftp(): Promise<RemoteFs> {
    this.fs ??= this.step<SFTPWrapper>('opening SFTP', (done) => this.client.sftp(done))
      .catch((err: unknown) => {
        throw err instanceof TargetError
          ? err
          : unreachableError(this.context, `SFTP is not available (${String(err)})`);
      })
      .then((sftp) => new RemoteFs(sftp, this));
    return this.fs;
  }

  /**
   * Runs `command` through the login shell and collects its output. A non-zero exit is
   * a result, not an error; a command that outlives its deadline is `host_timeout`.
   */
  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? this.commandTimeoutMs;
    let channel: ClientChannel | undefined;
    const what = `the remote command ${JSON.stringify(command.length > 80 ? command.slice(0, 77) + '...' : command)}`;
    return this.step<ExecResult>(
      what,
      (done) => {
        this.client.exec(command, (err, ch) => {
          if (err) return done(unreachableError(this.context, `cannot start ${what} (${err.message})`, err));
          channel = ch;
          const stdout: Buffer[] = [];
          const stderr: Buffer[] = [];
          let size = 0;
          const keep = (into: Buffer[]) => (chunk: Buffer) => {
            if ((size += chunk.length) <= MAX_OUTPUT) into.push(chunk);
          };
          let code: number | undefined;
          let signal: string | undefined;
          ch.on('data', keep(stdout));
          ch.stderr.on('data', keep(stderr));
          ch.on('exit', (exitCode: number | null, exitSignal?: string) => {
            code = exitCode ?? undefined;
            signal = exitSignal ?? undefined;
          });
          ch.on('close', () => {
            if (code === undefined && signal === undefined) {
              return done(unreachableError(this.context, `${what} ended without an exit status`));
            }
            done(undefined, {
              code: code ?? -1,
              ...(signal ? { signal } : {}),
              stdout: Buffer.concat(stdout).toString('utf8'),
              stderr: Buffer.concat(stderr).toString('utf8'),
            });
          });
          if (options.stdin !== undefined) ch.end(options.stdin);
          else ch.end();
        });
      },
      timeoutMs,
    ).catch((err: unknown) => {
      channel?.close();
      throw err;
    });
  }

  /** exec() that throws `remote_command_failed` (naming `what`) unless the exit status is 0. */
  async run(command: string, what: string, options: ExecOptions = {}): Promise<ExecResult> {
    const result = await this.exec(command, options);
    if (result.code !== 0 || result.signal) throw commandFailedError(this.context, what, result);
    return result;
  }

  /** Ends the connection; never throws. After a timeout the socket is dropped at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.broken || this.lost) {
      this.client.destroy();
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.client.destroy();
        resolve();
      }, CLOSE_GRACE_MS);
      this.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.end();
    });
  }
}

/** Connects, runs `fn` with the session, and closes the connection on every path. */
export async function withSshSession<T>(
  target: SshTarget,
  fn: (session: SshSession) => Promise<T>,
): Promise<T> {
  const session = await SshSession.connect(target);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}
