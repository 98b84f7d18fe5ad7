import type { RedisClient } from './redis-client.js';
import type { FleetKeys } from './keys.js';
import { readJsonHash } from './redis-json.js';

/** One certificate on one front-end of an environment, as a job installed it. */
export interface HostInstall {
  /** The certificate's name in the environment. */
  name: string;
  frontEnd: string;
  host: string;
  port: number;
  fingerprintSha256: string;
  /** The job (the install, or a repair) that put it there. */
  jobId: string;
  installedAt: string;
  /** When reconcile found the front-end gone from the inventory; the record itself stays as it was. */
  goneAt: string | null;
}

const field = (name: string, frontEnd: string): string => `${name}/${frontEnd}`;

/** Per environment, where each certificate is installed: what reconcile compares the inventory with. */
export class InstalledHosts {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FleetKeys,
  ) {}

  /** Records installs (a later install of the same name on the same front-end replaces the record). */
  async record(env: string, installs: readonly HostInstall[]): Promise<void> {
    if (installs.length === 0) return;
    await this.redis.hset(
      this.keys.installedHosts(env),
      ...installs.flatMap((i) => [field(i.name, i.frontEnd), JSON.stringify(i)]),
    );
  }

  /** Every record of one environment. */
  async list(env: string): Promise<HostInstall[]> {
    return readJsonHash<HostInstall>(this.redis, this.keys.installedHosts(env), (i) =>
      field(i.name, i.frontEnd),
    );
  }

  /** Marks records of front-ends no longer in the inventory as gone, leaving the rest of each as it was. */
  async markGone(env: string, gone: readonly HostInstall[], at: string): Promise<void> {
    await this.record(
      env,
      gone.map((i) => ({ ...i, goneAt: i.goneAt ?? at })),
    );
  }

  /** Forgets every record of one certificate of an environment (an uninstall completed). */
  async forget(env: string, name: string): Promise<void> {
    const fields = (await this.list(env))
      .filter((i) => i.name === name)
      .map((i) => field(i.name, i.frontEnd));
    if (fields.length > 0) await this.redis.hdel(this.keys.installedHosts(env), ...fields);
  }
}
