/**
 * `npm run bench:startup`: start-up time and idle resident memory of one worker process,
 * run from its TypeScript under tsx (`node --import tsx --conditions=source
 * services/worker/src/main.ts`, what `npm start` did before) and compiled (`node
 * services/worker/dist/main.js`, what it does now), on the Node.js running this script.
 * Start-up is from spawn to the "worker started" log line (config, inventory and Redis
 * connection included); RSS is VmRSS 3 s after that. The two forms alternate, RUNS times
 * each; figures are medians. Prints figures, never fails on them. Needs Redis, root (a real
 * sshd for the inventory) and `npm run build`.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { killAllServices, oneHostDeployment, serviceEnv, spawnService } from '../support/processes.js';
import { median, ms, fixed, rssMiB, table } from './measure.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 7);
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const IDLE_MS = 3_000;

const deployment = await oneHostDeployment('bench-prd');
const env = serviceEnv(deployment.files, {
  redisUrl: REDIS_URL,
  prefix: `bench-${randomBytes(4).toString('hex')}`,
});

/** One start of the worker: milliseconds to "worker started", then MiB resident when idle. */
async function once(compiled: boolean): Promise<{ startMs: number; rss: number }> {
  const started = performance.now();
  const worker = spawnService('worker', env, { compiled });
  await worker.waitForOutput(/worker started/, 60_000);
  const startMs = performance.now() - started;
  await sleep(IDLE_MS);
  const rss = rssMiB(worker.pid);
  worker.kill('SIGTERM');
  await worker.waitExit(30_000);
  return { startMs, rss };
}

try {
  const results = {
    tsx: [] as { startMs: number; rss: number }[],
    compiled: [] as { startMs: number; rss: number }[],
  };
  await once(true); // warm-up: file cache, Redis connection
  for (let i = 0; i < RUNS; i++) {
    results.tsx.push(await once(false));
    results.compiled.push(await once(true));
  }
  console.log(`worker start-up on Node.js ${process.version}, ${RUNS} runs each, medians (min–max)`);
  const row = (name: string, runs: { startMs: number; rss: number }[]): string[] => {
    const start = runs.map((r) => r.startMs);
    const rss = runs.map((r) => r.rss);
    return [
      name,
      `${ms(median(start))} (${ms(Math.min(...start))}–${ms(Math.max(...start))})`,
      `${fixed(median(rss), 1)} (${fixed(Math.min(...rss), 1)}–${fixed(Math.max(...rss), 1)})`,
    ];
  };
  console.log(
    table(
      ['worker', 'start-up ms', 'idle RSS MiB'],
      [row('tsx, src/main.ts', results.tsx), row('compiled, dist/main.js', results.compiled)],
      ['left'],
    ),
  );
} finally {
  await killAllServices();
  await deployment.stop();
}
