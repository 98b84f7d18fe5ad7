/** Node-style completion callback, as ssh2 calls it. */
export type Done<T> = (err: unknown, value?: T) => void;

/**
 * Runs a callback-style operation and settles with its result, or rejects with
 * `onTimeout()` once `ms` have passed; a late callback is ignored. A synchronous throw
 * from `run` (ssh2 throws for unsupported requests) rejects too.
 */
export function withDeadline<T>(
  ms: number,
  run: (done: Done<T>) => void,
  onTimeout: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      reject(onTimeout());
    }, ms);
    const done: Done<T> = (err, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err !== undefined && err !== null) reject(err);
      else resolve(value as T);
    };
    try {
      run(done);
    } catch (err) {
      done(err);
    }
  });
}
