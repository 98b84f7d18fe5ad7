import type { IncomingMessage } from 'node:http';

/** At most this much of a refused body is read and dropped before answering. */
export const DISCARD_CAP_BYTES = 32 * 1024 * 1024;
/** …and for at most this long. */
export const DISCARD_TIMEOUT_MS = 30_000;

/**
 * Reads and drops the rest of a request body that will not be used (a 413, or
 * a refusal that answered before the body). Closing the socket while the
 * client still sends makes its kernel see a reset, and curl, fetch and
 * fleetctl then show a broken pipe instead of the answer. Past the cap or the
 * deadline the answer goes out anyway.
 */
export function discardRest(
  request: IncomingMessage,
  capBytes = DISCARD_CAP_BYTES,
  timeoutMs = DISCARD_TIMEOUT_MS,
): Promise<void> {
  if (request.complete || request.readableEnded || request.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const done = (): void => {
      clearTimeout(timer);
      request.off('data', onData);
      request.off('end', done);
      request.off('error', done);
      request.off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen <= capBytes) return;
      // past the cap nothing more is read: the answer goes out without waiting for the rest
      done();
      request.pause();
    };
    const timer = setTimeout(done, timeoutMs);
    request.on('data', onData);
    request.on('end', done);
    request.on('error', done);
    request.on('close', done);
    request.resume();
  });
}
