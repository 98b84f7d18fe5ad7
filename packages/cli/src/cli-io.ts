import type { Readable } from 'node:stream';

/** Where fleetctl writes: process.stdout/stderr, or a buffer in tests. */
export interface TextOutput {
  write(text: string): unknown;
  /** The terminal's width, when it is one. */
  columns?: number;
  /** The terminal's height, when it is one. */
  rows?: number;
}

/** Where fleetctl reads the password from: process.stdin, or a stream in tests. */
export type TextInput = Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

/** Everything fleetctl touches outside itself, so the program runs in-process in tests. */
export interface CliIo {
  stdout: TextOutput;
  stderr: TextOutput;
  stdin: TextInput;
  env: Readonly<Record<string, string | undefined>>;
  /** stdout is a terminal: `--watch` redraws a table in place instead of printing one line per change. */
  isTTY: boolean;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** How often `--watch` polls the job; default 500 ms. */
  pollIntervalMs?: number;
  /** Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Default: the clock. */
  now?: () => Date;
}

/** The real process's streams and environment. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    isTTY: process.stdout.isTTY === true,
  };
}
