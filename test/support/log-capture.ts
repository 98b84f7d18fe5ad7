/**
 * Captures everything a certfleet process logs, in memory, with the same pino
 * options production uses (`createLogger`: name, level, redact paths), so a
 * test can scan the exact bytes that would have reached stdout.
 */
import { REDACT_PATHS } from '@certfleet/config';
import { pino, type Level, type Logger } from 'pino';

export interface LogCapture {
  logger: Logger;
  /** Every chunk pino wrote, in order (one JSON line each). */
  readonly chunks: readonly string[];
  /** All output as bytes, as it would have reached the log file. */
  bytes(): Buffer;
  text(): string;
  /** The parsed lines; a line that is not JSON is returned as `{ raw }`. */
  lines(): Record<string, unknown>[];
  clear(): void;
}

export function captureLogs(level: Level = 'debug', name = 'certfleet'): LogCapture {
  const chunks: string[] = [];
  const destination = {
    write(chunk: string): void {
      chunks.push(chunk);
    },
  };
  const logger = pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
  const text = (): string => chunks.join('');
  return {
    logger,
    chunks,
    bytes: () => Buffer.from(text(), 'utf8'),
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return { raw: l };
          }
        }),
    clear: () => {
      chunks.length = 0;
    },
  };
}
