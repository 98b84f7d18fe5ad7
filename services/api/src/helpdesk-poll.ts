/**
 * Polling a help desk's queue (`poll` in the adapters file, README: Help desks): a desk
 * whose webhook does not retry by itself (ServiceNow's RESTMessageV2) may lose a
 * doorbell; every interval the queue's tickets are rung again. Each poll's deliveries
 * are named by the interval they fall in, so several API processes polling at once
 * queue one intake per ticket, and an intake that finds its ticket's attachment
 * offered already does nothing.
 */
import type { HelpdeskAdapter, HelpdeskAdapters } from '@certfleet/helpdesk';
import { JobName, type FleetQueues } from '@certfleet/jobs';

export interface PollDeps {
  adapters: HelpdeskAdapters;
  queues: Pick<FleetQueues, 'add'>;
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  clock?: () => Date;
}

const TICKET = /^[A-Za-z0-9._-]{1,64}$/;

/** One poll of one instance: the intakes it queued. */
export async function pollOnce(deps: PollDeps, adapter: HelpdeskAdapter): Promise<number> {
  if (!adapter.poll || !adapter.pollEverySeconds) return 0;
  const now = (deps.clock ?? (() => new Date()))().getTime();
  const bucket = Math.floor(now / (adapter.pollEverySeconds * 1000));
  const tickets = (await adapter.poll()).filter((t) => TICKET.test(t));
  for (const ticketId of tickets) {
    await deps.queues.add(JobName.HelpdeskIntake, {
      system: adapter.system,
      instance: adapter.instance,
      deliveryId: `poll-${bucket}-${ticketId.replace(/\./g, '_')}`.slice(0, 100),
      ticketId,
    });
  }
  return tickets.length;
}

/** Polls every instance that has `poll`, at its interval, from now on; answers the stop. */
export function startHelpdeskPolling(deps: PollDeps): () => void {
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  for (const adapter of deps.adapters.list()) {
    const every = adapter.pollEverySeconds;
    if (!adapter.poll || !every) continue;
    const where = { system: adapter.system, instance: adapter.instance };
    const tick = (): void => {
      pollOnce(deps, adapter)
        .then((queued) => {
          if (queued > 0) deps.logger.info({ ...where, queued }, 'help desk poll queued intakes');
        })
        .catch((err: Error) => deps.logger.warn({ ...where, err: err.message }, 'help desk poll failed'))
        .finally(() => {
          if (stopped) return;
          const timer = setTimeout(() => {
            timers.delete(timer);
            tick();
          }, every * 1000);
          timers.add(timer);
        });
    };
    tick();
  }
  return () => {
    stopped = true;
    for (const t of timers) clearTimeout(t);
  };
}
