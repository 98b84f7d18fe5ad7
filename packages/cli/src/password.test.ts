import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TextInput } from './cli-io.js';
import { firstLine, promptHidden, readFirstLine, readPassword } from './password.js';

/** A stream that says it is a terminal and records raw mode. */
function fakeTerminal(): PassThrough & TextInput & { raw: boolean[] } {
  const stream = new PassThrough() as PassThrough & TextInput & { raw: boolean[] };
  stream.isTTY = true;
  stream.raw = [];
  stream.setRawMode = (raw: boolean) => stream.raw.push(raw);
  return stream;
}

const sink = () => ({
  text: '',
  write(s: string) {
    this.text += s;
  },
});

describe('password sources', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fleetctl-pw-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('firstLine stops at the first line break', () => {
    expect(firstLine('s3cret\r\nnext')).toBe('s3cret');
    expect(firstLine('s3cret')).toBe('s3cret');
    expect(firstLine('')).toBe('');
  });

  it('reads the first line of stdin, and the whole of it without a line break', async () => {
    const stdin = new PassThrough();
    const read = readFirstLine(stdin as unknown as TextInput);
    stdin.write('pa');
    stdin.write('ss word\nrest\n');
    expect(await read).toBe('pass word');
    const ended = new PassThrough();
    ended.end('no newline');
    expect(await readFirstLine(ended as unknown as TextInput)).toBe('no newline');
  });

  it('reads the first line of --password-file, and names the option when the file is missing', async () => {
    const file = path.join(dir, 'pw');
    await writeFile(file, 'from-file\n');
    const stdin = new PassThrough() as unknown as TextInput;
    expect(await readPassword({ passwordFile: file }, stdin, sink())).toBe('from-file');
    await expect(readPassword({ passwordFile: path.join(dir, 'nope') }, stdin, sink())).rejects.toMatchObject(
      {
        code: 'usage',
        message: expect.stringContaining('cannot read --password-file'),
      },
    );
  });

  it('refuses to guess when stdin is not a terminal and no source is given', async () => {
    await expect(readPassword({}, new PassThrough() as unknown as TextInput, sink())).rejects.toMatchObject({
      code: 'usage',
      message: expect.stringContaining('--password-stdin or --password-file'),
    });
  });
});

describe('promptHidden', () => {
  it('reads in raw mode without echo, with Backspace and Ctrl-U', async () => {
    const tty = fakeTerminal();
    const prompt = sink();
    const answer = readPassword({}, tty, prompt);
    tty.write('xx\u0015');
    tty.write('se');
    tty.write('\u007fecr\x1b[D');
    tty.write('et\r');
    expect(await answer).toBe('secret');
    expect(prompt.text).toBe('PFX password: \n');
    expect(tty.raw).toEqual([true, false]);
  });

  it('does not echo with --password-stdin either when stdin is a terminal', async () => {
    const tty = fakeTerminal();
    const answer = readPassword({ passwordStdin: true }, tty, sink());
    tty.write('typed\r');
    expect(await answer).toBe('typed');
    expect(tty.raw).toEqual([true, false]);
  });

  it('cancels on Ctrl-C and on Ctrl-D at an empty line', async () => {
    for (const key of ['abc\u0003', '\u0004']) {
      const tty = fakeTerminal();
      const answer = promptHidden(tty, sink(), 'PFX password: ');
      tty.write(key);
      await expect(answer).rejects.toMatchObject({ code: 'cancelled' });
      expect(tty.raw).toEqual([true, false]);
    }
  });
});
