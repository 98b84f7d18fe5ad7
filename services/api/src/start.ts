import type { FleetConfig } from '@certfleet/config';
import type { Running } from '@certfleet/runtime';
import { openCore, refuseOn } from '@certfleet/runtime';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp, type ApiDeps } from './app.js';
import { AdaptersError, loadAdapters } from '@certfleet/helpdesk';
import { createJobWorkers, JobName, startJobWorkers } from '@certfleet/jobs';
import { intakeDeps } from './adapter-route.js';
import { processHelpdeskIntake } from './helpdesk-intake.js';
import { startHelpdeskPolling } from './helpdesk-poll.js';
import { loadPrincipals, PrincipalsError, type Principal } from './principals.js';

export interface RunningApi extends Running {
  app: FastifyInstance;
  /** Where it listens, e.g. http://127.0.0.1:8080 */
  url: string;
}

/** What a test may give the API instead of the system's. */
export interface ApiOptions {
  /** The clock of `POST /v1/expiry/check` and of the expiry metric. */
  clock?: () => Date;
}

/** Opens Redis, loads inventory and principals, builds the app and listens. */
export async function startApi(
  config: FleetConfig,
  logger: Logger,
  options: ApiOptions = {},
): Promise<RunningApi> {
  let principals: Principal[] = await loadPrincipals(config.authPath).catch(
    refuseOn('principals_invalid', PrincipalsError),
  );
  // Help desks (README: Help desks): the adapters file is checked before anything opens.
  const adapters = await loadAdapters(config.adaptersPath).catch(refuseOn('adapters_invalid', AdaptersError));
  let url = '';
  const helpdesk = { adapters, publicUrl: () => config.publicUrl ?? url };
  const { redis, store, queues, inventory, ...core } = await openCore(config, logger);
  const deps: ApiDeps = {
    config,
    store,
    queues,
    redis,
    inventory: () => inventory.current,
    principals: () => principals,
    // Workers on every machine re-read their own copy of the file when told to.
    reloadInventory: async () => {
      const inv = await inventory.reload();
      await redis.publish(store.keys.inventoryChannel, 'reload');
      return inv;
    },
    ...(options.clock ? { clock: options.clock } : {}),
    ...(adapters.list().length > 0 ? { helpdesk } : {}),
  };
  const app = await buildApp(deps, { fastify: { loggerInstance: logger } });
  const onHup = (): void => {
    Promise.all([inventory.reload(), loadPrincipals(config.authPath)])
      .then(([inv, p]) => {
        principals = p;
        logger.info({ environments: inv.environments.length, principals: p.length }, 'reloaded on SIGHUP');
      })
      .catch((err: Error) => logger.error(`reload refused, the old files stay in force: ${err.message}`));
  };
  process.on('SIGHUP', onHup);
  url = await app.listen({ host: config.host, port: config.port });
  // The intake jobs of help desk webhooks run here, next to the code that makes jobs.
  const intake =
    adapters.list().length === 0
      ? undefined
      : createJobWorkers(
          [JobName.HelpdeskIntake],
          {
            [JobName.HelpdeskIntake]: (run) => processHelpdeskIntake(intakeDeps(deps, logger), run),
          },
          {
            connection: redis,
            prefix: config.prefix,
            onError: (err) => logger.error({ err: err.message }, 'help desk intake error'),
            settings: { [JobName.HelpdeskIntake]: { concurrency: 4, lockDuration: config.lockDurationMs } },
          },
        );
  if (intake) startJobWorkers(Object.values(intake));
  const stopPolling = startHelpdeskPolling({
    adapters,
    queues,
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return {
    app,
    url,
    async close() {
      process.off('SIGHUP', onHup);
      stopPolling();
      // Requests in flight get a short grace; then every connection is closed, idle or
      // half-open ones included (a load balancer's TCP check must not hold the exit).
      const grace = setTimeout(
        () => app.server.closeAllConnections(),
        Math.min(1000, Math.floor(config.shutdownTimeoutMs / 2)),
      );
      await app.close();
      clearTimeout(grace);
      if (intake) await Promise.all(Object.values(intake).map((w) => w.close()));
      await core.close();
    },
  };
}
