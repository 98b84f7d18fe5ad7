import { runMain } from '@certfleet/runtime';
import { startAll } from './index.js';

await runMain('certfleet', async (config, logger) => {
  const all = await startAll(config, logger);
  logger.info({ url: all.api.url }, 'certfleet started: api, worker and notifier');
  return all;
});
