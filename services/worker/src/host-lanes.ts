/**
 * One line per front-end inside this worker process: the targets this process holds for
 * a host run one after another, in the order they arrived, instead of bouncing through
 * BullMQ's delayed set (which would send them to the back of the queue). The Redis host
 * lock still keeps other worker processes off the host.
 */
export class HostLanes {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` once every earlier `run` for `key` in this process has ended. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const mine = before.then(fn, fn);
    const tail = mine.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await mine;
    } finally {
      // the last one out leaves no entry behind
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Hosts with a target running or waiting in this process. */
  get size(): number {
    return this.tails.size;
  }
}
