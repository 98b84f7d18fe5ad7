import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { FleetKeys, FleetStore, type JobRecord } from '@certfleet/store';

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
    expect((await after.openSecret('rot-1'))?.password).toBe('pw');
    const withoutOld = new FleetStore(redis, { prefix, masterKey: newKey });
    await expect(withoutOld.openSecret('rot-1')).rejects.toThrow(/FLEET_MASTER_KEY/);
  });

  it('moves a job only from the expected states', async () => {
    const store = new FleetStore(redis, { prefix, masterKey: randomBytes(32) });
    await store.createJob(record('tr-1'), [], { pfx: Buffer.alloc(1), password: 'p', caChain: [] }, 60_000);
    expect((await store.transition('tr-1', ['queued'], 'running')).ok).toBe(false);
    const moved = await store.transition('tr-1', ['pending_approval'], 'queued', { approvedBy: 'bob' });
    expect(moved.ok && moved.job.status).toBe('queued');
    expect(moved.ok && moved.job.approvedBy).toBe('bob');
    const again = await store.transition('tr-1', ['pending_approval'], 'queued');
    expect(again).toMatchObject({ ok: false, reason: 'conflict' });
    expect(await store.transition('missing', ['queued'], 'running')).toEqual({
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
    await store.transition('list-3', ['pending_approval'], 'rejected');
    const walk = async (query: {
      ticket?: string;
      status?: 'rejected' | 'pending_approval';
    }): Promise<string[]> => {
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let guard = 0; guard < 10; guard++) {
        const page = await store.listJobs({ limit: 3, ...query, ...(cursor ? { cursor } : {}) });
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
