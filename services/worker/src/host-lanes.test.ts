import { describe, expect, it } from 'vitest';
import { HostLanes } from './host-lanes.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('HostLanes', () => {
  it('runs the work for one host one at a time, in arrival order, and other hosts alongside', async () => {
    const lanes = new HostLanes();
    const log: string[] = [];
    const releases: (() => void)[] = [];
    const work = (name: string) => () =>
      new Promise<string>((resolve) => {
        log.push(`start ${name}`);
        releases.push(() => {
          log.push(`end ${name}`);
          resolve(name);
        });
      });
    const a1 = lanes.run('a', work('a1'));
    const a2 = lanes.run('a', work('a2'));
    const b1 = lanes.run('b', work('b1'));
    await tick();
    expect(log).toEqual(['start a1', 'start b1']);
    releases.shift()!();
    await tick();
    expect(log).toEqual(['start a1', 'start b1', 'end a1', 'start a2']);
    releases.shift()!();
    releases.shift()!();
    expect(await Promise.all([a1, a2, b1])).toEqual(['a1', 'a2', 'b1']);
    expect(lanes.size).toBe(0);
  });

  it('goes on with the next one after a failure, which stays the caller’s', async () => {
    const lanes = new HostLanes();
    const failed = lanes.run('a', () => Promise.reject(new Error('boom')));
    const next = lanes.run('a', () => Promise.resolve('next'));
    await expect(failed).rejects.toThrow('boom');
    expect(await next).toBe('next');
    expect(lanes.size).toBe(0);
  });
});
