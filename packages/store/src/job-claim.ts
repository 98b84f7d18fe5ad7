import type { RedisClient } from './redis-client.js';

/** Replaces a claim only if it still names the job that was read: two takers of a stale claim, one wins. */
const SWAP = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end
return 0
`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Claims `key` for `jobId` across workers and restarts. Answers undefined when the claim is
 * now `jobId`'s, or the id of the open job that holds it (`isOpen` says whether a job is
 * still open); a claim whose job has ended is taken over.
 */
export async function claimForJob(
  redis: RedisClient,
  key: string,
  jobId: string,
  isOpen: (holder: string) => Promise<boolean>,
): Promise<string | undefined> {
  for (;;) {
    if ((await redis.set(key, jobId, 'NX')) === 'OK') return undefined;
    const holder = await redis.get(key);
    if (holder === null) continue;
    if (holder === jobId) return undefined;
    if (await isOpen(holder)) return holder;
    if (((await redis.eval(SWAP, 1, key, holder, jobId)) as number) === 1) return undefined;
  }
}

/** Gives a claim back, if `jobId` still holds it. */
export async function releaseForJob(redis: RedisClient, key: string, jobId: string): Promise<void> {
  await redis.eval(RELEASE, 1, key, jobId);
}
