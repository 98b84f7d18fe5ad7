import { REDACT_PATHS, type FleetConfig } from '@certfleet/config';
import { pino, type Logger } from 'pino';

/** The JSON logger of a certfleet process; no secret reaches a line (REDACT_PATHS). */
export function createLogger(config: Pick<FleetConfig, 'logLevel'>, name: string): Logger {
  return pino({
    name,
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  });
}
