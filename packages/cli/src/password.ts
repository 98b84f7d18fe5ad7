import { readFile, stat } from 'node:fs/promises';
import { CliError, usageError } from './cli-error.js';
import type { TextInput, TextOutput } from './cli-io.js';

/** Where the PFX password comes from; never argv. */
export interface PasswordSource {
  /** Read the first line of stdin. */
  passwordStdin?: boolean;
  /** Read the first line of this file. */
  passwordFile?: string;
}

/** The text up to the first line break (`\n` or `\r\n`), or all of it. */
export function firstLine(text: string): string {
  const end = text.indexOf('\n');
  return (end === -1 ? text : text.slice(0, end)).replace(/\r$/, '');
}

/** Reads a file named by an option; a missing or unreadable file is a usage error that names the option. */
export async function readOptionFile(file: string, option: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw usageError(`cannot read ${option} ${file}: ${code}`);
  }
}

/** The API's default FLEET_MAX_PFX_BYTES: the largest PFX it takes. */
export const DEFAULT_MAX_PFX_BYTES = 1024 * 1024;

/**
 * The most a --pfx file may hold: FLEET_MAX_PFX_BYTES when the operator's
 * environment sets it (as on the server), else the API's default.
 */
export function maxPfxBytes(env: Record<string, string | undefined>): number {
  const raw = env['FLEET_MAX_PFX_BYTES']?.trim();
  return raw && /^\d{1,12}$/.test(raw) ? Number(raw) : DEFAULT_MAX_PFX_BYTES;
}

/**
 * Reads the --pfx file after checking its size, so that a file sent by
 * mistake (a PDF of several MiB) is refused here in one line, not uploaded.
 */
export async function readPfxFile(file: string, maxBytes: number): Promise<Buffer> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    throw usageError(`cannot read --pfx ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (size > maxBytes) {
    throw usageError(
      `--pfx ${file}: ${size} bytes, more than the ${maxBytes} a PFX may hold (FLEET_MAX_PFX_BYTES); is it the right file?`,
    );
  }
  return readOptionFile(file, '--pfx');
}

/** Reads a stream up to its first line break or its end, then leaves it paused. */
export function readFirstLine(stream: TextInput): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (err?: Error): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.pause();
      if (err) reject(err);
      else resolve(firstLine(text));
    };
    const onData = (chunk: Buffer | string): void => {
      text += chunk.toString();
      if (text.includes('\n')) done();
    };
    const onEnd = (): void => done();
    const onError = (err: Error): void =>
      done(usageError(`cannot read the password from stdin: ${err.message}`));
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.resume();
  });
}

// CSI (`ESC [ … final`), SS3 (`ESC O x`) or a lone `ESC x`.
// eslint-disable-next-line no-control-regex
const ESCAPE_SEQUENCE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|O.|.)?/g;

const cancelled = (): CliError => new CliError('cancelled', 'no password entered');

/**
 * Asks on the terminal without echo: raw mode, so the typed characters are never
 * shown; Backspace and Ctrl-U edit, Enter ends, Ctrl-C and Ctrl-D on an empty line cancel.
 */
export function promptHidden(stdin: TextInput, prompt: TextOutput, label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (err?: CliError): void => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      prompt.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      // Arrow and function keys send escape sequences: they are not part of a password.
      const text = chunk.toString().replace(ESCAPE_SEQUENCE, '');
      for (const ch of text) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(cancelled());
        if (ch === '\u0004') return value === '' ? finish(cancelled()) : finish();
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch === '\u0015') value = '';
        else if (ch >= ' ') value += ch;
      }
    };
    // Echo goes off before the prompt shows: a password typed ahead must not appear.
    stdin.setRawMode?.(true);
    prompt.write(label);
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** The PFX password from the chosen source, or from a prompt when stdin is a terminal. */
export async function readPassword(
  source: PasswordSource,
  stdin: TextInput,
  prompt: TextOutput,
): Promise<string> {
  if (source.passwordFile !== undefined) {
    return firstLine((await readOptionFile(source.passwordFile, '--password-file')).toString('utf8'));
  }
  const terminal = stdin.isTTY === true && stdin.setRawMode !== undefined;
  // --password-stdin on a keyboard would echo what is typed: ask without echo instead.
  if (terminal) return promptHidden(stdin, prompt, 'PFX password: ');
  if (source.passwordStdin) return readFirstLine(stdin);
  throw usageError(
    'stdin is not a terminal: give the PFX password with --password-stdin or --password-file FILE',
  );
}
