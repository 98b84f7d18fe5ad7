import { pino, type Logger } from 'pino';
import { ConfigError, loadConfig, type FleetConfig, type LoadConfigOptions } from './index.js';

/** Paths pino removes from every log line: no secret reaches a log. */
export const REDACT_PATHS = [
  'password',
  'pfx',
  'privateKey',
  '*.password',
  '*.pfx',
  '*.privateKey',
  '*.*.password',
  '*.*.pfx',
  'req.headers.authorization',
  'req.headers["x-certfleet-signature"]',
  'headers.authorization',
];

export function createLogger(config: Pick<FleetConfig, 'logLevel'>, name: string): Logger {
  return pino({
    name,
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  });
}

export interface Running {
  close(): Promise<void>;
}

/** A start-up failure whose message is one line for the operator. */
export class StartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartError';
    Object.setPrototypeOf(this, StartError.prototype);
  }
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
    const known = err instanceof Error && /Error$/.test(err.name) && err.name !== 'Error';
    process.stderr.write(`${who}: ${known ? (err as Error).message : String(err)}\n`);
    if (!known) logger.error({ err }, 'start failed');
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
