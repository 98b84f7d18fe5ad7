import { runMain } from '@certfleet/runtime';
import { startWorker } from './start.js';

await runMain('worker', async (config, logger) => {
  const worker = await startWorker(config, logger);
  logger.info({ concurrency: config.concurrency }, 'worker started');
  return worker;
});
