import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CertError, type CertErrorData } from './cert-error.js';
import type { InspectInput, InspectOptions, InspectedPfx } from './types.js';

export interface WorkerRequest {
  input: InspectInput;
  options: InspectOptions;
}

export type WorkerReply = { ok: true; result: InspectedPfx } | { ok: false; error: CertErrorData };

/** What travels each way: a request or a reply, tagged with its id. */
export interface WorkerMessage {
  id: number;
  request: WorkerRequest;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** A hostile PFX may not take the process's memory with it. */
const WORKER_HEAP_MB = 256;

// Beside this file: inspect-worker.ts under tsx and vitest, inspect-worker.js once compiled.
const WORKER_URL = new URL(`./inspect-worker${extname(import.meta.url)}`, import.meta.url);

/**
 * Starts the inspection thread. A TypeScript entry needs tsx's loader in that thread, and on
 * Node 20 neither the loader inherited from the tsx CLI nor `--import tsx` in execArgv reaches
 * a worker's module loading (ERR_UNKNOWN_FILE_EXTENSION); registering tsx inside the thread
 * does, under the tsx CLI, vitest and plain node alike.
 */
function startWorker(): Worker {
  const options = { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } };
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, options);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => {
    register();
    return import(${JSON.stringify(WORKER_URL.href)});
  });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/**
 * Inspection threads, started on demand and kept for the next submission (starting one
 * with tsx costs about 250 ms); at most one per core, each with its own bounded heap. A
 * thread that times out or fails is terminated and never reused.
 */
class ThreadPool {
  private readonly idle: Worker[] = [];
  private started = 0;
  private readonly waiting: ((worker: Worker | undefined) => void)[] = [];
  private nextId = 0;

  constructor(private readonly size = Math.max(1, availableParallelism())) {}

  /** Threads alive now, idle or busy. */
  get threads(): number {
    return this.started;
  }

  private async acquire(): Promise<Worker> {
    const idle = this.idle.pop();
    if (idle) return idle;
    if (this.started < this.size) {
      this.started += 1;
      return startWorker();
    }
    // undefined: a thread died, so there is room to start another
    const handed = await new Promise<Worker | undefined>((resolve) => this.waiting.push(resolve));
    return handed ?? (await this.acquire());
  }

  private release(worker: Worker, healthy: boolean): void {
    if (!healthy) {
      this.started -= 1;
      worker.terminate().catch(() => undefined);
      this.waiting.shift()?.(undefined);
      return;
    }
    const next = this.waiting.shift();
    if (next) next(worker);
    else {
      // an idle thread must not keep the process alive
      worker.unref();
      this.idle.push(worker);
    }
  }

  async run(request: WorkerRequest, timeoutMs: number): Promise<InspectedPfx> {
    const worker = await this.acquire();
    worker.ref();
    const id = ++this.nextId;
    return new Promise<InspectedPfx>((resolve, reject) => {
      let settled = false;
      const settle = (healthy: boolean, outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        this.release(worker, healthy);
        outcome();
      };
      const timer = setTimeout(
        () =>
          settle(false, () =>
            reject(
              new CertError(
                'pfx_unreadable',
                `The PFX could not be inspected within ${timeoutMs / 1000} s. Re-export it with standard settings ` +
                  '(one certificate, its key and its CA chain, TripleDES-SHA1) and submit it again.',
              ),
            ),
          ),
        timeoutMs,
      );
      const onMessage = (message: { id: number; reply: WorkerReply }): void => {
        if (message.id !== id) return;
        const { reply } = message;
        settle(true, () => {
          if (reply.ok) {
            // structured clone turns Buffers into plain Uint8Arrays
            const { result } = reply;
            resolve({ ...result, pfx: toBuffer(result.pfx), caChain: result.caChain.map(toBuffer) });
          } else {
            reject(
              CertError.fromData(reply.error) ?? new Error('the PFX inspection thread sent an unknown error'),
            );
          }
        });
      };
      const onError = (error: Error & { code?: string }): void =>
        settle(false, () =>
          reject(
            error.code === 'ERR_WORKER_OUT_OF_MEMORY'
              ? new CertError(
                  'pfx_unreadable',
                  'The PFX cannot be read: inspecting it needs too much memory.',
                )
              : error,
          ),
        );
      const onExit = (code: number): void =>
        settle(false, () =>
          reject(new Error(`the PFX inspection thread exited with code ${code} before answering`)),
        );
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.postMessage({ id, request } satisfies WorkerMessage);
    });
  }
}

const pool = new ThreadPool();

/** How many inspection threads are alive (idle or busy); for tests and diagnostics. */
export function inspectionThreads(): number {
  return pool.threads;
}

const toBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Inspects in a worker thread so the caller's event loop stays free. */
export async function inspectPfx(input: InspectInput, options: InspectOptions = {}): Promise<InspectedPfx> {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, ...rest } = options;
  return pool.run({ input, options: rest }, timeoutMs);
}
