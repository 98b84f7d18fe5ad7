import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis-client.js';
import { decodeCursor, encodeCursor, isBefore, type Cursor } from './job-cursor.js';
import type { FleetKeys } from './keys.js';
import {
  TRANSITIONS,
  transitionOutcome,
  type RecordPatch,
  type TransitionName,
  type TransitionPatch,
} from './lifecycle.js';
import { decodeFields, encodeFields, readJsonField, readJsonHash } from './redis-json.js';
import type { Job, JobRecord, JobStatus, TargetRecord } from './types.js';

/**
 * Changes a job's status only when it is one of the expected ones, and merges the
 * patch fields in the same step. Each record field is stored JSON-encoded in its
 * own hash field, so the script never has to decode anything but the status.
 */
const TRANSITION = `
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return -1 end
local allowed = cjson.decode(ARGV[1])
local ok = false
for _, s in ipairs(allowed) do if cjson.encode(s) == cur then ok = true end end
if not ok then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`;

/** Jobs one list request looks at, at most; past it the answer carries a cursor. */
const LIST_SCAN_LIMIT = 5000;

export interface ListQuery {
  status?: JobStatus;
  ticket?: string;
  /** Only the jobs of one source (`reconcile`: the repair jobs). */
  source?: JobRecord['source'];
  limit: number;
  cursor?: string;
}

export interface ListResult {
  items: Job[];
  nextCursor: string | null;
}

export type TransitionResult =
  { ok: true; job: Job } | { ok: false; reason: 'not_found' | 'conflict'; job?: Job };

/** The patch argument of a named change: optional unless the change needs its outcome named. */
export type TransitionArgs<N extends TransitionName> =
  Partial<TransitionPatch<N>> extends TransitionPatch<N>
    ? [patch?: TransitionPatch<N>]
    : [patch: TransitionPatch<N>];

/** Job records with their targets, the job index and the per-ticket index; status changes by name. */
export class JobRepository {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
  ) {}

  /** Adds the writes of a new job and its targets to a transaction the caller executes. */
  stageCreate(multi: ChainableCommander, record: JobRecord, targets: readonly TargetRecord[]): void {
    multi.hset(this.keys.job(record.id), ...encodeFields(record));
    if (targets.length > 0) {
      multi.hset(this.keys.targets(record.id), ...targets.flatMap((t) => [t.id, JSON.stringify(t)]));
    }
    multi.zadd(this.keys.jobIndex, Date.parse(record.createdAt), record.id);
    multi.sadd(this.keys.ticket(record.ticket), record.id);
  }

  async getRecord(id: string): Promise<JobRecord | undefined> {
    return decodeFields<JobRecord>(await this.redis.hgetall(this.keys.job(id)));
  }

  async getTargets(id: string): Promise<TargetRecord[]> {
    return readJsonHash<TargetRecord>(this.redis, this.keys.targets(id), (t) => t.id);
  }

  async getTarget(id: string, targetId: string): Promise<TargetRecord | undefined> {
    return readJsonField<TargetRecord>(this.redis, this.keys.targets(id), targetId);
  }

  /** The record with its targets, as API clients see it. */
  async get(id: string): Promise<Job | undefined> {
    const [record, targets] = await Promise.all([this.getRecord(id), this.getTargets(id)]);
    return record ? { ...record, targets } : undefined;
  }

  /**
   * Applies a named change of the lifecycle (`approve`, `finish`, …) with its
   * patch: only from the statuses the change starts from, atomically across the
   * API and every worker.
   */
  async transition<N extends TransitionName>(
    id: string,
    name: N,
    ...[patch]: TransitionArgs<N>
  ): Promise<TransitionResult> {
    const { status, ...fields } = (patch ?? {}) as RecordPatch & { status?: JobStatus };
    const to = transitionOutcome(name, status);
    const result = (await this.redis.eval(
      TRANSITION,
      1,
      this.keys.job(id),
      JSON.stringify(TRANSITIONS[name].from),
      ...encodeFields({ ...fields, status: to, updatedAt: new Date().toISOString() }),
    )) as number;
    const job = await this.get(id);
    if (result === -1 || !job) return { ok: false, reason: 'not_found' };
    if (result === 0) return { ok: false, reason: 'conflict', job };
    return { ok: true, job };
  }

  /** Writes one target's state at once, so progress shows host by host. */
  async putTarget(id: string, target: TargetRecord): Promise<void> {
    await this.redis.hset(this.keys.targets(id), target.id, JSON.stringify(target));
  }

  /**
   * Jobs newest first, filtered by status, ticket and source, `limit` at a time. A ticket is
   * read from its own index; otherwise the walk over all jobs is bounded, and a
   * cursor is returned when it stopped early, so nothing is ever skipped.
   */
  async list(query: ListQuery): Promise<ListResult> {
    const items: Job[] = [];
    let after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const byTicket = query.ticket ? await this.ticketEntries(query.ticket) : undefined;
    const pageSize = Math.max(query.limit * 2, 50);
    let scanned = 0;
    let exhausted = false;
    while (items.length < query.limit && scanned < LIST_SCAN_LIMIT) {
      const page = byTicket
        ? byTicket.filter((e) => !after || isBefore(e, after)).slice(0, pageSize)
        : await this.indexPage(after, pageSize);
      if (page.length === 0) {
        exhausted = true;
        break;
      }
      for (const entry of page) {
        scanned++;
        after = entry;
        const job = await this.get(entry.id);
        if (
          job &&
          (!query.status || job.status === query.status) &&
          (!query.source || job.source === query.source)
        )
          items.push(job);
        if (items.length === query.limit) break;
      }
    }
    return { items, nextCursor: exhausted || !after ? null : encodeCursor(after) };
  }

  /** Index entries strictly after the cursor (newest first), at most `count`. */
  private async indexPage(after: Cursor | undefined, count: number): Promise<Cursor[]> {
    const raw = await this.redis.zrevrangebyscore(
      this.keys.jobIndex,
      after ? `${after.score}` : '+inf',
      '-inf',
      'WITHSCORES',
      'LIMIT',
      0,
      count + 64,
    );
    const page: Cursor[] = [];
    for (let i = 0; i < raw.length && page.length < count; i += 2) {
      const entry = { id: raw[i]!, score: Number(raw[i + 1]) };
      if (!after || isBefore(entry, after)) page.push(entry);
    }
    return page;
  }

  /** The jobs of one ticket, from the ticket's own index, newest first. */
  private async ticketEntries(ticket: string): Promise<Cursor[]> {
    const ids = await this.redis.smembers(this.keys.ticket(ticket));
    if (ids.length === 0) return [];
    const scores = await this.redis.zmscore(this.keys.jobIndex, ...ids);
    return ids
      .map((id, i) => ({ id, score: Number(scores[i] ?? 0) }))
      .sort((x, y) => y.score - x.score || (x.id < y.id ? 1 : x.id > y.id ? -1 : 0));
  }
}
