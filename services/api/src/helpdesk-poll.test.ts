import type { HelpdeskAdapter, HelpdeskAdapters } from '@certfleet/helpdesk';
import { describe, expect, it } from 'vitest';
import { pollOnce, startHelpdeskPolling, type PollDeps } from './helpdesk-poll.js';

/** A desk whose queue holds `tickets`; only what polling reads is there. */
function desk(tickets: string[], everySeconds: number | undefined): HelpdeskAdapter {
  return {
    system: 'servicenow',
    instance: 'itsm',
    ...(everySeconds === undefined ? {} : { pollEverySeconds: everySeconds, poll: async () => tickets }),
  } as unknown as HelpdeskAdapter;
}

function recorder(now: { ms: number }, adapters: HelpdeskAdapter[] = []) {
  const added: { name: string; payload: Record<string, unknown> }[] = [];
  const deps: PollDeps = {
    adapters: { list: () => adapters } as unknown as HelpdeskAdapters,
    queues: {
      add: (async (name: string, payload: Record<string, unknown>) => {
        added.push({ name, payload });
      }) as unknown as PollDeps['queues']['add'],
    },
    logger: { info: () => undefined, warn: () => undefined },
    clock: () => new Date(now.ms),
  };
  return { deps, added };
}

describe('help desk queue polling', () => {
  it('rings every ticket of the queue, named by the interval: one intake per ticket and interval, whoever polls', async () => {
    const now = { ms: Date.parse('2026-12-03T10:00:10Z') };
    const { deps, added } = recorder(now);
    const adapter = desk(['0123456789abcdef0123456789abcdef', 'not a ticket id!', 'RITM0010001'], 60);
    expect(await pollOnce(deps, adapter)).toBe(2);
    now.ms += 30_000; // same minute
    await pollOnce(deps, adapter);
    now.ms += 30_000; // the next one
    await pollOnce(deps, adapter);
    const ids = added.map((a) => a.payload['deliveryId']);
    expect(added.every((a) => a.name === 'helpdesk-intake')).toBe(true);
    expect(added[0]!.payload).toMatchObject({
      system: 'servicenow',
      instance: 'itsm',
      ticketId: '0123456789abcdef0123456789abcdef',
    });
    expect(ids[0]).toBe(ids[2]);
    expect(ids[1]).toBe(ids[3]);
    expect(ids[4]).not.toBe(ids[0]);
    expect(ids.every((id) => /^[A-Za-z0-9_-]{1,100}$/.test(String(id)))).toBe(true);
  });

  it('an instance without poll is never polled; one with it is polled at start', async () => {
    const now = { ms: Date.now() };
    const polled: string[] = [];
    const withPoll = desk(['RITM0010002'], 3600);
    const original = withPoll.poll!.bind(withPoll);
    (withPoll as { poll: () => Promise<string[]> }).poll = async () => {
      polled.push('itsm');
      return original();
    };
    const { deps, added } = recorder(now, [desk([], undefined), withPoll]);
    expect(await pollOnce(deps, desk(['x'], undefined))).toBe(0);
    const stop = startHelpdeskPolling(deps);
    try {
      while (added.length === 0) await new Promise((r) => setTimeout(r, 5));
      expect(polled).toEqual(['itsm']);
      expect(added.map((a) => a.payload['ticketId'])).toEqual(['RITM0010002']);
    } finally {
      stop();
    }
  });
});
