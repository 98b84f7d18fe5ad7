import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { describeHost } from './classify-error.js';
import {
  assertCertName,
  caPath,
  installPath,
  linuxDir,
  type InstallRequest,
  type InstallResult,
  type PlatformAdapter,
} from './platform.js';
import type { RemoteEntry, RemoteFs } from './remote-fs.js';
import { shQuote } from './shell-quote.js';
import type { SshSession } from './ssh-session.js';
import { TargetError } from './target-error.js';

/** Installed files are readable by their owner's group (the web server), nobody else. */
export const FILE_MODE = 0o640;
/** A directory certfleet creates. */
export const DIR_MODE = 0o750;
const TEMP_MARK = '.certfleet-tmp-';

/** One file to put in place. */
export interface PlannedFile {
  /** Final name in installDir: `<name>.pfx` or `<name>.ca<N>.cer`. */
  base: string;
  path: string;
  data: Buffer;
  sha256: string;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The .pfx first, then the CA files in chain order. */
export function planFiles(dir: string, req: InstallRequest): PlannedFile[] {
  const files = [{ base: `${req.name}.pfx`, path: installPath('linux', dir, req.name), data: req.pfx }];
  req.caCertificates.forEach((data, i) => {
    files.push({ base: `${req.name}.ca${i + 1}.cer`, path: caPath('linux', dir, req.name, i + 1), data });
  });
  return files.map((f) => ({ ...f, sha256: sha256(f.data) }));
}

/** The temporary name an upload of `base` goes to before its rename. */
export function tempNameFor(base: string): string {
  return `.${base}${TEMP_MARK}${randomBytes(8).toString('hex')}`;
}

/** True for a temporary file an earlier, interrupted install of `name` left behind. */
export function isLeftoverTemp(name: string, file: string): boolean {
  const n = escapeRegExp(name);
  return new RegExp(`^\\.${n}\\.(?:pfx|ca[1-9][0-9]*\\.cer)${escapeRegExp(TEMP_MARK)}[A-Za-z0-9]+$`).test(
    file,
  );
}

/** `<name>.ca<M>.cer` files from a longer chain installed before: M beyond `chainLength`. */
export function staleCaFiles(name: string, files: string[], chainLength: number): string[] {
  const pattern = new RegExp(`^${escapeRegExp(name)}\\.ca([1-9][0-9]*)\\.cer$`);
  return files.filter((file) => {
    const m = pattern.exec(file);
    return m !== null && Number(m[1]) > chainLength;
  });
}

/**
 * Parses `sha256sum -- a b …` output into one lowercase hex digest per file, in order.
 * GNU sha256sum prefixes a line with `\` when it escaped the file name.
 */
export function parseSha256sum(stdout: string, count: number): string[] | undefined {
  const lines = stdout.split('\n').filter((l) => l !== '');
  if (lines.length !== count) return undefined;
  const digests: string[] = [];
  for (const line of lines) {
    const m = /^\\?([0-9a-fA-F]{64}) [ *]/.exec(line);
    if (m === null) return undefined;
    digests.push(m[1]!.toLowerCase());
  }
  return digests;
}

/** SHA-256 of files computed on the host itself. */
async function remoteSha256(session: SshSession, paths: string[]): Promise<string[]> {
  const command = `sha256sum -- ${paths.map(shQuote).join(' ')}`;
  const result = await session.run(command, `sha256sum of ${paths.length} file(s)`);
  const digests = parseSha256sum(result.stdout, paths.length);
  if (digests === undefined) {
    throw new TargetError(
      'remote_command_failed',
      `${describeHost(session.context)}: sha256sum printed something unexpected; check that GNU coreutils ` +
        'is installed on the front-end.',
    );
  }
  return digests;
}

/** True when every planned file is in place with its permissions and nothing stale remains. */
async function alreadyInstalled(
  session: SshSession,
  files: PlannedFile[],
  entries: Map<string, RemoteEntry>,
  stale: string[],
): Promise<boolean> {
  if (stale.length > 0) return false;
  const inPlace = files.every((f) => {
    const e = entries.get(f.base);
    return e !== undefined && e.isFile && e.size === f.data.length && (e.mode & 0o7777) === FILE_MODE;
  });
  if (!inPlace) return false;
  const digests = await remoteSha256(
    session,
    files.map((f) => f.path),
  );
  return files.every((f, i) => digests[i] === f.sha256);
}

/** Best effort: the next attempt removes whatever this cannot. */
async function removeQuietly(fs: RemoteFs, paths: Iterable<string>): Promise<void> {
  for (const path of paths) await fs.unlink(path).catch(() => undefined);
}

/**
 * Linux: `<installDir>/<name>.pfx` (0640) and `<installDir>/<name>.ca<N>.cer`, each
 * uploaded to a temporary name, checked with sha256sum on the host and renamed over the
 * old file with posix-rename, so a reader sees the old file or the new one, never a part.
 */
export const linuxAdapter: PlatformAdapter = {
  platform: 'linux',

  pathFor(installDir: string, name: string): string {
    return installPath('linux', installDir, name);
  },

  async install(session: SshSession, req: InstallRequest): Promise<InstallResult> {
    assertCertName(req.name);
    const dir = linuxDir(req.installDir);
    const files = planFiles(dir, req);
    const pfx = files[0]!;
    const result = (unchanged: boolean): InstallResult => ({
      path: pfx.path,
      sha256: pfx.sha256,
      unchanged,
      caPaths: files.slice(1).map((f) => f.path),
    });

    const fs = await session.sftp();
    const createdDir = await fs.mkdirp(dir, DIR_MODE);
    const listing = await fs.readdir(dir);
    const leftovers = listing.filter((e) => isLeftoverTemp(req.name, e.name));
    for (const e of leftovers) await fs.unlink(posix.join(dir, e.name));
    const entries = new Map(listing.filter((e) => !leftovers.includes(e)).map((e) => [e.name, e]));
    const stale = staleCaFiles(req.name, [...entries.keys()], req.caCertificates.length);

    if (!createdDir && (await alreadyInstalled(session, files, entries, stale))) return result(true);

    const uploads = files.map((f) => ({ ...f, temp: posix.join(dir, tempNameFor(f.base)) }));
    const pending = new Set<string>();
    try {
      for (const u of uploads) {
        pending.add(u.temp);
        await fs.writeNewFile(u.temp, u.data, FILE_MODE);
      }
      if (req.owner !== undefined) {
        const targets = uploads.map((u) => u.temp);
        // a directory we just made must let the owner in, or owning the files is useless
        if (createdDir) targets.push(dir);
        await session.run(
          `chown -- ${shQuote(req.owner)} ${targets.map(shQuote).join(' ')}`,
          `chown to ${JSON.stringify(req.owner)}`,
        );
      }
      const digests = await remoteSha256(
        session,
        uploads.map((u) => u.temp),
      );
      uploads.forEach((u, i) => {
        if (digests[i] !== u.sha256) {
          throw new TargetError(
            'hash_mismatch',
            `${describeHost(session.context)}: ${u.temp} has SHA-256 ${digests[i]} on the host, expected ` +
              `${u.sha256}; the upload was damaged and is removed. certfleet retries.`,
          );
        }
      });
      // CA files before the .pfx: once the new .pfx is visible, its chain is too
      for (const u of [...uploads.slice(1), uploads[0]!]) {
        await fs.rename(u.temp, u.path);
        pending.delete(u.temp);
      }
      for (const file of stale) await fs.unlink(posix.join(dir, file));
    } catch (err) {
      // after a timeout the host may hang: leave the leftovers to the next attempt
      if (!(err instanceof TargetError && err.code === 'host_timeout')) await removeQuietly(fs, pending);
      throw err;
    }
    return result(false);
  },
};
