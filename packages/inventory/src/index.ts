import path from 'node:path';
import {
  CANARY_CONTINUES,
  ENV_PATTERN,
  Platform,
  ROLLOUTS,
  StringEnum,
  type CanaryContinue,
  type Rollout,
  loadYamlFile,
  parseYamlText,
  type YamlFileOptions,
} from '@certfleet/contract';
import { Type, type Static } from 'typebox';
import {
  commonOpening,
  resolveWindow,
  WindowError,
  WindowSchema,
  type MaintenanceWindow,
} from './maintenance-windows.js';

export type { Platform } from '@certfleet/contract';

/** One front-end server as the worker reaches it. */
export interface FrontEnd {
  name: string;
  host: string;
  port: number;
  /** Pinned host key: an OpenSSH public key line or a `SHA256:<base64>` fingerprint. */
  hostKey: string;
  username: string;
  privateKeyPath: string;
}

/** Windows environments: who reads the private key, and where it is kept. */
export interface WindowsOptions {
  /** SIDs or names the front-end resolves (`IIS AppPool\<pool>`, `NT SERVICE\<name>`). Default IIS_IUSRS, NETWORK SERVICE. */
  keyReaders?: string[];
  /** A CNG key storage provider. Default Microsoft Software Key Storage Provider. */
  keyProvider?: string;
}

export interface Environment {
  name: string;
  platform: Platform;
  installDir: string;
  /** Linux: a user name (looked up on the host with one command) or numeric `uid:gid`. */
  owner?: string;
  windows?: WindowsOptions;
  /** Linux: the login accounts have no shell (`ForceCommand internal-sftp`); everything goes over SFTP. */
  sftpOnly?: boolean;
  /** Keep the PFX of an installed certificate sealed for repairs; unset: FLEET_RETAIN_SECRETS decides. */
  retain?: boolean;
  /** What reconcile does with a front-end that lacks a certificate: queue the repair, or wait for an approver. */
  repair: RepairPolicy;
  /**
   * Maintenance windows (README: Maintenance windows): an approved job starts only inside one; none:
   * always open. Not `windows`, which already holds the Windows key options.
   */
  maintenanceWindows?: MaintenanceWindow[];
  /** Canary rollout: a job's default (`all` when absent), and what follows a verified canary (`approve` when absent). */
  rollout?: Rollout;
  canary?: { continue: CanaryContinue };
  frontEnds: FrontEnd[];
}

/** `auto`: a repair job is queued at once (actor `system`); `approve`: it waits for an approver. */
export type RepairPolicy = 'auto' | 'approve';

export interface Inventory {
  /** Where it was read from, for messages. */
  source: string;
  environments: Environment[];
}

export class InventoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InventoryError';
    Object.setPrototypeOf(this, InventoryError.prototype);
  }
}

/** A SID, or `[DOMAIN\]account` as Windows names accounts (IIS AppPool\<pool>, NT SERVICE\<name>). */
const READER = '^(S-1-[0-9-]{1,120}|([A-Za-z0-9 ._-]{1,64}\\\\)?[A-Za-z0-9 ._$-]{1,64})$';
const HOST = '^[A-Za-z0-9]([A-Za-z0-9.:-]{0,252})$';
const HOST_KEY =
  '^((ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh.com) [A-Za-z0-9+/]+={0,3}( .*)?|SHA256:[A-Za-z0-9+/]{43}=?)$';

/** A Linux user name, which the host resolves. */
const OWNER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
/** Numeric `uid:gid`, which SFTP sets as it is. */
const OWNER_IDS = /^[0-9]{1,10}:[0-9]{1,10}$/;

const SshDefaults = Type.Object(
  {
    username: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    privateKeyPath: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

const FrontEndSchema = Type.Object(
  {
    name: Type.String({ pattern: ENV_PATTERN }),
    host: Type.String({ pattern: HOST }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    hostKey: Type.String({ pattern: HOST_KEY }),
    username: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' })),
    privateKeyPath: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

const EnvironmentSchema = Type.Object(
  {
    name: Type.String({ pattern: ENV_PATTERN }),
    platform: Platform,
    installDir: Type.String({ minLength: 1, maxLength: 200 }),
    owner: Type.Optional(Type.String({ pattern: `${OWNER_NAME.source}|${OWNER_IDS.source}` })),
    windows: Type.Optional(
      Type.Object(
        {
          keyReaders: Type.Optional(
            Type.Array(Type.String({ pattern: READER }), { minItems: 1, maxItems: 20 }),
          ),
          keyProvider: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9 ()._-]{1,100}$' })),
        },
        { additionalProperties: false },
      ),
    ),
    sftpOnly: Type.Optional(Type.Boolean()),
    retain: Type.Optional(Type.Boolean()),
    repair: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('approve')])),
    maintenanceWindows: Type.Optional(Type.Array(WindowSchema, { maxItems: 50 })),
    // canary rollout (README: Canary rollout)
    rollout: Type.Optional(StringEnum(ROLLOUTS)),
    canary: Type.Optional(
      Type.Object({ continue: StringEnum(CANARY_CONTINUES) }, { additionalProperties: false }),
    ),
    frontEnds: Type.Array(FrontEndSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

/** The inventory file's schema (exported for the regex-safety check of every pattern). */
export const InventorySchema = Type.Object(
  {
    defaults: Type.Optional(
      Type.Object({ ssh: Type.Optional(SshDefaults) }, { additionalProperties: false }),
    ),
    environments: Type.Array(EnvironmentSchema),
  },
  { additionalProperties: false },
);

type RawInventory = Static<typeof InventorySchema>;

// Segments end at a separator, so each character matches one way (linear; README: regex rule).
const LINUX_DIR = /^\/(?:[A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]*$/;
const WINDOWS_DIR = /^[A-Za-z]:\\(?:[A-Za-z0-9 ._-]+\\)*[A-Za-z0-9 ._-]*$/;

/** The regular expressions applied to inventory text outside the schema (for the regex-safety check). */
export const INVENTORY_PATTERNS: readonly RegExp[] = [LINUX_DIR, WINDOWS_DIR];

/** Whether an install directory is absolute for its platform (and free of `..`). */
export function isValidInstallDir(platform: Platform, dir: string): boolean {
  if (dir.split(/[\\/]/).includes('..')) return false;
  return platform === 'linux' ? LINUX_DIR.test(dir) : WINDOWS_DIR.test(dir);
}

/** Says what a host key and a platform must be; the schema's patterns would not tell an operator. */
function explain(field: string): string | undefined {
  if (field.endsWith('.hostKey')) {
    return 'must be an OpenSSH public key line (ssh-ed25519 AAAA…) or a SHA256:<base64> fingerprint';
  }
  if (field.endsWith('.platform')) return 'must be windows or linux';
  if (/\.maintenanceWindows\[\d+\]\.days\[\d+\]$/.test(field))
    return 'must be mon, tue, wed, thu, fri, sat or sun';
  if (/\.maintenanceWindows\[\d+\]\.(from|to)$/.test(field))
    return 'must be a time of day HH:MM (to may be 24:00)';
  return undefined;
}

const FILE_OPTIONS: YamlFileOptions = { error: InventoryError, explain };

/** Validates inventory YAML text; errors name the file and the field. */
export function parseInventory(text: string, source = 'inventory'): Inventory {
  return resolve(parseYamlText(InventorySchema, text, source, FILE_OPTIONS), source);
}

function resolve(raw: RawInventory, source: string): Inventory {
  const defaults = raw.defaults?.ssh ?? {};
  const seenEnv = new Set<string>();
  const environments = raw.environments.map((env, i): Environment => {
    const at = `${source}: environments[${i}]`;
    if (seenEnv.has(env.name)) throw new InventoryError(`${at}.name: duplicate environment '${env.name}'`);
    seenEnv.add(env.name);
    if (!isValidInstallDir(env.platform, env.installDir)) {
      const example = env.platform === 'linux' ? '/srv/fleet-certs' : 'D:\\Certificates';
      throw new InventoryError(
        `${at}.installDir: must be an absolute ${env.platform} path such as ${example}, got '${env.installDir}'`,
      );
    }
    if (env.owner !== undefined && env.platform !== 'linux') {
      throw new InventoryError(`${at}.owner: only linux environments take an owner`);
    }
    if (env.windows !== undefined && env.platform !== 'windows') {
      throw new InventoryError(`${at}.windows: only windows environments take windows options`);
    }
    if (env.sftpOnly === true && env.platform !== 'linux') {
      throw new InventoryError(`${at}.sftpOnly: only linux environments install over SFTP alone`);
    }
    if (env.sftpOnly === true && env.owner !== undefined && !OWNER_IDS.test(env.owner)) {
      throw new InventoryError(
        `${at}.owner: '${env.owner}' is a name, and an SFTP-only account has no shell to look it up; ` +
          'write the numeric uid:gid instead (on the front-end: echo $(id -u NAME):$(id -g NAME))',
      );
    }
    const maintenanceWindows = (env.maintenanceWindows ?? []).map((w, k) => {
      try {
        return resolveWindow(w);
      } catch (err) {
        if (!(err instanceof WindowError)) throw err;
        throw new InventoryError(`${at}.maintenanceWindows[${k}]${err.field}: ${err.message}`);
      }
    });
    const seenFe = new Set<string>();
    const frontEnds = env.frontEnds.map((fe, j): FrontEnd => {
      const feAt = `${at}.frontEnds[${j}]`;
      if (seenFe.has(fe.name)) throw new InventoryError(`${feAt}.name: duplicate front-end '${fe.name}'`);
      seenFe.add(fe.name);
      const username = fe.username ?? defaults.username;
      const privateKeyPath = fe.privateKeyPath ?? defaults.privateKeyPath;
      if (!username) throw new InventoryError(`${feAt}.username: missing (here or in defaults.ssh)`);
      if (!privateKeyPath) {
        throw new InventoryError(`${feAt}.privateKeyPath: missing (here or in defaults.ssh)`);
      }
      return {
        name: fe.name,
        host: fe.host,
        port: fe.port ?? defaults.port ?? 22,
        hostKey: fe.hostKey.trim(),
        username,
        privateKeyPath: path.resolve(path.dirname(source), privateKeyPath),
      };
    });
    return {
      name: env.name,
      platform: env.platform,
      installDir: env.installDir,
      ...(env.owner === undefined ? {} : { owner: env.owner }),
      ...(env.windows === undefined ? {} : { windows: env.windows }),
      ...(env.sftpOnly === true ? { sftpOnly: true } : {}),
      ...(env.retain === undefined ? {} : { retain: env.retain }),
      repair: env.repair ?? 'approve',
      ...(maintenanceWindows.length === 0 ? {} : { maintenanceWindows }),
      ...(env.rollout === undefined ? {} : { rollout: env.rollout }),
      ...(env.canary === undefined ? {} : { canary: env.canary }),
      frontEnds,
    };
  });
  return { source, environments };
}

/** Reads and validates the inventory file. */
export async function loadInventory(file: string): Promise<Inventory> {
  return resolve(await loadYamlFile(InventorySchema, file, FILE_OPTIONS), file);
}

/** Whether an environment keeps installed certificates' secrets: its own `retain`, else the fleet default. */
export function retainsSecrets(env: Pick<Environment, 'retain'> | undefined, fleetDefault: boolean): boolean {
  return env?.retain ?? fleetDefault;
}

/** Finds an environment by name. */
export function findEnvironment(inventory: Inventory, name: string): Environment | undefined {
  return inventory.environments.find((e) => e.name === name);
}

/** The inventory in force; a reload that fails keeps the old one. */
export class InventoryHolder {
  constructor(
    private inventory: Inventory,
    private readonly file: string,
  ) {}

  get current(): Inventory {
    return this.inventory;
  }

  /** Re-reads the file; throws InventoryError (and keeps the old inventory) when it is bad. */
  async reload(): Promise<Inventory> {
    this.inventory = await loadInventory(this.file);
    return this.inventory;
  }

  static async open(file: string): Promise<InventoryHolder> {
    return new InventoryHolder(await loadInventory(file), file);
  }
}

export { commonOpening, isOpen, nextOpening, WEEKDAYS } from './maintenance-windows.js';
export type { CronWindow, MaintenanceWindow, WeeklyWindow, Weekday } from './maintenance-windows.js';

/**
 * When a job for these environments may start, from `at`: `at` itself when every one is
 * inside a window (or has none), else the first moment all are; undefined when no such
 * moment comes within a year. An unknown environment has no windows (the plan check refuses it).
 */
export function jobOpening(
  inventory: Inventory,
  environments: readonly string[],
  at: Date,
): Date | undefined {
  const windows = environments.map((name) => findEnvironment(inventory, name)?.maintenanceWindows ?? []);
  return commonOpening(windows, at);
}
export { planInstall, planUninstall, UnknownEnvironmentError } from './plan.js';
export type { Plan, UninstallSubject } from './plan.js';
// canary rollout (README: Canary rollout)
export { planCanary } from './canary.js';
