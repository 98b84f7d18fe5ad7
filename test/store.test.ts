import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FleetKeys,
  FleetStore,
  JOB_STATUSES,
  TransitionError,
  type JobRecord,
  type JobStatus,
  type TransitionName,
} from '@certfleet/store';

// The store against the real Redis of the machine, on a prefix of its own.
const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
const prefix = `unit-${randomBytes(6).toString('hex')}`;

afterAll(async () => {
  const keys = await redis.keys(new FleetKeys(prefix).all);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

function record(id: string): JobRecord {
  const now = new Date().toISOString();
  return {
    id,
    ticket: 'CASE-1',
    name: 'n',
    environments: ['e'],
    status: 'pending_approval',
    source: 'api',
    submittedBy: 'alice',
    approvedBy: null,
    rejectedBy: null,
    rejectReason: null,
    createdAt: now,
    updatedAt: now,
    planHash: 'h',
    replace: false,
    round: 1,
    certificate: {
      subject: 'CN=x',
      issuer: 'CN=y',
      serialNumber: '01',
      fingerprintSha256: 'f',
      notBefore: now,
      notAfter: now,
      pfxEncryption: { key: '3des', certificates: '3des', mac: 'sha1', iterations: 2048 },
      normalized: false,
      chain: [],
      warnings: [],
    },
    paths: {},
    notify: {},
    pfxSha256: 'p',
  };
}

describe('FleetStore', () => {
  it('opens secrets sealed under the previous master key after a rotation', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const before = new FleetStore(redis, { prefix, masterKey: oldKey });
    const bundle = { pfx: randomBytes(64), password: 'pw', caChain: [] };
    await before.createJob(record('rot-1'), [], bundle, 60_000);
    const after = new FleetStore(redis, { prefix, masterKey: newKey, previousMasterKeys: [oldKey] });
    expect((await after.secrets.open('rot-1'))?.password).toBe('pw');
    const withoutOld = new FleetStore(redis, { prefix, masterKey: newKey });
    await expect(withoutOld.secrets.open('rot-1')).rejects.toThrow(/FLEET_MASTER_KEY/);
  });

  it('moves a job only from the expected states', async () => {
    const store = new FleetStore(redis, { prefix, masterKey: randomBytes(32) });
    await store.createJob(record('tr-1'), [], { pfx: Buffer.alloc(1), password: 'p', caChain: [] }, 60_000);
    expect((await store.jobs.transition('tr-1', 'start')).ok).toBe(false);
    const moved = await store.jobs.transition('tr-1', 'approve', { approvedBy: 'bob' });
    expect(moved.ok && moved.job.status).toBe('queued');
    expect(moved.ok && moved.job.approvedBy).toBe('bob');
    const again = await store.jobs.transition('tr-1', 'approve');
    expect(again).toMatchObject({ ok: false, reason: 'conflict' });
    expect(await store.jobs.transition('missing', 'start')).toEqual({
      ok: false,
      reason: 'not_found',
    });
  });

  it('pages through jobs newest first, by ticket and by status, without skipping or repeating', async () => {
    const store = new FleetStore(redis, { prefix: `${prefix}-list`, masterKey: randomBytes(32) });
    const secret = { pfx: Buffer.alloc(1), password: 'p', caChain: [] };
    for (let i = 0; i < 7; i++) {
      const rec = { ...record(`list-${i}`), ticket: i % 2 ? 'CASE-ODD' : 'CASE-EVEN' };
      // several jobs in the same millisecond: the cursor must still order them
      rec.createdAt = new Date(1_800_000_000_000 + Math.floor(i / 2)).toISOString();
      await store.createJob(rec, [], secret, 60_000);
    }
    await store.jobs.transition('list-3', 'reject');
    const walk = async (query: {
      ticket?: string;
      status?: 'rejected' | 'pending_approval';
    }): Promise<string[]> => {
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let guard = 0; guard < 10; guard++) {
        const page = await store.jobs.list({ limit: 3, ...query, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((j) => j.id));
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      return seen;
    };
    const newestFirst = ['list-6', 'list-5', 'list-4', 'list-3', 'list-2', 'list-1', 'list-0'];
    expect(await walk({})).toEqual(newestFirst);
    expect(await walk({ ticket: 'CASE-ODD' })).toEqual(['list-5', 'list-3', 'list-1']);
    expect(await walk({ status: 'rejected' })).toEqual(['list-3']);
    expect(await walk({ ticket: 'CASE-EVEN', status: 'pending_approval' })).toEqual([
      'list-6',
      'list-4',
      'list-2',
      'list-0',
    ]);
    const keys = await redis.keys(new FleetKeys(`${prefix}-list`).all);
    await redis.del(...keys);
  });
});

/** The lifecycle as the design states it: each named change, where it starts and where it leads. */
const LIFECYCLE: Record<TransitionName, { from: JobStatus[]; to: JobStatus[] }> = {
  approve: { from: ['pending_approval'], to: ['queued'] },
  reject: { from: ['pending_approval'], to: ['rejected'] },
  undoApprove: { from: ['queued'], to: ['pending_approval'] },
  start: { from: ['queued'], to: ['running'] },
  finish: { from: ['queued', 'running'], to: ['completed', 'partially_failed', 'failed'] },
  retry: { from: ['partially_failed', 'failed'], to: ['queued', 'scheduled'] },
  undoRetry: { from: ['queued', 'scheduled'], to: ['partially_failed', 'failed'] },
  // Maintenance windows (README: Maintenance windows)
  schedule: { from: ['pending_approval'], to: ['scheduled'] },
  undoSchedule: { from: ['scheduled'], to: ['pending_approval'] },
  reschedule: { from: ['scheduled'], to: ['scheduled'] },
  startScheduled: { from: ['scheduled'], to: ['queued'] },
  undoStartScheduled: { from: ['queued'], to: ['scheduled'] },
  // canary rollout
  canaryPassed: { from: ['queued', 'running'], to: ['canary'] },
  continue: { from: ['canary'], to: ['queued', 'scheduled'] },
  undoContinue: { from: ['queued', 'scheduled'], to: ['canary'] },
};

describe('the job lifecycle in Redis', () => {
  const store = new FleetStore(redis, { prefix: `${prefix}-life`, masterKey: randomBytes(32) });
  const secret = { pfx: Buffer.alloc(1), password: 'p', caChain: [] };
  let n = 0;

  async function jobIn(status: JobStatus): Promise<string> {
    const id = `life-${n++}`;
    await store.createJob({ ...record(id), status }, [], secret, 60_000);
    return id;
  }

  afterAll(async () => {
    const keys = await redis.keys(store.keys.all);
    if (keys.length > 0) await redis.del(...keys);
  });

  for (const [name, rule] of Object.entries(LIFECYCLE) as [
    TransitionName,
    (typeof LIFECYCLE)[TransitionName],
  ][]) {
    for (const status of JOB_STATUSES) {
      const allowed = rule.from.includes(status);
      for (const to of rule.to) {
        it(`${name} ${allowed ? 'moves' : 'refuses'} a ${status} job${allowed ? ` to ${to}` : ''}`, async () => {
          const id = await jobIn(status);
          const patch = rule.to.length > 1 ? { status: to, round: 7 } : { round: 7 };
          const result = await store.jobs.transition(id, name, patch as never);
          const stored = await store.jobs.getRecord(id);
          if (allowed) {
            expect(result).toMatchObject({ ok: true, job: { status: to, round: 7 } });
            expect(stored).toMatchObject({ status: to, round: 7 });
          } else {
            expect(result).toMatchObject({ ok: false, reason: 'conflict', job: { status, round: 1 } });
            expect(stored).toMatchObject({ status, round: 1 });
          }
        });
      }
    }
  }

  it('a change with several outcomes refuses to guess one or to take a foreign one, and writes nothing', async () => {
    const id = await jobIn('running');
    const before = await store.jobs.getRecord(id);
    // @ts-expect-error finish needs its outcome named
    await expect(store.jobs.transition(id, 'finish')).rejects.toThrow(TransitionError);
    // @ts-expect-error rejected is not an outcome of finish
    await expect(store.jobs.transition(id, 'finish', { status: 'rejected' })).rejects.toMatchObject({
      code: 'invalid_transition',
    });
    expect(await store.jobs.getRecord(id)).toEqual(before);
  });

  it('a change with one outcome takes no other', async () => {
    const id = await jobIn('pending_approval');
    // @ts-expect-error approve leads to queued only
    await expect(store.jobs.transition(id, 'approve', { status: 'running' })).rejects.toThrow(
      /'approve' change leads to queued, not running/,
    );
    expect((await store.jobs.getRecord(id))?.status).toBe('pending_approval');
  });

  it('stamps updatedAt on every change it makes and on none it refuses', async () => {
    const id = `life-${n++}`;
    const long = '2020-01-01T00:00:00.000Z';
    await store.createJob({ ...record(id), status: 'queued', updatedAt: long }, [], secret, 60_000);
    expect((await store.jobs.transition(id, 'approve')).ok).toBe(false);
    expect((await store.jobs.getRecord(id))?.updatedAt).toBe(long);
    expect((await store.jobs.transition(id, 'start')).ok).toBe(true);
    expect((await store.jobs.getRecord(id))?.updatedAt).not.toBe(long);
  });

  it('of two racing approvals exactly one wins', async () => {
    const id = await jobIn('pending_approval');
    const results = await Promise.all([
      store.jobs.transition(id, 'approve', { approvedBy: 'bob' }),
      store.jobs.transition(id, 'approve', { approvedBy: 'carol' }),
      store.jobs.transition(id, 'reject', { rejectedBy: 'dave' }),
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });
});
