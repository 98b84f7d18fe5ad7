// @ts-check
// How statuses, times and counts read on the page.

import { h } from './dom.js';

/** One day in milliseconds. */
export const DAY_MS = 24 * 3600 * 1000;

/** A status as words: `pending_approval` reads "pending approval". @param {string | null | undefined} status */
export function label(status) {
  return String(status ?? '').replace(/_/g, ' ');
}

/** A status badge with its `data-status`. @param {string} status */
export function statusBadge(status) {
  return h('span', { class: `status s-${status}`, 'data-status': status, text: label(status) });
}

/** A date and time in UTC, or a dash when there is none. @param {string | null | undefined} iso */
export function fmtTime(iso) {
  if (!iso) return h('span', { class: 'muted', text: '—' });
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const text = `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return h('time', { datetime: d.toISOString(), title: d.toString(), text });
}

/** A time of day, for per-host results (the full date is in the title). @param {string} iso */
export function fmtClock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return h('time', {
    datetime: d.toISOString(),
    title: `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`,
    text: `${d.toISOString().slice(11, 19)} UTC`,
  });
}

/** A duration in whole days, "1 day" or "n days". @param {number} ms */
export function days(ms) {
  const n = Math.floor(Math.abs(ms) / DAY_MS);
  return n === 1 ? '1 day' : `${n} days`;
}

/** "1 target", "2 targets". @param {number} n @param {string} word */
export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The first characters of a hash, then an ellipsis; empty when there is none. @param {string | null} hex */
export function shortHash(hex, n = 12) {
  return hex ? `${hex.slice(0, n)}…` : '';
}
