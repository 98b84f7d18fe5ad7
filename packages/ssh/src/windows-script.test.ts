import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  WINDOWS_BOOTSTRAP,
  WINDOWS_BOOTSTRAP_COMMAND,
  WINDOWS_INSTALL_SCRIPT,
  WINDOWS_STORE,
  asciiJson,
  decodePowerShellCommand,
  encodePowerShellCommand,
  parseWindowsAnswer,
  readableStderr,
  windowsStdin,
  type WindowsScriptInput,
  type WindowsSuccess,
} from './windows-script.js';

const HOSTILE_PASSWORDS = [
  '',
  ' ',
  "it's",
  '"double"',
  `'"'"'`,
  '$(Remove-Item -Recurse C:\\)',
  '${env:PATH}',
  '`whoami`',
  '`n`r`0',
  '%PATH% %%x %COMSPEC%',
  '^&|<>()!',
  '!x! ^^ & echo pwned',
  '" & calc.exe & "',
  "'; Remove-Item C:\\ -Recurse; '",
  '@"\nhere-string\n"@',
  'line one\nline two\r\n',
  '\t\u0000\u0001\u001b[31m\u007f',
  '\\\\server\\share\\',
  '/Date(0)/',
  '\\/Date(0)\\/',
  'ünïcødé 証明書 🔐',
  '\ud800 lone surrogate',
  'x'.repeat(1000),
  '<S S="Error">&amp;</S>',
  '{"error":"failed"}',
];

function input(name = 'acme'): WindowsScriptInput {
  return {
    version: 2,
    name,
    dir: 'D:\\Certificates',
    pfx: {
      path: `D:\\Certificates\\${name}.pfx`,
      temp: `D:\\Certificates\\.${name}.pfx.certfleet-tmp-0123456789abcdef`,
      sha256: 'a'.repeat(64),
    },
    caFiles: [],
    readers: ['S-1-5-32-568'],
    keyProvider: 'Microsoft Software Key Storage Provider',
  };
}

/** The three lines of a stdin document: script, inputs, password. */
function lines(stdin: string): { script: string; input: unknown; password: string } {
  const [script, json, password] = stdin.split('\n');
  const text = (b64: string | undefined): string => Buffer.from(b64 ?? '', 'base64').toString('utf8');
  return { script: text(script), input: JSON.parse(json ?? ''), password: text(password) };
}

describe('the bootstrap command line', () => {
  it('is a short constant that cmd.exe passes through untouched', () => {
    expect(WINDOWS_BOOTSTRAP_COMMAND.length).toBeLessThan(4000);
    expect(WINDOWS_BOOTSTRAP_COMMAND).toMatch(
      /^powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand [A-Za-z0-9+/]+=*$/,
    );
    // nothing cmd.exe would interpret: no quotes, %, ^, &, |, <, >, parentheses or newlines
    expect(WINDOWS_BOOTSTRAP_COMMAND).not.toMatch(/["'%^&|<>()\r\n]/);
  });

  it('decodes to the bootstrap, which only reads stdin and runs it', () => {
    const encoded = WINDOWS_BOOTSTRAP_COMMAND.split(' ').at(-1)!;
    expect(decodePowerShellCommand(encoded)).toBe(WINDOWS_BOOTSTRAP);
    expect(encodePowerShellCommand(WINDOWS_BOOTSTRAP)).toBe(encoded);
    expect(WINDOWS_BOOTSTRAP).toContain('[Console]::OpenStandardInput()');
    expect(WINDOWS_BOOTSTRAP).toContain('[ScriptBlock]::Create($certfleetScript)');
    // $input would bind all of stdin, password included, to a cmdlet parameter
    expect(WINDOWS_BOOTSTRAP).not.toMatch(/\$input\b/i);
  });

  it('holds no user text: nothing of an install is in it, and no hostile password appears', () => {
    expect(WINDOWS_BOOTSTRAP).not.toMatch(/password|pfx|Certificates|acme/i);
    for (const password of HOSTILE_PASSWORDS.filter((p) => p.trim().length >= 3)) {
      expect(WINDOWS_BOOTSTRAP_COMMAND).not.toContain(password);
    }
  });
});

describe('the stdin document', () => {
  it('carries hostile passwords unchanged, as printable ASCII, on their own line', () => {
    for (const password of HOSTILE_PASSWORDS) {
      const stdin = windowsStdin(WINDOWS_INSTALL_SCRIPT, input(), password);
      expect(stdin, JSON.stringify(password)).toMatch(/^[\x20-\x7e]*\n[\x20-\x7e]*\n[\x20-\x7e]*\n$/);
      const doc = lines(stdin);
      expect(doc.password).toBe(Buffer.from(password, 'utf8').toString('utf8'));
      expect(doc.script).toBe(WINDOWS_INSTALL_SCRIPT);
      expect(JSON.stringify(doc.input)).not.toContain('password');
    }
  });

  it('round-trips any well-formed string (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (password) => {
        const stdin = windowsStdin(WINDOWS_INSTALL_SCRIPT, input(), password);
        expect(/^[\x20-\x7e\n]*$/.test(stdin)).toBe(true);
        expect(lines(stdin).password).toBe(password);
      }),
      { numRuns: 300 },
    );
  });

  it('never puts an input into the script: the script is the same whatever the input', () => {
    const scripts = HOSTILE_PASSWORDS.map(
      (p) => lines(windowsStdin(WINDOWS_INSTALL_SCRIPT, input(p), p)).script,
    );
    expect(new Set(scripts).size).toBe(1);
  });

  it('writes every non-ASCII character as a \\u escape', () => {
    expect(asciiJson({ a: 'é\u007f😀' })).toBe('{"a":"\\u00e9\\u007f\\ud83d\\ude00"}');
    expect(JSON.parse(asciiJson({ a: 'é\u007f😀' }))).toEqual({ a: 'é\u007f😀' });
  });
});

describe('the install script', () => {
  it('is the file beside the adapter, reading its inputs from $In and its password from stdin', () => {
    expect(WINDOWS_INSTALL_SCRIPT).toMatch(/^# certfleet install script, protocol 2\./);
    expect(WINDOWS_INSTALL_SCRIPT).toContain('param($In, $Stdin)');
    expect(WINDOWS_INSTALL_SCRIPT).toContain('$Stdin.ReadLine()');
    expect(WINDOWS_INSTALL_SCRIPT).toContain(`store = '${WINDOWS_STORE}'`);
    expect(WINDOWS_INSTALL_SCRIPT).not.toContain('\r');
  });
});

describe('parseWindowsAnswer', () => {
  const ok = {
    thumbprint: 'ab'.repeat(20),
    store: 'LocalMachine\\My',
    path: 'D:\\Certificates\\acme.pfx',
    keyProvider: 'Microsoft Software Key Storage Provider',
    changed: ['acl:S-1-5-20'],
    kept: [],
  };

  it('reads the last JSON line, after anything PowerShell printed before it', () => {
    const stdout = `WARNING: something\r\n{"not":"this"}\r\n${JSON.stringify(ok)}\r\n`;
    expect(parseWindowsAnswer(stdout)).toEqual({ ...ok, thumbprint: 'AB'.repeat(20) });
  });

  it('accepts a one-element changed list written as a string, and an empty one', () => {
    const changedOf = (stdout: string): string[] | undefined =>
      (parseWindowsAnswer(stdout) as WindowsSuccess | undefined)?.changed;
    expect(changedOf(JSON.stringify({ ...ok, changed: 'acl:S-1-5-20' }))).toEqual(['acl:S-1-5-20']);
    expect(changedOf(JSON.stringify({ ...ok, changed: [] }))).toEqual([]);
  });

  it('reads a failure', () => {
    expect(
      parseWindowsAnswer('{"error":"disk_full","message":"There is not enough space on the disk."}\r\n'),
    ).toEqual({
      error: 'disk_full',
      message: 'There is not enough space on the disk.',
    });
  });

  it('refuses anything else', () => {
    for (const stdout of [
      '',
      'hello',
      '{not json',
      '[1,2]',
      JSON.stringify({ ...ok, thumbprint: 'xyz' }),
      JSON.stringify({ ...ok, changed: [1] }),
      JSON.stringify({ ...ok, path: 3 }),
    ]) {
      expect(parseWindowsAnswer(stdout), stdout).toBeUndefined();
    }
  });
});

describe('readableStderr', () => {
  it('turns CLIXML back into text and leaves plain text alone', () => {
    const clixml =
      '#< CLIXML\r\n<Objs Version="1.1.0.1"><S S="Error">Access is denied &amp; more_x000D__x000A_</S>' +
      '<S S="Error">second line_x000D__x000A_</S><S S="progress">x</S></Objs>';
    expect(readableStderr(clixml)).toBe('Access is denied & more\r\nsecond line\r\n');
    expect(readableStderr('plain text')).toBe('plain text');
  });
});
