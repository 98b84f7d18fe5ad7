// Entry point of an inspection thread: it answers requests until it is terminated.
import { parentPort } from 'node:worker_threads';
import { CertError } from './cert-error.js';
import type { WorkerMessage, WorkerReply } from './inspect-thread.js';
import { inspectPfxSync } from './inspect.js';

parentPort!.on('message', ({ id, request }: WorkerMessage) => {
  const { input, options } = request;
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
  parentPort!.postMessage({ id, reply });
});
