import type { FleetKeys } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { unsealWithAny } from './seal.js';
import type { SealedSecrets } from './sealed-secrets.js';

/** Which ticket of which help desk instance a job or a pending intake belongs to. */
export interface TicketLink {
  system: string;
  instance: string;
  ticketId: string;
}

/** What a ticket asked for, waiting for its PFX password (README: Help desks). */
export interface PendingIntake extends TicketLink {
  /** The job's `ticket` (`ZD-123`). */
  ticketRef: string;
  requester: string;
  name: string;
  environments: string[];
  replace: boolean;
  approvedBy?: string;
  fileName: string;
  /** SHA-256 (hex) of the PFX attachment the link is bound to. */
  pfxSha256: string;
  /** The offer (ticket and attachment) this link answers (`claimOffer`). */
  offer?: string;
  /** ISO time after which the link no longer works. */
  expiresAt: string;
}

/** The attachments themselves, sealed while the intake waits. */
export interface IntakeFiles {
  pfx: Buffer;
  caChain: Buffer[];
}

/**
 * Pending help desk intakes, keyed by the SHA-256 of their one-time link's token (the
 * token itself is never stored), and the ticket each help desk job reports to.
 */
export class HelpdeskIntakes {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
    private readonly secrets: SealedSecrets,
  ) {}

  /** Stores an intake with its files sealed (additional data: the token's hash); it expires after `ttlMs`. */
  async put(tokenSha256: string, intake: PendingIntake, files: IntakeFiles, ttlMs: number): Promise<void> {
    const key = this.keys.helpdeskIntake(tokenSha256);
    const sealed = this.secrets.sealBundle(`intake:${tokenSha256}`, { ...files, password: '' });
    await this.redis
      .multi()
      .hset(key, 'intake', JSON.stringify(intake), 'files', sealed, 'attempts', '0')
      .pexpire(key, ttlMs)
      .exec();
  }

  /** The intake, undefined when unknown or gone. */
  async get(tokenSha256: string): Promise<PendingIntake | undefined> {
    const raw = await this.redis.hget(this.keys.helpdeskIntake(tokenSha256), 'intake');
    return raw ? (JSON.parse(raw) as PendingIntake) : undefined;
  }

  /** The intake's files, opened. */
  async files(tokenSha256: string): Promise<IntakeFiles | undefined> {
    const sealed = await this.redis.hgetBuffer(this.keys.helpdeskIntake(tokenSha256), 'files');
    if (!sealed) return undefined;
    const { pfx, caChain } = unsealWithAny(this.secrets.keyring(), `intake:${tokenSha256}`, sealed).bundle;
    return { pfx, caChain };
  }

  /** Counts one try of a password; answers how many there were. */
  async countAttempt(tokenSha256: string): Promise<number> {
    return this.redis.hincrby(this.keys.helpdeskIntake(tokenSha256), 'attempts', 1);
  }

  /** Removes the intake: its link works no more. Answers whether this call removed it. */
  async consume(tokenSha256: string): Promise<boolean> {
    return (await this.redis.del(this.keys.helpdeskIntake(tokenSha256))) === 1;
  }

  /**
   * Claims the offer of one ticket attachment for `ttlMs`: true for the first claimer only,
   * so a desk that rings again (its retries, its webhook firing on certfleet's own notes,
   * a poll) neither downloads the file again nor posts a second link.
   */
  async claimOffer(offerSha256: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.helpdeskOffer(offerSha256), '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Whether the offer is claimed. */
  async offered(offerSha256: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.helpdeskOffer(offerSha256))) === 1;
  }

  /** Keeps a claimed offer for `ttlMs` from now (its job was made: the ticket is done with). */
  async keepOffer(offerSha256: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.keys.helpdeskOffer(offerSha256), '1', 'PX', ttlMs);
  }

  /** Releases an offer whose link could not be posted: the next ring tries again. */
  async dropOffer(offerSha256: string): Promise<void> {
    await this.redis.del(this.keys.helpdeskOffer(offerSha256));
  }

  /** Seals a password a desk sent in its webhook until the delivery's intake takes it (`ttlMs` at most). */
  async putDoorbellPassword(deliverySha256: string, password: string, ttlMs: number): Promise<void> {
    const sealed = this.secrets.sealBundle(`doorbell:${deliverySha256}`, {
      pfx: Buffer.alloc(0),
      caChain: [],
      password,
    });
    await this.redis.set(this.keys.helpdeskDoorbell(deliverySha256), sealed, 'PX', ttlMs);
  }

  /** The delivery's password, opened; undefined when none was sent or it expired. */
  async doorbellPassword(deliverySha256: string): Promise<string | undefined> {
    const sealed = await this.redis.getBuffer(this.keys.helpdeskDoorbell(deliverySha256));
    if (!sealed) return undefined;
    return unsealWithAny(this.secrets.keyring(), `doorbell:${deliverySha256}`, sealed).bundle.password;
  }

  /** Forgets the delivery's password (its job was made or refused). */
  async dropDoorbellPassword(deliverySha256: string): Promise<void> {
    await this.redis.del(this.keys.helpdeskDoorbell(deliverySha256));
  }

  /** Remembers which ticket a job reports to, for `ttlMs`. */
  async linkJob(jobId: string, link: TicketLink, ttlMs: number): Promise<void> {
    await this.redis.set(this.keys.helpdeskJob(jobId), JSON.stringify(link), 'PX', ttlMs);
  }

  /** The ticket a job reports to, when a help desk made it. */
  async ticketOf(jobId: string): Promise<TicketLink | undefined> {
    const raw = await this.redis.get(this.keys.helpdeskJob(jobId));
    return raw ? (JSON.parse(raw) as TicketLink) : undefined;
  }
}
