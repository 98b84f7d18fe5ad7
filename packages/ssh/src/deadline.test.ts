import { describe, expect, it } from 'vitest';
import { withDeadline } from './deadline.js';

describe('withDeadline', () => {
  it('settles with the callback result or error', async () => {
    await expect(
      withDeadline<number>(
        1000,
        (done) => setImmediate(() => done(undefined, 7)),
        () => new Error('late'),
      ),
    ).resolves.toBe(7);
    await expect(
      withDeadline(
        1000,
        (done) => done(new Error('boom')),
        () => new Error('late'),
      ),
    ).rejects.toThrow('boom');
    await expect(
      withDeadline(
        1000,
        (done) => done(null, 'ok'),
        () => new Error('late'),
      ),
    ).resolves.toBe('ok');
  });

  it('rejects with the timeout error and ignores a late callback', async () => {
    let late: ((err: unknown, v?: string) => void) | undefined;
    const p = withDeadline<string>(
      20,
      (done) => (late = done),
      () => new Error('too slow'),
    );
    await expect(p).rejects.toThrow('too slow');
    late!(undefined, 'finally');
  });

  it('turns a synchronous throw into a rejection', async () => {
    await expect(
      withDeadline(
        1000,
        () => {
          throw new Error('unsupported');
        },
        () => new Error('late'),
      ),
    ).rejects.toThrow('unsupported');
  });
});
