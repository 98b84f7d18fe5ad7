import { randomBytes } from 'node:crypto';
import type { DriftCheck, DriftHost } from '@certfleet/contract';
import type { FleetKeys } from './keys.js';
import type { RedisClient } from './redis-client.js';

/** What starts a check: everything of its record but what the store decides. */
export type DriftCheckStart = Pick<DriftCheck, 'environment' | 'trigger' | 'requestedBy' | 'total'>;

/** What `begin` answers: the check now running, and whether it ran already. */
export interface DriftCheckBegun {
  id: string;
  alreadyRunning: boolean;
  /** The check this one replaced as the environment's latest (its record is deleted). */
  replaced?: string;
}

const META = 'meta';
const HOST = 'host:';

/**
 * Takes the environment's running marker (or answers the holder's id), makes the new
 * check its latest and writes the check's meta, in one step.
 * KEYS: running marker, latest hash, new check hash. ARGV: id, marker TTL ms, env, meta JSON.
 */
const BEGIN = `
local running = redis.call('GET', KEYS[1])
if running then return {running, 1, false} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local previous = redis.call('HGET', KEYS[2], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[3], 'meta', ARGV[4])
return {ARGV[1], 0, previous}
`;

/** Frees the marker only when it is still this check's. KEYS: marker. ARGV: id. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Sorted like people number hosts: fe-2 before fe-10. */
const byFrontEnd = (a: DriftHost, b: DriftHost): number =>
  a.frontEnd.localeCompare(b.frontEnd, 'en', { numeric: true });

/**
 * The drift checks: per environment the latest one (hosts filled in as they finish) and
 * a marker that keeps one check running per environment across every process. The
 * marker expires by itself `markerTtlMs` after the last host finished, so a check whose
 * worker died does not block the next one for ever.
 */
export class DriftChecks {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
    private readonly markerTtlMs = 10 * 60_000,
  ) {}

  /** Starts a check in `start.environment`, or answers the one running there. */
  async begin(start: DriftCheckStart, now = new Date()): Promise<DriftCheckBegun> {
    const id = `${now.getTime().toString(36)}-${randomBytes(6).toString('hex')}`;
    const meta: DriftCheck = {
      id,
      ...start,
      status: 'running',
      startedAt: now.toISOString(),
      finishedAt: null,
      hosts: [],
    };
    const [holder, running, previous] = (await this.redis.eval(
      BEGIN,
      3,
      this.keys.driftRunning(start.environment),
      this.keys.driftLatest(),
      this.keys.driftCheck(id),
      id,
      String(this.markerTtlMs),
      start.environment,
      JSON.stringify({ ...meta, hosts: undefined }),
    )) as [string, number, string | null];
    if (running === 1) return { id: holder, alreadyRunning: true };
    if (previous) await this.redis.del(this.keys.driftCheck(previous));
    return { id, alreadyRunning: false, ...(previous ? { replaced: previous } : {}) };
  }

  /** Records one host's verdicts and keeps the environment's marker alive. */
  async putHost(check: Pick<DriftCheck, 'id' | 'environment'>, host: DriftHost): Promise<void> {
    await this.redis
      .multi()
      .hset(this.keys.driftCheck(check.id), `${HOST}${host.frontEnd}`, JSON.stringify(host))
      .pexpire(this.keys.driftRunning(check.environment), this.markerTtlMs)
      .exec();
  }

  /** Marks the check done and frees its environment for the next one. */
  async finish(check: Pick<DriftCheck, 'id' | 'environment'>, now = new Date()): Promise<void> {
    const current = await this.get(check.id);
    if (current) {
      const meta = { ...current, status: 'done', finishedAt: now.toISOString(), hosts: undefined };
      await this.redis.hset(this.keys.driftCheck(check.id), META, JSON.stringify(meta));
    }
    await this.redis.eval(RELEASE, 1, this.keys.driftRunning(check.environment), check.id);
  }

  /** One check with the hosts done so far; undefined when it is gone (replaced by a newer one). */
  async get(checkId: string): Promise<DriftCheck | undefined> {
    const hash = await this.redis.hgetall(this.keys.driftCheck(checkId));
    const meta = hash[META];
    if (!meta) return undefined;
    const hosts = Object.entries(hash)
      .filter(([field]) => field.startsWith(HOST))
      .map(([, value]) => JSON.parse(value) as DriftHost)
      .sort(byFrontEnd);
    return { ...(JSON.parse(meta) as Omit<DriftCheck, 'hosts'>), hosts };
  }

  /** The latest check of an environment, running or done. */
  async latest(environment: string): Promise<DriftCheck | undefined> {
    const id = await this.redis.hget(this.keys.driftLatest(), environment);
    return id ? this.get(id) : undefined;
  }

  /** The latest check of every environment that had one. */
  async latestAll(): Promise<DriftCheck[]> {
    const ids = await this.redis.hgetall(this.keys.driftLatest());
    const checks = await Promise.all(Object.values(ids).map((id) => this.get(id)));
    return checks
      .filter((c): c is DriftCheck => c !== undefined)
      .sort((a, b) => a.environment.localeCompare(b.environment));
  }
}
