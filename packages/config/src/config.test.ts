import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  addressRefusal,
  ConfigError,
  loadConfig,
  parseCidrList,
  parseDuration,
  parseTimeOfDay,
  parseWarnDays,
} from './index.js';

const KEY = randomBytes(32).toString('base64');

describe('loadConfig', () => {
  it('applies the defaults of API.md', () => {
    const config = loadConfig({ FLEET_MASTER_KEY: KEY });
    expect(config).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6379',
      prefix: 'fleet',
      inventoryPath: './inventory.yaml',
      authPath: './auth.yaml',
      concurrency: 16,
      retryAttempts: 5,
      shutdownTimeoutMs: 30_000,
      webhookAutoApprove: false,
      secretTtlMs: 72 * 3600 * 1000,
      rateLimit: 120,
      lockDurationMs: 30_000,
      host: '127.0.0.1',
      port: 8080,
      logLevel: 'info',
      webhookSecrets: [],
      notifyAllow: [],
    });
    expect(config.masterKey?.length).toBe(32);
  });

  it.each([
    [{}, 'FLEET_MASTER_KEY'],
    [{ FLEET_MASTER_KEY: 'c2hvcnQ=' }, 'FLEET_MASTER_KEY'],
    [{ FLEET_MASTER_KEY: KEY, FLEET_CONCURRENCY: 'lots' }, 'FLEET_CONCURRENCY'],
    [{ FLEET_MASTER_KEY: KEY, FLEET_CONCURRENCY: '0' }, 'FLEET_CONCURRENCY'],
    [{ FLEET_MASTER_KEY: KEY, PORT: '70000' }, 'PORT'],
    [{ FLEET_MASTER_KEY: KEY, REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ FLEET_MASTER_KEY: KEY, FLEET_SECRET_TTL: 'forever' }, 'FLEET_SECRET_TTL'],
    [{ FLEET_MASTER_KEY: KEY, FLEET_WEBHOOK_AUTO_APPROVE: 'maybe' }, 'FLEET_WEBHOOK_AUTO_APPROVE'],
    [{ FLEET_MASTER_KEY: KEY, LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ FLEET_MASTER_KEY: KEY, FLEET_PREFIX: 'a:b' }, 'FLEET_PREFIX'],
    [{ FLEET_MASTER_KEY: KEY, FLEET_NOTIFY_ALLOW: '10.0.0.0/8, support-net' }, 'FLEET_NOTIFY_ALLOW'],
    [
      { FLEET_MASTER_KEY: KEY, FLEET_NOTIFY_WEBHOOK_URL: 'https://x.example/h' },
      'FLEET_NOTIFY_WEBHOOK_SECRET',
    ],
  ])('refuses %j naming %s in one line', (env, variable) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message.startsWith(`${variable}: `)).toBe(true);
    expect((error as ConfigError).message).not.toContain('\n');
  });

  it('retains secrets and reconciles hourly unless told otherwise', () => {
    expect(loadConfig({ FLEET_MASTER_KEY: KEY })).toMatchObject({
      retainSecrets: true,
      reconcileIntervalMs: 3_600_000,
    });
    expect(
      loadConfig({ FLEET_MASTER_KEY: KEY, FLEET_RETAIN_SECRETS: 'false', FLEET_RECONCILE_INTERVAL: '15m' }),
    ).toMatchObject({ retainSecrets: false, reconcileIntervalMs: 900_000 });
    expect(() => loadConfig({ FLEET_MASTER_KEY: KEY, FLEET_RECONCILE_INTERVAL: 'soon' })).toThrow(
      /^FLEET_RECONCILE_INTERVAL: /,
    );
  });

  it('reads SSH timeouts and earlier master keys', () => {
    const old = randomBytes(32).toString('base64');
    const config = loadConfig({
      FLEET_MASTER_KEY: KEY,
      FLEET_MASTER_KEY_PREVIOUS: old,
      FLEET_SSH_CONNECT_TIMEOUT: '3',
      FLEET_SSH_STEP_TIMEOUT: '45',
    });
    expect(config.previousMasterKeys.map((k) => k.toString('base64'))).toEqual([old]);
    expect(config.sshConnectTimeoutMs).toBe(3000);
    expect(config.sshStepTimeoutMs).toBe(45_000);
    expect(() => loadConfig({ FLEET_MASTER_KEY: KEY, FLEET_MASTER_KEY_PREVIOUS: 'short' })).toThrow(
      /^FLEET_MASTER_KEY_PREVIOUS: /,
    );
  });

  it('accepts Redis Sentinel URLs', () => {
    const url = 'redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster?db=2';
    expect(loadConfig({ FLEET_MASTER_KEY: KEY, REDIS_URL: url }).redisUrl).toBe(url);
    expect(() => loadConfig({ FLEET_MASTER_KEY: KEY, REDIS_URL: 'redis+sentinel://:%ZZ@h:1/main' })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig({ FLEET_MASTER_KEY: KEY, REDIS_URL: 'redis+sentinel://h:1' })).toThrow(
      /^REDIS_URL: /,
    );
  });

  it('accepts Redis Cluster URLs and refuses a bad one in one line naming the Cluster form', () => {
    const url = 'redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001';
    expect(loadConfig({ FLEET_MASTER_KEY: KEY, REDIS_URL: url }).redisUrl).toBe(url);
    for (const bad of ['redis+cluster://a:7000/3', 'redis+cluster://a:x', 'rediss+cluster://']) {
      expect(() => loadConfig({ FLEET_MASTER_KEY: KEY, REDIS_URL: bad }), bad).toThrow(
        /^REDIS_URL: must be redis\+cluster:\/\/\[:password@\]host:port\[,host:port…\] \(percent-encode special characters\)$/,
      );
    }
    expect(() => loadConfig({ FLEET_MASTER_KEY: KEY, REDIS_URL: 'redis+shard://a:1' })).toThrow(
      /^REDIS_URL: must be redis\+sentinel:.* or redis\+cluster:[^\n]*$/,
    );
  });

  it('allows a missing master key only when asked to', () => {
    expect(loadConfig({}, { requireMasterKey: false }).masterKey).toBeUndefined();
  });

  it('splits several webhook secrets for rotation', () => {
    expect(loadConfig({ FLEET_MASTER_KEY: KEY, FLEET_WEBHOOK_SECRET: 'old, new' }).webhookSecrets).toEqual([
      'old',
      'new',
    ]);
  });

  it('parses durations', () => {
    expect(parseDuration('72h')).toBe(259_200_000);
    expect(parseDuration('15')).toBe(15_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('1w')).toBeUndefined();
  });
});

describe('the notify address policy', () => {
  const allow = parseCidrList('10.20.0.0/16, fd12::/16, 192.0.2.7');

  it.each([
    ['8.8.8.8', undefined],
    ['2001:4860:4860::8888', undefined],
    ['10.20.1.1', undefined],
    ['192.0.2.7', undefined],
    ['fd12::1', undefined],
    ['10.21.0.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'cloud metadata'],
    ['::ffff:169.254.169.254', 'cloud metadata'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['64:ff9b::a9fe:a9fe', 'rfc6052'],
  ])('judges %s: %s', (address, refusal) => {
    const verdict = addressRefusal(address, allow);
    if (refusal === undefined) expect(verdict).toBeUndefined();
    else expect(verdict).toContain(refusal);
  });

  it('never allows the metadata or unspecified address, even when FLEET_NOTIFY_ALLOW says 0.0.0.0/0', () => {
    const everything = parseCidrList('0.0.0.0/0, ::/0');
    expect(addressRefusal('169.254.169.254', everything)).toContain('cloud metadata');
    expect(addressRefusal('0.0.0.0', everything)).toContain('unspecified');
    expect(addressRefusal('127.0.0.1', everything)).toBeUndefined();
  });
});

describe('the expiry watch settings', () => {
  it('warns at 60, 30, 14, 7 and 1 days and checks daily at 06:00 UTC by default', () => {
    const config = loadConfig({ FLEET_MASTER_KEY: KEY });
    expect(config.expiryWarnDays).toEqual([1, 7, 14, 30, 60]);
    expect(config.expiryCheckAt).toEqual({ hour: 6, minute: 0 });
  });

  it('reads thresholds in any order, with spaces and repeats, as ascending days each once', () => {
    expect(parseWarnDays(' 30, 7 ,90,7')).toEqual([7, 30, 90]);
    const config = loadConfig({
      FLEET_MASTER_KEY: KEY,
      FLEET_EXPIRY_WARN_DAYS: '21,3',
      FLEET_EXPIRY_CHECK_AT: '23:59',
    });
    expect(config.expiryWarnDays).toEqual([3, 21]);
    expect(config.expiryCheckAt).toEqual({ hour: 23, minute: 59 });
  });

  it.each(['0', '-7', '7,,1', '1.5', 'fourteen', '7;1', '14d'])(
    'refuses FLEET_EXPIRY_WARN_DAYS=%s in one line that names it',
    (raw) => {
      expect(() => loadConfig({ FLEET_MASTER_KEY: KEY, FLEET_EXPIRY_WARN_DAYS: raw })).toThrow(
        /^FLEET_EXPIRY_WARN_DAYS: must be positive whole numbers of days/,
      );
    },
  );

  it.each(['6', '24:00', '6:00', '06:60', 'noon'])('refuses FLEET_EXPIRY_CHECK_AT=%s', (raw) => {
    expect(parseTimeOfDay(raw)).toBeUndefined();
    expect(() => loadConfig({ FLEET_MASTER_KEY: KEY, FLEET_EXPIRY_CHECK_AT: raw })).toThrow(
      /^FLEET_EXPIRY_CHECK_AT: must be a UTC time HH:MM/,
    );
  });
});
