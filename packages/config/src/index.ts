/**
 * certfleet's configuration: every environment variable of API.md, parsed and
 * validated in one function so that a bad value stops the start with one line.
 */
import { parseCidrList, type Cidr } from './notify-policy.js';
import { isRedisUrl, REDIS_URL_FORMS, redisUrlForm } from './redis-url.js';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
    Object.setPrototypeOf(this, ConfigError.prototype);
  }
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface FleetConfig {
  /** Redis connection URL: one server (redis://, rediss://), Sentinel or Cluster. */
  redisUrl: string;
  /** Key and queue prefix, written as a hash tag so Redis Cluster keeps it in one slot. */
  prefix: string;
  /** Path of the inventory YAML. */
  inventoryPath: string;
  /** Path of the principals YAML. */
  authPath: string;
  /** 32-byte key sealing secrets at rest; undefined only where the caller allows it (demo). */
  masterKey: Buffer | undefined;
  /** Earlier master keys, still accepted to open secrets sealed before a rotation. */
  previousMasterKeys: Buffer[];
  /** HMAC keys accepted for inbound ticket webhooks (several during rotation). */
  webhookSecrets: string[];
  /** Targets one worker process handles at once. */
  concurrency: number;
  /** Attempts per target for transient failures. */
  retryAttempts: number;
  /** Base delay of the exponential backoff between attempts. */
  retryBackoffMs: number;
  /** How long SIGTERM waits for running targets. */
  shutdownTimeoutMs: number;
  /** A signed webhook's approvedBy queues the job at once. */
  webhookAutoApprove: boolean;
  /** How long a job that ended with failures keeps its sealed secret. */
  secretTtlMs: number;
  /** Mutating requests per minute per principal. */
  rateLimit: number;
  /** BullMQ lock duration: how soon a dead worker's target is taken over. */
  lockDurationMs: number;
  /** How long an SSH connection and handshake may take. */
  sshConnectTimeoutMs: number;
  /** How long each remote step (an SFTP operation, a command) may take. */
  sshStepTimeoutMs: number;
  /** Largest decoded PFX accepted at intake. */
  maxPfxBytes: number;
  /** Largest KDF iteration count accepted in a PFX, checked before deriving anything. */
  maxKdfIterations: number;
  host: string;
  port: number;
  logLevel: LogLevel;
  notifyWebhookUrl: string | undefined;
  notifyWebhookSecret: string | undefined;
  notifySlackUrl: string | undefined;
  /** FLEET_NOTIFY_ALLOW: ranges a notify URL may reach beyond public addresses (README: notify URLs). */
  notifyAllow: Cidr[];
  smtpUrl: string | undefined;
  emailFrom: string | undefined;
  /** FLEET_DRIFT_INTERVAL: how often every environment's drift check runs (issue 16). */
  driftIntervalMs: number;
  // Retention and reconcile (README: Keeping environments right).
  /** FLEET_RETAIN_SECRETS: keep an installed certificate's PFX sealed for repairs, where the inventory does not say. */
  retainSecrets: boolean;
  /** FLEET_RECONCILE_INTERVAL: how often every environment's front-ends are compared with its certificates. */
  reconcileIntervalMs: number;
  /** FLEET_EXPIRY_WARN_DAYS: days before notAfter at which the expiry watch reports, ascending. */
  expiryWarnDays: number[];
  /** FLEET_EXPIRY_CHECK_AT: the UTC time of day of the daily expiry watch. */
  expiryCheckAt: TimeOfDay;
  // Help desks (README: Help desks).
  /** FLEET_ADAPTERS: the YAML file of help desk instances; absent, no help desk adapters. */
  adaptersPath: string | undefined;
  /** FLEET_INTAKE_LINK_TTL: how long a one-time password link works. */
  intakeLinkTtlMs: number;
  /** FLEET_PUBLIC_URL: where customers reach certfleet (password links); the API's own address when absent. */
  publicUrl: string | undefined;
  // Maintenance windows (README: Maintenance windows)
  /** FLEET_WINDOW_RECHECK: the longest a scheduled job waits before it looks at its window again. */
  windowRecheckMs: number;
}

/** A time of day in UTC. */
export interface TimeOfDay {
  hour: number;
  minute: number;
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function text(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw))
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got '${raw}'`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be from ${min} to ${max}, got ${value}`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got '${raw}'`);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `72h`, `30m`, `15s`, `500ms`, `2d` or a bare number of seconds. */
export function parseDuration(raw: string): number | undefined {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!match) return undefined;
  return Number(match[1]) * DURATION_UNITS[match[2] ?? 's']!;
}

function duration(env: Env, name: string, fallback: string): number {
  const raw = text(env, name) ?? fallback;
  const value = parseDuration(raw);
  if (value === undefined || value <= 0) {
    throw new ConfigError(name, `must be a duration such as 72h, 30m or 45s, got '${raw}'`);
  }
  return value;
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return raw;
}

/** `redis://`, `rediss://`, Sentinel (`redis+sentinel://…/<master name>`) or Cluster (`redis+cluster://…`). */
function redisUrl(env: Env): string {
  const raw = text(env, 'REDIS_URL');
  if (raw === undefined) return 'redis://127.0.0.1:6379';
  if (/^rediss?\+/.test(raw)) {
    if (isRedisUrl(raw)) return raw;
    const form = redisUrlForm(raw);
    throw new ConfigError(
      'REDIS_URL',
      form
        ? `must be ${form} (percent-encode special characters)`
        : `must be ${Object.values(REDIS_URL_FORMS).join(' or ')}`,
    );
  }
  return url(env, 'REDIS_URL', ['redis:', 'rediss:'])!;
}

/** Decodes a base64 master key, which must be exactly 32 bytes. */
export function parseMasterKey(raw: string, variable = 'FLEET_MASTER_KEY'): Buffer {
  const key = Buffer.from(raw, 'base64');
  if (key.length !== 32 || key.toString('base64').replace(/=+$/, '') !== raw.replace(/=+$/, '')) {
    throw new ConfigError(variable, 'must be 32 bytes in base64 (make one with: openssl rand -base64 32)');
  }
  return key;
}

// Drift check (issue 16)
/** Shortest and longest FLEET_DRIFT_INTERVAL: a check every minute at most, every 30 days at least. */
export const DRIFT_INTERVAL_BOUNDS_MS = { min: 60_000, max: 30 * 86_400_000 } as const;

/** FLEET_DRIFT_INTERVAL: a duration (`6h`, `30m`) or whole seconds, from 1 minute to 30 days; default 6 h. */
export function parseDriftInterval(raw: string | undefined): number {
  const text = raw?.trim() ?? '';
  if (text === '') return 6 * 3_600_000;
  const value = parseDuration(text);
  const { min, max } = DRIFT_INTERVAL_BOUNDS_MS;
  if (value === undefined || value < min || value > max) {
    throw new ConfigError(
      'FLEET_DRIFT_INTERVAL',
      `must be a duration from 1m to 30d such as 6h, 30m or 3600 (seconds), got '${text}'`,
    );
  }
  return value;
}

export interface LoadConfigOptions {
  /** Whether a missing FLEET_MASTER_KEY is allowed (the demo makes its own). */
  requireMasterKey?: boolean;
}

function cidrs(env: Env, name: string): Cidr[] {
  try {
    return parseCidrList(text(env, name) ?? '');
  } catch (err) {
    throw new ConfigError(name, (err as Error).message);
  }
}

/** Parses `60,30,14,7,1`: positive whole numbers of days, any order; answers them ascending, each once. */
export function parseWarnDays(raw: string): number[] {
  const parts = raw.split(',').map((p) => p.trim());
  const bad = parts.find((p) => !/^[1-9]\d{0,4}$/.test(p));
  if (bad !== undefined) {
    throw new Error(
      `must be positive whole numbers of days, comma-separated (e.g. 60,30,14,7,1), got '${bad}'`,
    );
  }
  return [...new Set(parts.map(Number))].sort((a, b) => a - b);
}

/** Parses `HH:MM` (24-hour, UTC). */
export function parseTimeOfDay(raw: string): TimeOfDay | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(raw.trim());
  return match ? { hour: Number(match[1]), minute: Number(match[2]) } : undefined;
}

function expiryWarnDays(env: Env): number[] {
  try {
    return parseWarnDays(text(env, 'FLEET_EXPIRY_WARN_DAYS') ?? '60,30,14,7,1');
  } catch (err) {
    throw new ConfigError('FLEET_EXPIRY_WARN_DAYS', (err as Error).message);
  }
}

function expiryCheckAt(env: Env): TimeOfDay {
  const raw = text(env, 'FLEET_EXPIRY_CHECK_AT') ?? '06:00';
  const at = parseTimeOfDay(raw);
  if (!at)
    throw new ConfigError('FLEET_EXPIRY_CHECK_AT', `must be a UTC time HH:MM such as 06:00, got '${raw}'`);
  return at;
}

/** Reads and validates the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): FleetConfig {
  const { requireMasterKey = true } = options;
  const prefix = text(env, 'FLEET_PREFIX') ?? 'fleet';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(prefix)) {
    throw new ConfigError('FLEET_PREFIX', 'may hold letters, digits, _ and - only (1 to 64)');
  }
  const rawKey = text(env, 'FLEET_MASTER_KEY');
  if (rawKey === undefined && requireMasterKey) {
    throw new ConfigError('FLEET_MASTER_KEY', 'is required (make one with: openssl rand -base64 32)');
  }
  const logLevel = (text(env, 'LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const notifyWebhookUrl = url(env, 'FLEET_NOTIFY_WEBHOOK_URL', ['http:', 'https:']);
  const notifyWebhookSecret = text(env, 'FLEET_NOTIFY_WEBHOOK_SECRET');
  if (notifyWebhookUrl && !notifyWebhookSecret) {
    throw new ConfigError('FLEET_NOTIFY_WEBHOOK_SECRET', 'is required when FLEET_NOTIFY_WEBHOOK_URL is set');
  }
  return {
    redisUrl: redisUrl(env),
    prefix,
    inventoryPath: text(env, 'FLEET_INVENTORY') ?? './inventory.yaml',
    authPath: text(env, 'FLEET_AUTH') ?? './auth.yaml',
    masterKey: rawKey === undefined ? undefined : parseMasterKey(rawKey),
    previousMasterKeys: (text(env, 'FLEET_MASTER_KEY_PREVIOUS') ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter((k) => k.length > 0)
      .map((k) => parseMasterKey(k, 'FLEET_MASTER_KEY_PREVIOUS')),
    webhookSecrets: (text(env, 'FLEET_WEBHOOK_SECRET') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
    concurrency: integer(env, 'FLEET_CONCURRENCY', 16, 1, 1000),
    retryAttempts: integer(env, 'FLEET_RETRY_ATTEMPTS', 5, 1, 100),
    retryBackoffMs: integer(env, 'FLEET_RETRY_BACKOFF_MS', 2000, 1, 3_600_000),
    shutdownTimeoutMs: integer(env, 'FLEET_SHUTDOWN_TIMEOUT', 30, 0, 3600) * 1000,
    webhookAutoApprove: bool(env, 'FLEET_WEBHOOK_AUTO_APPROVE', false),
    secretTtlMs: duration(env, 'FLEET_SECRET_TTL', '72h'),
    rateLimit: integer(env, 'FLEET_RATE_LIMIT', 120, 1, 1_000_000),
    lockDurationMs: integer(env, 'FLEET_LOCK_DURATION_MS', 30_000, 1000, 3_600_000),
    sshConnectTimeoutMs: integer(env, 'FLEET_SSH_CONNECT_TIMEOUT', 10, 1, 600) * 1000,
    sshStepTimeoutMs: integer(env, 'FLEET_SSH_STEP_TIMEOUT', 30, 1, 3600) * 1000,
    maxPfxBytes: integer(env, 'FLEET_MAX_PFX_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    maxKdfIterations: integer(env, 'FLEET_MAX_KDF_ITERATIONS', 2_000_000, 1, 100_000_000),
    host: text(env, 'HOST') ?? '127.0.0.1',
    port: integer(env, 'PORT', 8080, 0, 65535),
    logLevel,
    notifyWebhookUrl,
    notifyWebhookSecret,
    notifySlackUrl: url(env, 'FLEET_NOTIFY_SLACK_URL', ['http:', 'https:']),
    notifyAllow: cidrs(env, 'FLEET_NOTIFY_ALLOW'),
    smtpUrl: url(env, 'FLEET_SMTP_URL', ['smtp:', 'smtps:']),
    emailFrom: text(env, 'FLEET_NOTIFY_EMAIL_FROM'),
    driftIntervalMs: parseDriftInterval(env['FLEET_DRIFT_INTERVAL']),
    retainSecrets: bool(env, 'FLEET_RETAIN_SECRETS', true),
    reconcileIntervalMs: duration(env, 'FLEET_RECONCILE_INTERVAL', '1h'),
    expiryWarnDays: expiryWarnDays(env),
    expiryCheckAt: expiryCheckAt(env),
    // Help desks (README: Help desks).
    adaptersPath: text(env, 'FLEET_ADAPTERS'),
    intakeLinkTtlMs: duration(env, 'FLEET_INTAKE_LINK_TTL', '72h'),
    publicUrl: url(env, 'FLEET_PUBLIC_URL', ['http:', 'https:']),
    windowRecheckMs: duration(env, 'FLEET_WINDOW_RECHECK', '15m'),
  };
}

export {
  addressRefusal,
  checkNotifyUrl,
  NotifyUrlError,
  parseCidrList,
  resolveNotifyAddress,
  systemResolver,
} from './notify-policy.js';
export type { Cidr, ResolvedAddress, Resolver } from './notify-policy.js';
export { isRedisUrl, redisConnectionFromUrl, redisUrlForm, REDIS_URL_FORMS } from './redis-url.js';
export type { RedisConnectionSpec, RedisNode, RedisTarget } from './redis-url.js';

/** Paths pino removes from every log line: no secret reaches a log. */
export const REDACT_PATHS = [
  'password',
  'pfx',
  'privateKey',
  '*.password',
  '*.pfx',
  '*.privateKey',
  '*.*.password',
  '*.*.pfx',
  'req.headers.authorization',
  'req.headers["x-certfleet-signature"]',
  'headers.authorization',
];
