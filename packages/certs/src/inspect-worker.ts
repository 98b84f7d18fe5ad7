// Entry point of the thread that inspectPfx starts: one inspection, one reply, then exit.
import { parentPort, workerData } from 'node:worker_threads';
import { CertError } from './cert-error.js';
import type { WorkerReply, WorkerRequest } from './inspect-thread.js';
import { inspectPfxSync } from './inspect.js';

const { input, options } = workerData as WorkerRequest;
let reply: WorkerReply;
try {
  const result = inspectPfxSync({ ...input, pfx: Buffer.from(input.pfx) }, options);
  reply = { ok: true, result };
} catch (error) {
  // inspectPfxSync throws only CertErrors; anything else is a bug, reported without detail
  reply = {
    ok: false,
    error:
      error instanceof CertError
        ? error.toData()
        : { code: 'pfx_unreadable', message: 'The PFX cannot be read.' },
  };
}
parentPort!.postMessage(reply);
