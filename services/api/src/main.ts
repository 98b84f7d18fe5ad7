import { runMain } from '@certfleet/runtime';
import { startApi } from './start.js';

await runMain('api', async (config, logger) => {
  const api = await startApi(config, logger);
  logger.info({ url: api.url }, 'api listening');
  return api;
});
