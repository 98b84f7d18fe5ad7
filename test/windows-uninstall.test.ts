/**
 * The Windows install script's uninstall action under the real PowerShell (pwsh 7 on
 * Linux), through the exact bootstrap command line and stdin the adapter sends, on an
 * emulated host folder (only the script's Windows-only functions are replaced:
 * packages/test-kit/src/windows-prelude.ps1). Certificates are put there by the script's
 * own install first.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  KEY_READER_SIDS,
  WINDOWS_BOOTSTRAP_COMMAND,
  WINDOWS_INSTALL_SCRIPT,
  filesOfName,
  parseWindowsUninstall,
  windowsStdin,
  type WindowsUninstallAnswer,
  type WindowsUninstallInput,
} from '@certfleet/ssh';
import { configureWindowsHost, readKeys, readWindowsStore, runWindowsPowerShell } from '@certfleet/test-kit';
import {
  makeDemoCertificates,
  makeSiblingCertificates,
  type DemoCertificates,
} from '../deploy/demo/demo-certs.js';

const DIR = 'D:\\Certificates';
let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'certfleet-pwsh-uninstall-'));
  mkdirSync(join(root, 'D', 'Certificates'), { recursive: true });
  configureWindowsHost(root, {});
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const hex = (algorithm: string, data: Buffer): string => createHash(algorithm).update(data).digest('hex');
const thumbprintOf = (der: Buffer): string => hex('sha1', der).toUpperCase();
const derOf = (pem: string): Buffer => Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
const onDisk = (): string[] => readdirSync(join(root, 'D', 'Certificates')).sort();

async function runScript(input: unknown, password = ''): Promise<{ code: number; stdout: string }> {
  const stdin = windowsStdin(WINDOWS_INSTALL_SCRIPT, input, password);
  const result = await runWindowsPowerShell(WINDOWS_BOOTSTRAP_COMMAND.split(' ').slice(1), stdin, root);
  return { code: result.code, stdout: `${result.stdout}\n${result.stderr}` };
}

/** Uploads `<name>.pfx` and its CA file as the adapter does and runs the script's install. */
async function installAs(name: string, cert: DemoCertificates, keep: string[] = []): Promise<void> {
  const file = (base: string, data: Buffer): { path: string; temp: string; sha256: string } => {
    const temp = `.${base}.certfleet-tmp-00000000`;
    writeFileSync(join(root, 'D', 'Certificates', temp), data);
    return { path: `${DIR}\\${base}`, temp: `${DIR}\\${temp}`, sha256: hex('sha256', data) };
  };
  const run = await runScript(
    {
      version: 2,
      name,
      dir: DIR,
      pfx: file(`${name}.pfx`, cert.pfx),
      caFiles: [file(`${name}.ca1.cer`, derOf(cert.caPem))],
      readers: [...KEY_READER_SIDS],
      keyProvider: 'Microsoft Software Key Storage Provider',
      ...(keep.length > 0 ? { keep } : {}),
    },
    cert.password,
  );
  expect(run.code, run.stdout).toBe(0);
}

/** Runs the uninstall action with the inputs the adapter builds from the folder's listing. */
async function uninstall(
  name: string,
  thumbprint: string,
  keep: string[] = [],
): Promise<WindowsUninstallAnswer> {
  const files = filesOfName(name, onDisk());
  const input: WindowsUninstallInput = {
    version: 2,
    action: 'uninstall',
    name,
    dir: DIR,
    thumbprint,
    keep,
    files: files.map((f) => `${DIR}\\${f}`),
    caFiles: files.filter((f) => /\.ca[0-9]+\.cer$/.test(f)).map((f) => `${DIR}\\${f}`),
  };
  const run = await runScript(input);
  const answer = parseWindowsUninstall(run.stdout);
  expect(answer && !('error' in answer), run.stdout).toBe(true);
  expect(run.code).toBe(0);
  return answer as WindowsUninstallAnswer;
}

describe('the uninstall action of the Windows script, under pwsh', () => {
  it('removes the store entry and its key, the files of that name, and leaves a CA another certificate needs', async () => {
    const [gone, sibling] = makeSiblingCertificates(['pwsh-gone', 'pwsh-sibling']) as [
      DemoCertificates,
      DemoCertificates,
    ];
    await installAs('acme', gone);
    await installAs('acme-2', sibling);
    writeFileSync(join(root, 'D', 'Certificates', 'readme.txt'), 'not ours');
    const leaf = thumbprintOf(gone.leafDer);
    const ca = thumbprintOf(derOf(gone.caPem));
    expect(readWindowsStore(root).Root[ca]).toBeDefined();

    const answer = await uninstall('acme', leaf);
    expect(answer.path).toBe(`${DIR}\\acme.pfx`);
    expect(answer.removed).toEqual([
      `key:${leaf}`,
      `store:LocalMachine\\My:${leaf}`,
      `file:${DIR}\\acme.pfx`,
      `file:${DIR}\\acme.ca1.cer`,
    ]);
    expect(answer.kept).toEqual([
      `LocalMachine\\CA or Root:${ca}: another certfleet certificate chains up to it`,
    ]);
    const store = readWindowsStore(root);
    expect(store.My[leaf]).toBeUndefined();
    expect(readKeys(root)[leaf]).toBeUndefined();
    expect(store.My[thumbprintOf(sibling.leafDer)]).toMatchObject({ hasPrivateKey: true });
    expect(store.Root[ca]).toBeDefined();
    expect(onDisk()).toEqual(['acme-2.ca1.cer', 'acme-2.pfx', 'readme.txt']);
  });

  it('removes the previous version a rotation kept in LocalMachine\\My for a rollback, with its key', async () => {
    const [older, newer] = makeSiblingCertificates(['pwsh-older', 'pwsh-newer']) as [
      DemoCertificates,
      DemoCertificates,
    ];
    const previous = thumbprintOf(older.leafDer);
    const current = thumbprintOf(newer.leafDer);
    await installAs('acme', older);
    await installAs('acme', newer, [previous]);
    expect(Object.keys(readWindowsStore(root).My).sort()).toEqual([current, previous].sort());

    const answer = await uninstall('acme', current);
    expect(answer.removed).toEqual(
      expect.arrayContaining([
        `key:${current}`,
        `store:LocalMachine\\My:${current}`,
        `key:${previous}`,
        `store:LocalMachine\\My:${previous}`,
      ]),
    );
    expect(readWindowsStore(root).My).toEqual({});
    expect(readKeys(root)[previous]).toBeUndefined();
    expect(onDisk()).toEqual([]);
  });

  it('removes a CA no other certfleet certificate needs, then changes nothing on a re-run', async () => {
    const alone = makeDemoCertificates('pwsh-alone', { rootCn: 'a CA of its own' });
    const other = makeDemoCertificates('pwsh-other');
    await installAs('acme', alone);
    await installAs('other', other);
    const leaf = thumbprintOf(alone.leafDer);
    const ca = thumbprintOf(derOf(alone.caPem));

    const answer = await uninstall('acme', leaf);
    expect(answer.removed).toEqual([
      `key:${leaf}`,
      `store:LocalMachine\\My:${leaf}`,
      `store:LocalMachine\\Root:${ca}`,
      `file:${DIR}\\acme.pfx`,
      `file:${DIR}\\acme.ca1.cer`,
    ]);
    expect(answer.kept).toEqual([]);
    const store = readWindowsStore(root);
    expect(store.Root[ca]).toBeUndefined();
    expect(store.Root[thumbprintOf(derOf(other.caPem))]).toBeDefined();

    const again = await uninstall('acme', leaf);
    expect(again).toEqual({ path: `${DIR}\\acme.pfx`, removed: [], kept: [] });
  });

  it('keeps a store entry another environment on the host has installed, and one an HTTPS binding uses stops it', async () => {
    const cert = makeDemoCertificates('pwsh-shared');
    await installAs('acme', cert);
    const leaf = thumbprintOf(cert.leafDer);
    const kept = await uninstall('acme', leaf, [leaf]);
    expect(kept.kept).toEqual([
      `LocalMachine\\My:${leaf}: another environment on this host has it installed`,
    ]);
    expect(readWindowsStore(root).My[leaf]).toMatchObject({ hasPrivateKey: true });

    await installAs('bound', cert);
    configureWindowsHost(root, { bindings: [leaf] });
    const run = await runScript({
      version: 2,
      action: 'uninstall',
      name: 'bound',
      dir: DIR,
      thumbprint: leaf,
      keep: [],
      files: [`${DIR}\\bound.pfx`],
      caFiles: [],
    });
    expect(run.code).toBe(2);
    expect(parseWindowsUninstall(run.stdout)).toMatchObject({ error: 'in_use' });
    expect(onDisk()).toContain('bound.pfx');
    expect(readWindowsStore(root).My[leaf]).toBeDefined();
  });
});
