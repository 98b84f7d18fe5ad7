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
function startWorker(workerData: WorkerRequest): Worker {
  const options = { workerData, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } };
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, options);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => {
    register();
    return import(${JSON.stringify(WORKER_URL.href)});
  });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** Bounds the threads (each with its own heap) that concurrent submissions start. */
class Slots {
  private free = Math.max(1, availableParallelism());
  private readonly waiting: (() => void)[] = [];

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

const slots = new Slots();

const toBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function run(request: WorkerRequest, timeoutMs: number): Promise<InspectedPfx> {
  return new Promise<InspectedPfx>((resolve, reject) => {
    const worker = startWorker(request);
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.terminate().catch(() => undefined);
      outcome();
    };
    const timer = setTimeout(
      () =>
        settle(() =>
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
    worker.once('message', (reply: WorkerReply) =>
      settle(() => {
        if (reply.ok) {
          // structured clone turns Buffers into plain Uint8Arrays
          const { result } = reply;
          resolve({ ...result, pfx: toBuffer(result.pfx), caChain: result.caChain.map(toBuffer) });
        } else {
          reject(
            CertError.fromData(reply.error) ?? new Error('the PFX inspection thread sent an unknown error'),
          );
        }
      }),
    );
    worker.once('error', (error: Error & { code?: string }) =>
      settle(() =>
        reject(
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new CertError('pfx_unreadable', 'The PFX cannot be read: inspecting it needs too much memory.')
            : error,
        ),
      ),
    );
    worker.once('exit', (code) =>
      settle(() => reject(new Error(`the PFX inspection thread exited with code ${code} before answering`))),
    );
  });
}

/** Inspects in a worker thread so the caller's event loop stays free. */
export async function inspectPfx(input: InspectInput, options: InspectOptions = {}): Promise<InspectedPfx> {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, ...rest } = options;
  await slots.acquire();
  try {
    return await run({ input, options: rest }, timeoutMs);
  } finally {
    slots.release();
  }
}
