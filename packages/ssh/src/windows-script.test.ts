import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KEY_READER_SIDS,
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

function input(password: string, name = 'acme'): WindowsScriptInput {
  return {
    version: 1,
    name,
    dir: 'D:\\Certificates',
    pfx: {
      path: `D:\\Certificates\\${name}.pfx`,
      temp: `D:\\Certificates\\.${name}.pfx.certfleet-tmp-0123456789abcdef`,
      sha256: 'a'.repeat(64),
    },
    caFiles: [],
    password,
  };
}

describe('the bootstrap command line', () => {
  it('is a short constant that cmd.exe passes through untouched', () => {
    expect(WINDOWS_BOOTSTRAP_COMMAND.length).toBeLessThan(1000);
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
    expect(WINDOWS_BOOTSTRAP).toContain('$input');
    expect(WINDOWS_BOOTSTRAP).toContain('ConvertFrom-Json');
    expect(WINDOWS_BOOTSTRAP).toContain('[ScriptBlock]::Create($d.script)) $d.input');
  });

  it('holds no user text: nothing of an install is in it, and no hostile password appears', () => {
    expect(WINDOWS_BOOTSTRAP).not.toMatch(/password|pfx|Certificates|acme/i);
    for (const password of HOSTILE_PASSWORDS.filter((p) => p.trim().length >= 3)) {
      expect(WINDOWS_BOOTSTRAP_COMMAND).not.toContain(password);
    }
  });
});

describe('the stdin document', () => {
  it('carries hostile passwords unchanged, as printable ASCII', () => {
    for (const password of HOSTILE_PASSWORDS) {
      const stdin = windowsStdin(input(password));
      expect(stdin, JSON.stringify(password)).toMatch(/^[\x20-\x7e]*\n$/);
      const doc = JSON.parse(stdin) as { script: string; input: WindowsScriptInput };
      expect(doc.input.password).toBe(password);
      expect(doc.script).toBe(WINDOWS_INSTALL_SCRIPT);
    }
  });

  it('round-trips any string (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (password) => {
        const stdin = windowsStdin(input(password));
        expect(/^[\x20-\x7e]*\n$/.test(stdin)).toBe(true);
        expect((JSON.parse(stdin) as { input: WindowsScriptInput }).input.password).toBe(password);
      }),
      { numRuns: 300 },
    );
  });

  it('never puts an input into the script: the script is the same whatever the input', () => {
    const scripts = HOSTILE_PASSWORDS.map(
      (p) => (JSON.parse(windowsStdin(input(p))) as { script: string }).script,
    );
    expect(new Set(scripts).size).toBe(1);
  });

  it('writes every non-ASCII character as a \\u escape', () => {
    expect(asciiJson({ a: 'é\u007f😀' })).toBe('{"a":"\\u00e9\\u007f\\ud83d\\ude00"}');
    expect(JSON.parse(asciiJson({ a: 'é\u007f😀' }))).toEqual({ a: 'é\u007f😀' });
  });
});

describe('the install script', () => {
  it('reads every input from $In and names the store and SIDs it promises', () => {
    expect(WINDOWS_INSTALL_SCRIPT).toMatch(/^# certfleet install script/);
    expect(WINDOWS_INSTALL_SCRIPT).toContain('param($In)');
    for (const sid of KEY_READER_SIDS) expect(WINDOWS_INSTALL_SCRIPT).toContain(`'${sid}'`);
    expect(WINDOWS_INSTALL_SCRIPT).toContain(`store = '${WINDOWS_STORE}'`);
    expect(WINDOWS_INSTALL_SCRIPT).toContain('MachineKeySet');
    expect(WINDOWS_INSTALL_SCRIPT).toContain('PersistKeySet');
    expect(WINDOWS_INSTALL_SCRIPT).not.toContain('Exportable');
    expect(WINDOWS_INSTALL_SCRIPT).toContain('GetRSAPrivateKey');
    expect(WINDOWS_INSTALL_SCRIPT).toContain('CspKeyContainerInfo.UniqueKeyContainerName');
    expect(WINDOWS_INSTALL_SCRIPT).toContain('$key.Key.UniqueName');
    expect(WINDOWS_INSTALL_SCRIPT).not.toContain('undefined');
  });

  it('is balanced and free of characters the TypeScript template could have eaten', () => {
    const count = (c: string): number => WINDOWS_INSTALL_SCRIPT.split(c).length - 1;
    expect(count('{')).toBe(count('}'));
    expect(count('(')).toBe(count(')'));
    expect(count('[')).toBe(count(']'));
    expect(WINDOWS_INSTALL_SCRIPT).not.toContain('`');
    expect(WINDOWS_INSTALL_SCRIPT).not.toContain('${');
  });
});

describe('parseWindowsAnswer', () => {
  const ok = {
    thumbprint: 'ab'.repeat(20),
    store: 'LocalMachine\\My',
    path: 'D:\\Certificates\\acme.pfx',
    changed: ['acl:S-1-5-20'],
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
