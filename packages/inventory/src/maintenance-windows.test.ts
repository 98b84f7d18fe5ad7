import { describe, expect, it } from 'vitest';
import {
  commonOpening,
  isOpen,
  nextOpening,
  resolveWindow,
  WindowError,
  type MaintenanceWindow,
} from './maintenance-windows.js';

const at = (iso: string): Date => new Date(iso);
const weekend: MaintenanceWindow = {
  kind: 'weekly',
  days: ['sat', 'sun'],
  from: '02:00',
  to: '05:00',
  tz: 'Europe/Lisbon',
};

describe('maintenance windows', () => {
  it('no windows: always open', () => {
    expect(nextOpening([], at('2025-03-05T12:00:00Z'))).toEqual(at('2025-03-05T12:00:00Z'));
  });

  it('a weekly window opens on the next listed day at its local time, and is open until its end', () => {
    // Wednesday 2025-03-05, Lisbon = UTC in winter
    expect(nextOpening([weekend], at('2025-03-05T12:00:00Z'))).toEqual(at('2025-03-08T02:00:00Z'));
    expect(isOpen([weekend], at('2025-03-08T04:59:00Z'))).toBe(true);
    expect(isOpen([weekend], at('2025-03-08T05:00:00Z'))).toBe(false);
    expect(nextOpening([weekend], at('2025-03-08T05:00:00Z'))).toEqual(at('2025-03-09T02:00:00Z'));
    // in summer Lisbon is UTC+1: the same local 02:00 is 01:00 UTC
    expect(nextOpening([weekend], at('2025-07-02T12:00:00Z'))).toEqual(at('2025-07-05T01:00:00Z'));
  });

  it('a window whose end is before its start crosses midnight into the next day', () => {
    const night: MaintenanceWindow = { kind: 'weekly', days: ['fri'], from: '22:00', to: '02:00', tz: 'UTC' };
    expect(nextOpening([night], at('2025-03-05T12:00:00Z'))).toEqual(at('2025-03-07T22:00:00Z'));
    // Saturday 01:00 is still Friday's window
    expect(isOpen([night], at('2025-03-08T01:00:00Z'))).toBe(true);
    expect(nextOpening([night], at('2025-03-08T02:00:00Z'))).toEqual(at('2025-03-14T22:00:00Z'));
    const allDay: MaintenanceWindow = {
      kind: 'weekly',
      days: ['sun'],
      from: '00:00',
      to: '24:00',
      tz: 'UTC',
    };
    expect(isOpen([allDay], at('2025-03-09T23:59:00Z'))).toBe(true);
    expect(isOpen([allDay], at('2025-03-10T00:00:00Z'))).toBe(false);
  });

  it('keeps local wall-clock time across DST: a skipped opening hour opens after the jump', () => {
    // Europe/Lisbon moves 01:00 → 02:00 on Sunday 2025-03-30
    const oneThirty: MaintenanceWindow = {
      kind: 'weekly',
      days: ['sun'],
      from: '01:30',
      to: '03:00',
      tz: 'Europe/Lisbon',
    };
    expect(nextOpening([oneThirty], at('2025-03-29T12:00:00Z'))).toEqual(at('2025-03-30T01:30:00Z'));
    // the week before: 01:30 local = 01:30 UTC; the week after: 01:30 local = 00:30 UTC
    expect(nextOpening([oneThirty], at('2025-03-22T12:00:00Z'))).toEqual(at('2025-03-23T01:30:00Z'));
    expect(nextOpening([oneThirty], at('2025-04-05T12:00:00Z'))).toEqual(at('2025-04-06T00:30:00Z'));
    // autumn, 2025-10-26 repeats 01:00–02:00: the window opens at the first 01:30 (00:30 UTC)
    expect(nextOpening([oneThirty], at('2025-10-25T12:00:00Z'))).toEqual(at('2025-10-26T00:30:00Z'));
  });

  it('a cron window opens at each occurrence in its time zone for its duration', () => {
    const cron = resolveWindow(
      { cron: '0 2 * * 6', duration: '3h', tz: 'America/New_York' },
      at('2025-03-01T00:00:00Z'),
    );
    // Saturday 02:00 New York (EST, UTC-5) = 07:00 UTC
    expect(nextOpening([cron], at('2025-03-05T12:00:00Z'))).toEqual(at('2025-03-08T07:00:00Z'));
    expect(isOpen([cron], at('2025-03-08T09:59:00Z'))).toBe(true);
    expect(isOpen([cron], at('2025-03-08T10:00:00Z'))).toBe(false);
    // after the US change on 2025-03-09 it is EDT, UTC-4
    expect(nextOpening([cron], at('2025-03-08T10:00:00Z'))).toEqual(at('2025-03-15T06:00:00Z'));
  });

  it('several environments start together at the first moment all are open', () => {
    const utcSat: MaintenanceWindow = {
      kind: 'weekly',
      days: ['sat'],
      from: '03:00',
      to: '06:00',
      tz: 'UTC',
    };
    // Lisbon's window (02:00–05:00 UTC in winter) and this one overlap from 03:00
    expect(commonOpening([[weekend], [utcSat], []], at('2025-03-05T12:00:00Z'))).toEqual(
      at('2025-03-08T03:00:00Z'),
    );
    const utcMon: MaintenanceWindow = {
      kind: 'weekly',
      days: ['mon'],
      from: '03:00',
      to: '06:00',
      tz: 'UTC',
    };
    expect(commonOpening([[weekend], [utcMon]], at('2025-03-05T12:00:00Z'))).toBeUndefined();
  });

  it('refuses unknown time zones, empty ranges, half-written and never-opening windows, naming the field', () => {
    const fieldOf = (raw: Parameters<typeof resolveWindow>[0]): string => {
      try {
        resolveWindow(raw);
      } catch (err) {
        expect(err).toBeInstanceOf(WindowError);
        return `${(err as WindowError).field}: ${(err as Error).message}`;
      }
      throw new Error('expected a WindowError');
    };
    expect(fieldOf({ days: ['sat'], from: '02:00', to: '05:00', tz: 'Europe/Lisbn' })).toMatch(/^\.tz: /);
    expect(fieldOf({ days: ['sat'], from: '02:00', to: '02:00', tz: 'UTC' })).toMatch(/^\.to: equals from/);
    expect(fieldOf({ days: ['sat'], from: '02:00', tz: 'UTC' })).toMatch(/^\.to: missing/);
    expect(fieldOf({ cron: '0 2 * * 6', tz: 'UTC' })).toMatch(/^\.duration: missing/);
    expect(fieldOf({ cron: '0 2 * * 6', duration: '9d', tz: 'UTC' })).toMatch(/^\.duration: /);
    expect(fieldOf({ cron: 'every saturday', duration: '3h', tz: 'UTC' })).toMatch(/^\.cron: /);
    expect(fieldOf({ cron: '0 2 30 2 *', duration: '3h', tz: 'UTC' })).toMatch(/never opens|\.cron/);
    expect(fieldOf({ days: ['sat'], from: '02:00', to: '05:00', cron: '0 2 * * 6', tz: 'UTC' })).toMatch(
      /either/,
    );
  });
});
