import type { RedisClient } from './redis-client.js';
import type { FleetKeys } from './keys.js';
import type { AuditEntry, AuditEvent, JobRecord } from './types.js';

/** Entries a job's own stream keeps (approximately). */
const JOB_AUDIT_MAX_LEN = 10_000;

/** Who did what, when, to which job: an append-only stream, never key material. */
export class AuditLog {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
    /** Fleet-wide stream cap (approximate). */
    private readonly maxLen = 100_000,
  ) {}

  /**
   * The `submit` entry of a new job, by its submitter: ticket, name, environments, source,
   * what it does (when not an install), and `extra` (why it was made, what it replaces).
   */
  async submitted(record: JobRecord, extra: Record<string, unknown> = {}): Promise<void> {
    await this.append({
      actor: record.submittedBy,
      action: 'submit',
      jobId: record.id,
      detail: {
        ticket: record.ticket,
        name: record.name,
        environments: record.environments,
        source: record.source,
        ...(record.action && record.action !== 'install' ? { action: record.action } : {}),
        ...extra,
      },
    });
  }

  /**
   * Appends to the audit stream: who, what, when, which job. Never key material.
   * An event about a job also goes to that job's own stream, so reading one job's
   * trail does not scan the whole fleet's.
   */
  async append(event: AuditEvent): Promise<void> {
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
    multi.xadd(this.keys.audit, 'MAXLEN', '~', String(this.maxLen), '*', ...fields);
    if (event.jobId) {
      multi.xadd(this.keys.jobAudit(event.jobId), 'MAXLEN', '~', String(JOB_AUDIT_MAX_LEN), '*', ...fields);
    }
    await multi.exec();
  }

  /** The newest `limit` entries, oldest first: of one job, or of the whole fleet. */
  async read(jobId?: string, limit = 500): Promise<AuditEntry[]> {
    const raw = await this.redis.xrevrange(
      jobId ? this.keys.jobAudit(jobId) : this.keys.audit,
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
