import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shQuote } from './shell-quote.js';

/**
 * How a POSIX shell reads one word made only of '…' segments and \' escapes: the
 * reference the quoting is checked against (the integration test runs a real shell).
 */
function readWord(word: string): string {
  let out = '';
  let i = 0;
  while (i < word.length) {
    if (word[i] === "'") {
      const end = word.indexOf("'", i + 1);
      if (end === -1) throw new Error('unterminated quote');
      out += word.slice(i + 1, end);
      i = end + 1;
    } else if (word[i] === '\\' && i + 1 < word.length) {
      out += word[i + 1];
      i += 2;
    } else {
      throw new Error(`unquoted ${JSON.stringify(word[i])} at ${i}`);
    }
  }
  return out;
}

const HOSTILE = [
  '',
  "'",
  "it's",
  `'"'"'`,
  '$(reboot)',
  '`reboot`',
  '; rm -rf / #',
  '&& id',
  '| tee x',
  '> /etc/passwd',
  '$HOME ${IFS} $0',
  '\\',
  "\\'",
  'a\nb',
  '*?[a-z]',
  '~root',
  '!! !$',
  '-rf',
  '--',
  ' leading and trailing ',
  '\t\r\u001b[0m',
  'ünïcødé 証明書 🔐',
];

describe('shQuote', () => {
  it('wraps in single quotes and escapes embedded single quotes', () => {
    expect(shQuote('abc')).toBe(`'abc'`);
    expect(shQuote('')).toBe(`''`);
    expect(shQuote("it's")).toBe(`'it'\\''s'`);
    expect(shQuote("'")).toBe(`''\\'''`);
    expect(shQuote('/srv/fleet certs/$x')).toBe(`'/srv/fleet certs/$x'`);
  });

  it('reads back as exactly the input for hostile strings', () => {
    for (const value of HOSTILE) expect(readWord(shQuote(value)), JSON.stringify(value)).toBe(value);
  });

  it('reads back as exactly the input for any string without NUL', () => {
    // shell metacharacters often, any other code point sometimes
    const unit = fc.oneof(
      fc.constantFrom(
        "'",
        '\\',
        '"',
        '$',
        '`',
        '!',
        '*',
        ' ',
        '\n',
        '\t',
        ';',
        '(',
        ')',
        '&',
        '|',
        '<',
        '>',
        '~',
        '#',
      ),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), (value) => {
        fc.pre(!value.includes('\0'));
        expect(readWord(shQuote(value))).toBe(value);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses NUL, which no shell argument can carry', () => {
    expect(() => shQuote('a\0b')).toThrow(/NUL/);
  });
});
