import type { FleetConfig } from '@certfleet/config';
import type { Running } from '@certfleet/runtime';
import { startApi, type RunningApi } from '@certfleet/api';
import { startNotifier } from '@certfleet/notifier';
import { startWorker } from '@certfleet/worker';
import type { Logger } from 'pino';

export interface RunningAll extends Running {
  api: RunningApi;
}

/** api + worker + notifier in one process, for a single machine (`worker: false`: api + notifier). */
export async function startAll(
  config: FleetConfig,
  logger: Logger,
  options: { worker?: boolean; clock?: () => Date } = {},
): Promise<RunningAll> {
  const clock = options.clock ? { clock: options.clock } : {};
  const worker =
    options.worker === false
      ? { close: () => Promise.resolve() }
      : await startWorker(config, logger.child({ service: 'worker' }), clock);
  const notifier = await startNotifier(config, logger.child({ service: 'notifier' }));
  let api: RunningApi;
  try {
    api = await startApi(config, logger.child({ service: 'api' }), clock);
  } catch (err) {
    await Promise.allSettled([worker.close(), notifier.close()]);
    throw err;
  }
  return {
    api,
    async close() {
      // Stop taking requests first, then let running targets finish, then reports.
      await api.close();
      await worker.close();
      await notifier.close();
    },
  };
}
