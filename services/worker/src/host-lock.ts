import { randomBytes } from 'node:crypto';
import type { FleetKeys } from '@certfleet/store';
import type { RedisClient } from '@certfleet/jobs';

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const EXTEND = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/** A held lock; `release()` frees it only if it is still ours. */
export interface HeldLock {
  release(): Promise<void>;
}

/**
 * One install per front-end at a time, across every worker process: a short
 * Redis lock per host, renewed while held, so a dead worker's lock expires by
 * itself after `ttlMs`.
 */
export class HostLocks {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
    private readonly ttlMs: number,
  ) {}

  /** Takes the lock or answers undefined when another install holds it. */
  async tryAcquire(host: string, port: number): Promise<HeldLock | undefined> {
    const key = this.keys.hostLock(host, port);
    const token = randomBytes(12).toString('hex');
    const ok = await this.redis.set(key, token, 'PX', this.ttlMs, 'NX');
    if (ok !== 'OK') return undefined;
    const renew = setInterval(
      () => {
        this.redis.eval(EXTEND, 1, key, token, String(this.ttlMs)).catch(() => undefined);
      },
      Math.max(250, Math.floor(this.ttlMs / 3)),
    );
    renew.unref();
    return {
      release: async () => {
        clearInterval(renew);
        await this.redis.eval(RELEASE, 1, key, token).catch(() => undefined);
      },
    };
  }
}
