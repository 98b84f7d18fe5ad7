import type { Job } from './api-types.js';
import type { TextOutput } from './cli-io.js';
import { ConnectionError } from './connection-error.js';
import { isResting } from './exit-codes.js';
import { renderOutcome } from './render-job.js';
import { changeLines, redraw, renderWatchFrame } from './render-watch.js';

export interface WatchOptions {
  /** Reads the job once (GET /v1/jobs/:id). */
  fetchJob: () => Promise<Job>;
  /** A snapshot already in hand (the answer of submit, approve or retry): shown first, no request. */
  first?: Job;
  out: TextOutput;
  /** Redraw a table in place (a terminal) or print one line per change. */
  isTTY: boolean;
  /** Print nothing: the caller prints the final job as JSON. */
  quiet?: boolean;
  /** Default 500 ms. */
  intervalMs?: number;
  /** Consecutive connection failures tolerated before giving up (an API restart); default 5. */
  maxConnectionFailures?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Follows a job until its status is final (or it rests in canary), showing progress; resolves with that job. */
export async function watchJob(options: WatchOptions): Promise<Job> {
  const { out, isTTY, quiet = false } = options;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? ((): Date => new Date());
  const intervalMs = options.intervalMs ?? 500;
  const maxFailures = options.maxConnectionFailures ?? 5;
  const started = now().getTime();
  let previous: Job | undefined;
  let drawn = 0;
  let failures = 0;
  let next = options.first;

  for (;;) {
    let job: Job;
    if (next) {
      job = next;
      next = undefined;
    } else {
      try {
        job = await options.fetchJob();
        failures = 0;
      } catch (err) {
        if (!(err instanceof ConnectionError) || ++failures >= maxFailures) throw err;
        await sleep(intervalMs);
        continue;
      }
    }
    if (!quiet) {
      if (isTTY) {
        const frame = renderWatchFrame(job, {
          elapsedMs: now().getTime() - started,
          ...(out.columns ? { maxWidth: out.columns } : {}),
          ...(out.rows ? { maxHeight: out.rows } : {}),
        });
        out.write(redraw(drawn, frame));
        drawn = frame.length;
      } else {
        for (const line of changeLines(previous, job)) out.write(`${line}\n`);
      }
    }
    previous = job;
    if (isResting(job.status)) {
      if (!quiet) out.write(`${isTTY ? '\n' : ''}${renderOutcome(job).join('\n')}\n`);
      return job;
    }
    await sleep(intervalMs);
  }
}
