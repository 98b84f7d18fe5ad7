import { ConfigError, loadConfig, type FleetConfig, type LoadConfigOptions } from '@certfleet/config';
import type { Logger } from 'pino';
import { createLogger } from './logger.js';
import { StartError } from './start-error.js';

/** What a started service hands back: closing it stops the process's work. */
export interface Running {
  close(): Promise<void>;
}

/**
 * Runs a service's main: loads the configuration, starts, and on SIGTERM/SIGINT
 * closes within the shutdown deadline, then exits 0. A bad setting stops the
 * start with one line that names it.
 */
export async function runMain(
  name: string,
  start: (config: FleetConfig, logger: Logger) => Promise<Running>,
  options: LoadConfigOptions = {},
): Promise<void> {
  const who = name === 'certfleet' ? 'certfleet' : `certfleet ${name}`;
  let config: FleetConfig;
  try {
    config = loadConfig(process.env, options);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${who}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config, name);
  let running: Running;
  try {
    running = await start(config, logger);
  } catch (err) {
    // A refusal is one line for the operator; anything else is a bug: its stack, and a log entry.
    if (err instanceof StartError || err instanceof ConfigError) {
      process.stderr.write(`${who}: ${err.message}\n`);
    } else {
      process.stderr.write(`${who}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      logger.error({ err }, 'start failed');
    }
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const deadline = setTimeout(() => {
      logger.warn('shutdown deadline passed; exiting with work handed back');
      process.exit(0);
    }, config.shutdownTimeoutMs + 5000);
    deadline.unref();
    running
      .close()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
