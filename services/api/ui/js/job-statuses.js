// @ts-check
// Which job statuses mean what to the page. The browser loads no package code, so these lists
// live here; their entries are checked against the wire's JobStatus.

/** @import { JobStatus } from './wire-types.js' */

/** Statuses after which a job never changes: the page stops polling. @type {ReadonlySet<JobStatus>} */
export const FINAL = new Set(['completed', 'partially_failed', 'failed', 'rejected']);

/** Statuses of a job that was approved: its targets show results, not a plan. @type {ReadonlySet<JobStatus>} */
export const RAN = new Set(['queued', 'running', 'canary', 'completed', 'partially_failed', 'failed']);
