import type { RedisClient } from './redis-client.js';
import type { FleetKeys } from './keys.js';
import { claimForJob, releaseForJob } from './job-claim.js';

/**
 * At most one open rollback job per environment and certificate name, across API
 * instances: a claim names the job; a claim whose job has ended is taken over.
 */
export class RollbackClaims {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
  ) {}

  /** Claims the rollback of a certificate for `jobId`: undefined when it is now `jobId`'s, else the open holder. */
  async claim(
    env: string,
    name: string,
    jobId: string,
    isOpen: (holder: string) => Promise<boolean>,
  ): Promise<string | undefined> {
    return claimForJob(this.redis, this.keys.rollbackClaim(env, name), jobId, isOpen);
  }

  /** Gives a claim back, if `jobId` still holds it. */
  async release(env: string, name: string, jobId: string): Promise<void> {
    await releaseForJob(this.redis, this.keys.rollbackClaim(env, name), jobId);
  }
}
