import { jobIdAgeMs } from './job-id.js';
import type { JobRepository } from './job-repository.js';
import type { FleetKeys } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { claimForJob, releaseForJob } from './job-claim.js';
import type { JobStatus } from './types.js';

/** How long a claim whose job record does not exist yet counts as being created. */
const CREATING_MS = 60_000;

/** Whether an uninstall job in `status` still holds its certificate: until it completes or is rejected. */
export function uninstallHolds(status: JobStatus): boolean {
  return status !== 'completed' && status !== 'rejected';
}

/**
 * At most one uninstall job per environment and certificate: the claim names the job
 * from its submission until it completes (the certificate is then gone with it). While
 * it holds the certificate, reconcile and the drift check repair nothing of it. A claim
 * whose job was rejected, or never got a record, is taken over by the next uninstall.
 */
export class UninstallClaims {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
    private readonly jobs: JobRepository,
  ) {}

  private async isOpen(holder: string): Promise<boolean> {
    const record = await this.jobs.getRecord(holder);
    // no record yet: another request is creating it, unless it died doing so long ago
    if (!record) return jobIdAgeMs(holder) < CREATING_MS;
    return uninstallHolds(record.status);
  }

  /** Claims the certificate for `jobId`: undefined when it is now `jobId`'s, else the open uninstall's id. */
  async claim(env: string, name: string, jobId: string): Promise<string | undefined> {
    return claimForJob(this.redis, this.keys.uninstall(env, name), jobId, (h) => this.isOpen(h));
  }

  /** The uninstall job that holds the certificate now, if one does. */
  async openHolder(env: string, name: string): Promise<string | undefined> {
    const holder = await this.redis.get(this.keys.uninstall(env, name));
    return holder !== null && (await this.isOpen(holder)) ? holder : undefined;
  }

  /** Gives the claim back, if `jobId` still holds it. */
  async release(env: string, name: string, jobId: string): Promise<void> {
    await releaseForJob(this.redis, this.keys.uninstall(env, name), jobId);
  }
}
