import type { RedisClient } from './redis-client.js';
import type { FleetKeys } from './keys.js';
import { readJsonHash } from './redis-json.js';
import { claimForJob, releaseForJob } from './job-claim.js';

/** A repair that cannot be made here: the environment keeps no secret to install again. */
export interface RepairNeeded {
  name: string;
  frontEnd: string;
  reason: string;
  at: string;
}

/**
 * At most one open repair job per environment, certificate and front-end, across
 * workers and restarts: a claim names the job; a claim whose job has ended is taken over.
 */
export class RepairClaims {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
  ) {}

  /**
   * Claims the front-end for `jobId`. Answers undefined when the claim is now `jobId`'s,
   * or the id of the open job that holds it (`isOpen` says whether a job is still open).
   */
  async claim(
    env: string,
    name: string,
    frontEnd: string,
    jobId: string,
    isOpen: (holder: string) => Promise<boolean>,
  ): Promise<string | undefined> {
    return claimForJob(this.redis, this.keys.repairClaim(env, name, frontEnd), jobId, isOpen);
  }

  /** Gives a claim back, if `jobId` still holds it. */
  async release(env: string, name: string, frontEnd: string, jobId: string): Promise<void> {
    await releaseForJob(this.redis, this.keys.repairClaim(env, name, frontEnd), jobId);
  }

  /** Drops the claims of front-ends an install has just reached, whatever job held them. */
  async clear(env: string, name: string, frontEnds: readonly string[]): Promise<void> {
    if (frontEnds.length === 0) return;
    await this.redis.del(...frontEnds.map((fe) => this.keys.repairClaim(env, name, fe)));
  }

  /** Notes repairs that need a new submission; answers those not noted before (reported once each). */
  async noteNeeded(env: string, needed: readonly RepairNeeded[]): Promise<RepairNeeded[]> {
    const fresh: RepairNeeded[] = [];
    for (const n of needed) {
      const added = await this.redis.hsetnx(
        this.keys.repairNeeded(env),
        `${n.name}/${n.frontEnd}`,
        JSON.stringify(n),
      );
      if (added === 1) fresh.push(n);
    }
    return fresh;
  }

  /** The repairs of one environment that wait for a new submission. */
  async listNeeded(env: string): Promise<RepairNeeded[]> {
    return readJsonHash<RepairNeeded>(
      this.redis,
      this.keys.repairNeeded(env),
      (n) => `${n.name}/${n.frontEnd}`,
    );
  }

  /** Forgets what a new install of `name` has settled. */
  async clearNeeded(env: string, name: string, frontEnds: readonly string[]): Promise<void> {
    if (frontEnds.length === 0) return;
    await this.redis.hdel(this.keys.repairNeeded(env), ...frontEnds.map((fe) => `${name}/${fe}`));
  }
}
