import { runMain } from '@certfleet/runtime';
import { startNotifier } from './start.js';

await runMain('notifier', async (config, logger) => {
  const notifier = await startNotifier(config, logger);
  logger.info('notifier started');
  return notifier;
});
