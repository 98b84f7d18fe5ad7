/**
 * Maintenance windows (README: Maintenance windows): when an environment's hosts may be
 * changed. A window is a weekly range of local wall-clock time or a cron opening with a
 * duration, each in its own IANA time zone; an environment without windows is always open.
 * Time-zone and DST arithmetic is luxon's, cron arithmetic cron-parser's.
 */
import { parseDuration } from '@certfleet/config';
import { StringEnum } from '@certfleet/contract';
import { CronExpressionParser } from 'cron-parser';
import { DateTime, IANAZone } from 'luxon';
import { Type, type Static } from 'typebox';

/** Day names a weekly window takes, Monday first (ISO weekday 1…7). */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** `HH:MM`, 00:00…23:59; `to` may also be 24:00 (the end of the day). */
const CLOCK = '^(?:[01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$';

/** One window as the inventory file writes it: `{ days, from, to, tz }` or `{ cron, duration, tz }`. */
export const WindowSchema = Type.Object(
  {
    days: Type.Optional(Type.Array(StringEnum(WEEKDAYS), { minItems: 1, maxItems: 7, uniqueItems: true })),
    from: Type.Optional(Type.String({ pattern: CLOCK })),
    to: Type.Optional(Type.String({ pattern: CLOCK })),
    cron: Type.Optional(Type.String({ minLength: 9, maxLength: 100 })),
    duration: Type.Optional(Type.String({ pattern: '^[0-9]{1,6}(m|h|d)$' })),
    tz: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);
type RawWindow = Static<typeof WindowSchema>;

/** A weekly range: on each of `days`, from `from` to `to` local time (to ≤ from: ends the next day). */
export interface WeeklyWindow {
  kind: 'weekly';
  days: Weekday[];
  from: string;
  to: string;
  tz: string;
}

/** Opens at each occurrence of `cron` (local time in `tz`) for `durationMs`. */
export interface CronWindow {
  kind: 'cron';
  cron: string;
  durationMs: number;
  tz: string;
}

/** One maintenance window of an environment. */
export type MaintenanceWindow = WeeklyWindow | CronWindow;

/** A weekly range spans at most a day; a cron window at most this long. */
const MAX_DURATION_MS = 7 * 86_400_000;
/** How far ahead an opening is looked for: a year, so a monthly cron window is found too. */
const HORIZON_MS = 366 * 86_400_000;

/** Why a window in the inventory is refused; `field` is the part after `windows[i]`. */
export class WindowError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'WindowError';
    Object.setPrototypeOf(this, WindowError.prototype);
  }
}

/** Checks one window of the inventory file and resolves it; throws WindowError naming the field. */
export function resolveWindow(raw: RawWindow, now = new Date()): MaintenanceWindow {
  if (!IANAZone.isValidZone(raw.tz)) {
    throw new WindowError('.tz', `'${raw.tz}' is not an IANA time zone (e.g. Europe/Lisbon, UTC)`);
  }
  const weekly = raw.days !== undefined || raw.from !== undefined || raw.to !== undefined;
  const cron = raw.cron !== undefined || raw.duration !== undefined;
  if (weekly === cron) {
    throw new WindowError('', 'write either days, from and to, or cron and duration (with tz)');
  }
  let window: MaintenanceWindow;
  if (weekly) {
    for (const field of ['days', 'from', 'to'] as const) {
      if (raw[field] === undefined) throw new WindowError(`.${field}`, 'missing');
    }
    if (raw.from === raw.to) {
      throw new WindowError('.to', `equals from (${raw.from}); a whole day is from: "00:00", to: "24:00"`);
    }
    if (raw.from === '24:00') throw new WindowError('.from', 'must be 00:00…23:59');
    window = { kind: 'weekly', days: raw.days!, from: raw.from!, to: raw.to!, tz: raw.tz };
  } else {
    if (raw.cron === undefined) throw new WindowError('.cron', 'missing');
    if (raw.duration === undefined) throw new WindowError('.duration', 'missing (e.g. 3h or 90m)');
    const durationMs = parseDuration(raw.duration) ?? 0;
    if (durationMs <= 0 || durationMs > MAX_DURATION_MS) {
      throw new WindowError('.duration', `must be between 1m and 7d, got '${raw.duration}'`);
    }
    try {
      CronExpressionParser.parse(raw.cron, { tz: raw.tz, strict: false });
    } catch (err) {
      throw new WindowError(
        '.cron',
        `not a cron expression (minute hour day month weekday): ${(err as Error).message}`,
      );
    }
    window = { kind: 'cron', cron: raw.cron, durationMs, tz: raw.tz };
  }
  if (nextOpening([window], now) === undefined) {
    throw new WindowError('', 'never opens within a year');
  }
  return window;
}

/** One opening of a window: [start, end). */
interface Span {
  start: number;
  end: number;
}

function clockOf(text: string): { hour: number; minute: number } {
  const [hour, minute] = text.split(':').map(Number);
  return { hour: hour ?? 0, minute: minute ?? 0 };
}

/**
 * The first opening of a weekly window that ends after `at`. Local times are wall-clock
 * times: on a day that skips `from` (DST forward) the window opens at the first minute
 * after the jump; on a day that repeats it (DST back), at its first occurrence.
 */
function weeklySpan(w: WeeklyWindow, at: number): Span | undefined {
  const days = new Set(w.days.map((d) => WEEKDAYS.indexOf(d) + 1));
  const from = clockOf(w.from);
  const to = clockOf(w.to);
  const crosses = w.to !== '24:00' && w.to < w.from;
  // the opening that is still running may have begun the day before
  let day = DateTime.fromMillis(at, { zone: w.tz }).startOf('day').minus({ days: 1 });
  for (let i = 0; i < 9; i++, day = day.plus({ days: 1 })) {
    if (!days.has(day.weekday)) continue;
    const start = day.set(from).toMillis();
    const endDay = crosses || w.to === '24:00' ? day.plus({ days: 1 }) : day;
    const end = (w.to === '24:00' ? endDay.startOf('day') : endDay.set(to)).toMillis();
    if (end > at && end > start) return { start, end };
  }
  return undefined;
}

/** The first opening of a cron window that ends after `at`. */
function cronSpan(w: CronWindow, at: number): Span | undefined {
  // an opening that began within one duration before `at` is still running
  const expression = CronExpressionParser.parse(w.cron, {
    tz: w.tz,
    currentDate: new Date(at - w.durationMs),
    endDate: new Date(at + HORIZON_MS),
  });
  if (!expression.hasNext()) return undefined;
  const start = expression.next().getTime();
  return { start, end: start + w.durationMs };
}

function spanOf(w: MaintenanceWindow, at: number): Span | undefined {
  return w.kind === 'weekly' ? weeklySpan(w, at) : cronSpan(w, at);
}

/**
 * When an environment with these windows is next open: `at` itself when one is open
 * now, else the earliest opening after it; undefined when none opens within a year.
 * No windows: always open.
 */
export function nextOpening(windows: readonly MaintenanceWindow[], at: Date): Date | undefined {
  if (windows.length === 0) return at;
  const t = at.getTime();
  let best: number | undefined;
  for (const w of windows) {
    const span = spanOf(w, t);
    if (!span) continue;
    const opens = Math.max(span.start, t);
    if (best === undefined || opens < best) best = opens;
  }
  return best === undefined ? undefined : new Date(best);
}

/** Whether an environment with these windows is open at `at`. */
export function isOpen(windows: readonly MaintenanceWindow[], at: Date): boolean {
  return nextOpening(windows, at)?.getTime() === at.getTime();
}

/**
 * The first moment from `at` at which every one of these environments is open at once
 * (the windows of each, none: always open); undefined when there is none within a year.
 * A job naming several environments starts only at such a moment.
 */
export function commonOpening(
  windowsOfEach: readonly (readonly MaintenanceWindow[])[],
  at: Date,
): Date | undefined {
  const limit = at.getTime() + HORIZON_MS;
  let t = at;
  // each pass moves t to the latest of the environments' next openings; all equal: all open
  for (let pass = 0; pass < 10_000 && t.getTime() <= limit; pass++) {
    let latest = t;
    for (const windows of windowsOfEach) {
      const opens = nextOpening(windows, t);
      if (opens === undefined) return undefined;
      if (opens > latest) latest = opens;
    }
    if (latest.getTime() === t.getTime()) return t;
    t = latest;
  }
  return undefined;
}
