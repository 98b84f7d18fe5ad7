import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDriftInterval } from './index.js';

const base = { FLEET_MASTER_KEY: randomBytes(32).toString('base64') };

describe('FLEET_DRIFT_INTERVAL, the drift check schedule', () => {
  it('defaults to six hours when unset or blank', () => {
    expect(loadConfig(base).driftIntervalMs).toBe(6 * 3_600_000);
    expect(parseDriftInterval('  ')).toBe(6 * 3_600_000);
  });

  it('accepts a duration with a unit, or whole seconds', () => {
    expect(parseDriftInterval('6h')).toBe(6 * 3_600_000);
    expect(parseDriftInterval('30m')).toBe(30 * 60_000);
    expect(parseDriftInterval('1d')).toBe(86_400_000);
    expect(parseDriftInterval('3600')).toBe(3_600_000);
    expect(loadConfig({ ...base, FLEET_DRIFT_INTERVAL: '45m' }).driftIntervalMs).toBe(45 * 60_000);
  });

  it('accepts one minute and thirty days, the bounds', () => {
    expect(parseDriftInterval('1m')).toBe(60_000);
    expect(parseDriftInterval('30d')).toBe(30 * 86_400_000);
  });

  it.each(['soon', '6 hours', '-5m', '1.5h', '0', '59s', '31d'])(
    "stops the start naming the variable for '%s'",
    (raw) => {
      expect(() => loadConfig({ ...base, FLEET_DRIFT_INTERVAL: raw })).toThrow(ConfigError);
      expect(() => parseDriftInterval(raw)).toThrow(
        `FLEET_DRIFT_INTERVAL: must be a duration from 1m to 30d such as 6h, 30m or 3600 (seconds), got '${raw}'`,
      );
    },
  );
});
