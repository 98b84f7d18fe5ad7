import { createHash } from 'node:crypto';
import { SshSession, type SshTarget } from './ssh-session.js';

/** Options of `SessionPool`; defaults first, spread over with the caller's. */
export interface SessionPoolOptions {
  /** How long an idle connection stays open for the next target on its host. Default 2 s. */
  idleMs?: number;
}

const DEFAULTS: Required<SessionPoolOptions> = { idleMs: 2_000 };

interface Idle {
  session: SshSession;
  timer: NodeJS.Timeout;
}

/** Everything that decides what a connection is: a pooled one is reused only for the same. */
function keyOf(target: SshTarget): string {
  const key = createHash('sha256')
    .update(typeof target.privateKey === 'string' ? target.privateKey : target.privateKey.toString('latin1'))
    .digest('hex');
  return JSON.stringify([
    target.host,
    target.port,
    target.username,
    target.hostKey,
    key,
    target.readyTimeoutMs,
    target.commandTimeoutMs,
  ]);
}

/**
 * Keeps one idle SSH connection per front-end for a short while, so the targets queued
 * for a host share one handshake. A connection is made (and its host key checked against
 * the pin) by `SshSession.connect`; a connection that saw any error is closed, never
 * reused; `close()` ends every idle connection and any that is handed back later.
 */
export class SessionPool {
  private readonly options: Required<SessionPoolOptions>;
  private readonly idle = new Map<string, Idle>();
  private closed = false;
  /** Connections made and reused, for the benchmark and metrics. */
  readonly stats = { connected: 0, reused: 0 };

  constructor(options: SessionPoolOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Runs `fn` on a connection to `target`: an idle one when there is one, else a new one. */
  async use<T>(target: SshTarget, fn: (session: SshSession) => Promise<T>): Promise<T> {
    const key = keyOf(target);
    let session = this.take(key);
    if (session) this.stats.reused++;
    else {
      session = await SshSession.connect(target);
      this.stats.connected++;
    }
    let ok = false;
    try {
      const result = await fn(session);
      ok = true;
      return result;
    } finally {
      if (ok && session.reusable && !this.closed && !this.idle.has(key)) this.park(key, session);
      else await session.close();
    }
  }

  /** Closes every idle connection; connections in use are closed when handed back. */
  async close(): Promise<void> {
    this.closed = true;
    const idle = [...this.idle.values()];
    this.idle.clear();
    await Promise.all(
      idle.map((i) => {
        clearTimeout(i.timer);
        return i.session.close();
      }),
    );
  }

  private take(key: string): SshSession | undefined {
    const entry = this.idle.get(key);
    if (!entry) return undefined;
    this.idle.delete(key);
    clearTimeout(entry.timer);
    if (entry.session.reusable) return entry.session;
    void entry.session.close();
    return undefined;
  }

  private park(key: string, session: SshSession): void {
    const timer = setTimeout(() => {
      if (this.idle.get(key)?.session === session) this.idle.delete(key);
      void session.close();
    }, this.options.idleMs);
    timer.unref();
    this.idle.set(key, { session, timer });
  }
}
