import type { Job, TargetRecord } from './api-types.js';
import {
  countTargets,
  nextStep,
  renderTargets,
  targetDetail,
  targetName,
  targetState,
} from './render-job.js';
import { clean, truncate } from './table.js';

/** `[██████░░░░░░]  2/4  50%` */
export function progressBar(done: number, total: number, width = 30): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(ratio * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]  ${done}/${total}  ${Math.floor(ratio * 100)}%`;
}

/** `7s`, `2m05s` */
export function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export interface FrameOptions {
  elapsedMs: number;
  /** The terminal's width: longer lines are cut so that none wraps and the redraw stays in place. */
  maxWidth?: number;
  /** The terminal's height: a frame taller than the screen cannot be redrawn in place. */
  maxHeight?: number;
}

// When not every target fits on the screen, those still moving or failed are shown first.
const SHOW_FIRST: Record<string, number> = { failed: 0, retrying: 1, running: 2, pending: 3, installed: 4 };

/** The targets that fit in `room` rows, the interesting ones first, and how many were left out. */
export function visibleTargets(
  targets: readonly TargetRecord[],
  room: number,
): { shown: TargetRecord[]; hidden: number } {
  if (targets.length <= room) return { shown: [...targets], hidden: 0 };
  const keep = Math.max(0, room - 1);
  const order = [...targets].sort((a, b) => SHOW_FIRST[targetState(a)]! - SHOW_FIRST[targetState(b)]!);
  return { shown: order.slice(0, keep), hidden: targets.length - keep };
}

/** One screen of `--watch` on a terminal: the job, a progress bar and the targets table. */
export function renderWatchFrame(job: Job, options: FrameOptions): string[] {
  const counts = countTargets(job);
  const lines = [
    clean(`job ${job.id}  ${job.ticket}  ${job.name}  ${job.status}  ${formatElapsed(options.elapsedMs)}`),
    `${progressBar(counts.done, counts.total)}  installed ${counts.installed}, failed ${counts.failed}`,
  ];
  if (job.status === 'pending_approval') lines.push(nextStep(job)!);
  lines.push('');
  // The table's header and the cursor's own line take two rows.
  const room = options.maxHeight ? options.maxHeight - lines.length - 2 : Infinity;
  const { shown, hidden } = visibleTargets(job.targets, room);
  lines.push(...renderTargets(shown));
  if (hidden > 0) lines.push(`… ${hidden} more targets not shown (a taller terminal shows them)`);
  return options.maxWidth ? lines.map((l) => truncate(l, options.maxWidth! - 1)) : lines;
}

/**
 * What the terminal needs to replace the previous frame (`previousLines` long)
 * with this one: cursor up to its first line, clear to the end of the screen, draw.
 */
export function redraw(previousLines: number, lines: readonly string[]): string {
  const back = previousLines > 0 ? `\r\x1b[${previousLines}A\x1b[J` : '';
  return `${back}${lines.join('\n')}\n`;
}

const targetKey = (t: TargetRecord): string => `${t.status}|${t.attempts}|${t.error?.code ?? ''}|${t.round}`;

function targetLine(t: TargetRecord): string {
  const state = targetState(t);
  const attempt = `(attempt ${t.attempts})`;
  switch (state) {
    case 'running':
      return `${targetName(t)} running ${attempt}`;
    case 'installed':
      return `${targetName(t)} installed ${targetDetail(t)}`;
    case 'failed':
      return `${targetName(t)} failed ${targetDetail(t)} ${attempt}`;
    case 'retrying':
      return `${targetName(t)} retrying after ${targetDetail(t)} ${attempt}`;
    default:
      return `${targetName(t)} ${state}`;
  }
}

function statusLine(previous: Job | undefined, job: Job): string | undefined {
  // The queued state may pass between two polls: the approval is told with whatever status follows.
  const approved =
    job.approvedBy && previous?.approvedBy !== job.approvedBy ? `, approved by ${job.approvedBy}` : '';
  switch (job.status) {
    case 'pending_approval':
    case 'scheduled':
      return `job ${job.id} ${job.status}: ${nextStep(job)}`;
    case 'queued':
    case 'running':
      return job.round > 1 && previous?.round !== job.round
        ? `job ${job.id} ${job.status}, retry round ${job.round}`
        : `job ${job.id} ${job.status}${approved}`;
    default:
      // A final status is told by the summary that follows.
      return undefined;
  }
}

/**
 * `--watch` without a terminal: one line per change between two snapshots of
 * a job (`previous` undefined for the first one, when only what already happened is told).
 */
export function changeLines(previous: Job | undefined, next: Job): string[] {
  const lines: string[] = [];
  if (previous?.status !== next.status || previous.round !== next.round) {
    const line = statusLine(previous, next);
    if (line) lines.push(line);
  }
  const before = new Map((previous?.targets ?? []).map((t) => [t.id, targetKey(t)]));
  for (const t of next.targets) {
    const was = before.get(t.id);
    if (was === targetKey(t)) continue;
    if (was === undefined && t.status === 'pending' && !t.error) continue;
    lines.push(targetLine(t));
  }
  return lines.map(clean);
}
