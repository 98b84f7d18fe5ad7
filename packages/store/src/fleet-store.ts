import type { Cluster, Redis } from 'ioredis';
import { seal, SealError, unseal } from './seal.js';
import type {
  AuditEntry,
  AuditEvent,
  EnvCertificate,
  Job,
  JobRecord,
  JobStatus,
  SecretBundle,
  TargetRecord,
} from './types.js';

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

/** Upper bounds (seconds) of the install-duration histogram. */
export const INSTALL_BUCKETS = [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

export interface ListQuery {
  status?: JobStatus;
  ticket?: string;
  limit: number;
  cursor?: string;
}

export interface ListResult {
  items: Job[];
  nextCursor: string | null;
}

export type TransitionResult =
  { ok: true; job: Job } | { ok: false; reason: 'not_found' | 'conflict'; job?: Job };

export interface FleetStoreOptions {
  /** Key prefix without braces: keys are written `{prefix}:…`. */
  prefix: string;
  /** 32-byte AES-256-GCM key; only processes that seal or open secrets need it. */
  masterKey?: Buffer;
  /** Keys of before a rotation: tried, in order, to open secrets the current key cannot. */
  previousMasterKeys?: Buffer[];
  /** Audit stream cap (approximate). */
  auditMaxLen?: number;
}

function encodeFields(patch: Partial<JobRecord>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (v !== undefined) out.push(k, JSON.stringify(v));
  }
  return out;
}

function decodeRecord(hash: Record<string, string>): JobRecord | undefined {
  if (!hash['id']) return undefined;
  const rec: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(hash)) rec[k] = JSON.parse(v);
  return rec as unknown as JobRecord;
}

/** Job records, target results, the per-environment certificate registry, the audit stream and sealed secrets. */
export class FleetStore {
  private readonly p: string;
  private readonly auditMaxLen: number;

  constructor(
    readonly redis: Redis | Cluster,
    private readonly options: FleetStoreOptions,
  ) {
    this.p = `{${options.prefix}}`;
    this.auditMaxLen = options.auditMaxLen ?? 100_000;
  }

  private key(): Buffer {
    if (!this.options.masterKey)
      throw new Error('this process has no FLEET_MASTER_KEY to seal or open secrets');
    return this.options.masterKey;
  }

  private jobKey(id: string): string {
    return `${this.p}:job:${id}`;
  }
  private targetsKey(id: string): string {
    return `${this.p}:job:${id}:targets`;
  }
  private secretKey(id: string): string {
    return `${this.p}:secret:${id}`;
  }
  private registryKey(env: string): string {
    return `${this.p}:env:${env}:certs`;
  }
  private get indexKey(): string {
    return `${this.p}:jobs`;
  }
  private ticketKey(ticket: string): string {
    return `${this.p}:ticket:${ticket}`;
  }
  private get auditKey(): string {
    return `${this.p}:audit`;
  }

  /** Stores a new job, its targets and its sealed secret in one transaction. */
  async createJob(
    record: JobRecord,
    targets: TargetRecord[],
    secret: SecretBundle,
    secretTtlMs: number,
  ): Promise<Job> {
    const sealed = seal(this.key(), record.id, secret);
    const multi = this.redis.multi();
    multi.hset(this.jobKey(record.id), ...encodeFields(record));
    if (targets.length > 0) {
      multi.hset(this.targetsKey(record.id), ...targets.flatMap((t) => [t.id, JSON.stringify(t)]));
    }
    multi.set(this.secretKey(record.id), sealed, 'PX', secretTtlMs);
    multi.zadd(this.indexKey, Date.parse(record.createdAt), record.id);
    multi.sadd(this.ticketKey(record.ticket), record.id);
    await multi.exec();
    return { ...record, targets };
  }

  async getRecord(id: string): Promise<JobRecord | undefined> {
    return decodeRecord(await this.redis.hgetall(this.jobKey(id)));
  }

  async getTargets(id: string): Promise<TargetRecord[]> {
    const hash = await this.redis.hgetall(this.targetsKey(id));
    return Object.values(hash)
      .map((v) => JSON.parse(v) as TargetRecord)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  async getTarget(id: string, targetId: string): Promise<TargetRecord | undefined> {
    const raw = await this.redis.hget(this.targetsKey(id), targetId);
    return raw ? (JSON.parse(raw) as TargetRecord) : undefined;
  }

  async getJob(id: string): Promise<Job | undefined> {
    const [record, targets] = await Promise.all([this.getRecord(id), this.getTargets(id)]);
    return record ? { ...record, targets } : undefined;
  }

  /** Moves a job to `to` only from one of `from`, merging `patch`; atomic across API and workers. */
  async transition(
    id: string,
    from: readonly JobStatus[],
    to: JobStatus,
    patch: Partial<JobRecord> = {},
  ): Promise<TransitionResult> {
    const fields = encodeFields({ ...patch, status: to, updatedAt: new Date().toISOString() });
    const result = (await this.redis.eval(
      TRANSITION,
      1,
      this.jobKey(id),
      JSON.stringify(from),
      ...fields,
    )) as number;
    const job = await this.getJob(id);
    if (result === -1 || !job) return { ok: false, reason: 'not_found' };
    if (result === 0) return { ok: false, reason: 'conflict', job };
    return { ok: true, job };
  }

  /** Updates fields that do not take part in the status machine. */
  async patchRecord(id: string, patch: Partial<Omit<JobRecord, 'status'>>): Promise<void> {
    await this.redis.hset(
      this.jobKey(id),
      ...encodeFields({ ...patch, updatedAt: new Date().toISOString() }),
    );
  }

  /** Writes one target's state at once, so progress shows host by host. */
  async putTarget(id: string, target: TargetRecord): Promise<void> {
    await this.redis.hset(this.targetsKey(id), target.id, JSON.stringify(target));
  }

  /** Index entries strictly after the cursor (newest first), at most `count`. */
  private async indexPage(after: Cursor | undefined, count: number): Promise<Cursor[]> {
    const raw = await this.redis.zrevrangebyscore(
      this.indexKey,
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
    const ids = await this.redis.smembers(this.ticketKey(ticket));
    if (ids.length === 0) return [];
    const scores = await this.redis.zmscore(this.indexKey, ...ids);
    return ids
      .map((id, i) => ({ id, score: Number(scores[i] ?? 0) }))
      .sort((x, y) => y.score - x.score || (x.id < y.id ? 1 : x.id > y.id ? -1 : 0));
  }

  /**
   * Jobs newest first, filtered by status and ticket, `limit` at a time. A ticket is
   * read from its own index; otherwise the walk over all jobs is bounded, and a
   * cursor is returned when it stopped early, so nothing is ever skipped.
   */
  async listJobs(query: ListQuery): Promise<ListResult> {
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
        const job = await this.getJob(entry.id);
        if (job && (!query.status || job.status === query.status)) items.push(job);
        if (items.length === query.limit) break;
      }
    }
    return { items, nextCursor: exhausted || !after ? null : encodeCursor(after) };
  }

  async openSecret(id: string): Promise<SecretBundle | undefined> {
    const sealed = await this.redis.getBuffer(this.secretKey(id));
    if (!sealed) return undefined;
    const keys = [this.key(), ...(this.options.previousMasterKeys ?? [])];
    for (const [i, key] of keys.entries()) {
      try {
        return unseal(key, id, sealed);
      } catch (err) {
        if (!(err instanceof SealError) || i === keys.length - 1) throw err;
      }
    }
    return undefined;
  }

  async hasSecret(id: string): Promise<boolean> {
    return (await this.redis.exists(this.secretKey(id))) === 1;
  }

  async deleteSecret(id: string): Promise<void> {
    await this.redis.del(this.secretKey(id));
  }

  /** Keeps the secret while a job is queued or running. */
  async persistSecret(id: string): Promise<void> {
    await this.redis.persist(this.secretKey(id));
  }

  async expireSecret(id: string, ttlMs: number): Promise<void> {
    await this.redis.pexpire(this.secretKey(id), ttlMs);
  }

  async getEnvCertificates(env: string): Promise<EnvCertificate[]> {
    const hash = await this.redis.hgetall(this.registryKey(env));
    return Object.values(hash)
      .map((v) => JSON.parse(v) as EnvCertificate)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async getEnvCertificate(env: string, name: string): Promise<EnvCertificate | undefined> {
    const raw = await this.redis.hget(this.registryKey(env), name);
    return raw ? (JSON.parse(raw) as EnvCertificate) : undefined;
  }

  async putEnvCertificate(env: string, entry: EnvCertificate): Promise<void> {
    await this.redis.hset(this.registryKey(env), entry.name, JSON.stringify(entry));
  }

  private webhookDeliveryKey(deliveryId: string): string {
    return `${this.p}:webhook:${deliveryId}`;
  }

  /**
   * Claims an inbound webhook delivery id for a job; answers the earlier claim when
   * the id was seen before, so a repeated delivery never makes a second job.
   */
  async claimWebhookDelivery(
    deliveryId: string,
    bodySha256: string,
    jobId: string,
    ttlMs: number,
  ): Promise<{ bodySha256: string; jobId: string } | undefined> {
    const key = this.webhookDeliveryKey(deliveryId);
    const claimed = await this.redis.set(key, JSON.stringify({ bodySha256, jobId }), 'PX', ttlMs, 'NX');
    if (claimed === 'OK') return undefined;
    const raw = await this.redis.get(key);
    return raw ? (JSON.parse(raw) as { bodySha256: string; jobId: string }) : undefined;
  }

  /** Forgets a claim whose intake was refused, so a corrected delivery can be sent again. */
  async releaseWebhookDelivery(deliveryId: string, jobId: string): Promise<void> {
    const key = this.webhookDeliveryKey(deliveryId);
    const raw = await this.redis.get(key);
    if (raw && (JSON.parse(raw) as { jobId: string }).jobId === jobId) await this.redis.del(key);
  }

  private deliveriesKey(id: string): string {
    return `${this.p}:job:${id}:deliveries`;
  }

  /** Records that a report reached (or was refused for good by) a sink, so a retry skips it. */
  async markDelivered(id: string, key: string): Promise<void> {
    await this.redis.sadd(this.deliveriesKey(id), key);
  }

  async isDelivered(id: string, key: string): Promise<boolean> {
    return (await this.redis.sismember(this.deliveriesKey(id), key)) === 1;
  }

  private get metricsKey(): string {
    return `${this.p}:metrics`;
  }

  /** Adds to a fleet-wide counter (every process writes here; any API instance reads it). */
  async countMetric(field: string, by = 1): Promise<void> {
    await this.redis.hincrby(this.metricsKey, field, by).catch(() => undefined);
  }

  /** Records one target install's duration into the fleet-wide histogram. */
  async observeInstallSeconds(seconds: number): Promise<void> {
    const bucket = INSTALL_BUCKETS.find((b) => seconds <= b);
    await this.redis
      .multi()
      .hincrby(this.metricsKey, `install:bucket:${bucket ?? '+Inf'}`, 1)
      .hincrbyfloat(this.metricsKey, 'install:sum', seconds)
      .hincrby(this.metricsKey, 'install:count', 1)
      .exec()
      .catch(() => undefined);
  }

  async readMetrics(): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.metricsKey);
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
  }

  /** Appends to the audit stream: who, what, when, which job. Never key material. */
  private jobAuditKey(id: string): string {
    return `${this.p}:audit:job:${id}`;
  }

  /**
   * Appends to the audit stream: who, what, when, which job. Never key material.
   * An event about a job also goes to that job's own stream, so reading one job's
   * trail does not scan the whole fleet's.
   */
  async audit(event: AuditEvent): Promise<void> {
    const fields = [
      'at',
      new Date().toISOString(),
      'actor',
      event.actor,
      'action',
      event.action,
      'job',
      event.jobId ?? '',
      'detail',
      JSON.stringify(event.detail ?? {}),
    ];
    const multi = this.redis.multi();
    multi.xadd(this.auditKey, 'MAXLEN', '~', String(this.auditMaxLen), '*', ...fields);
    if (event.jobId) multi.xadd(this.jobAuditKey(event.jobId), 'MAXLEN', '~', '10000', '*', ...fields);
    await multi.exec();
  }

  /** The newest `limit` entries, oldest first: of one job, or of the whole fleet. */
  async readAudit(jobId?: string, limit = 500): Promise<AuditEntry[]> {
    const raw = await this.redis.xrevrange(
      jobId ? this.jobAuditKey(jobId) : this.auditKey,
      '+',
      '-',
      'COUNT',
      limit,
    );
    return raw.reverse().map(([id, fields]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
      return {
        id,
        at: f['at'] ?? '',
        actor: f['actor'] ?? '',
        action: f['action'] ?? '',
        ...(f['job'] ? { jobId: f['job'] } : {}),
        detail: JSON.parse(f['detail'] ?? '{}') as Record<string, unknown>,
      };
    });
  }
}

/** Jobs one list request looks at, at most; past it the answer carries a cursor. */
const LIST_SCAN_LIMIT = 5000;

interface Cursor {
  score: number;
  id: string;
}

/** Order of the index, newest first: by score, then by id (as ZREVRANGE orders equal scores). */
function isBefore(entry: Cursor, after: Cursor): boolean {
  return entry.score < after.score || (entry.score === after.score && entry.id < after.id);
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.score}:${c.id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): Cursor | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^(\d+):([A-Za-z0-9_-]+)$/.exec(text);
  return match ? { score: Number(match[1]), id: match[2]! } : undefined;
}

/** Whether a cursor from a client is well-formed. */
export function isValidCursor(cursor: string): boolean {
  return decodeCursor(cursor) !== undefined;
}
