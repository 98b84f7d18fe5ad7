import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { describeHost } from './classify-error.js';
import {
  assertCertName,
  installPath,
  linuxDir,
  type InstallRequest,
  type InstallResult,
  type PlatformAdapter,
} from './platform.js';
import { planFiles, sha256, type PlannedFile } from './planned-file.js';
import type { NumericOwner, RemoteEntry, RemoteFs } from './remote-fs.js';
import { uninstallLinux } from './linux-uninstall.js';
import { shQuote } from './shell-quote.js';
import type { SshSession } from './ssh-session.js';
import { TargetError } from './target-error.js';

/** Installed files are readable by their owner's group (the web server), nobody else. */
export const FILE_MODE = 0o640;
/** A directory certfleet creates. */
export const DIR_MODE = 0o750;
const TEMP_MARK = '.certfleet-tmp-';
/** `<name>.pfx.previous`: the file a rotation replaced, kept beside the new one. */
export const PREVIOUS_SUFFIX = '.previous';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The temporary name an upload of `base` goes to before its rename. */
export function tempNameFor(base: string): string {
  return `.${base}${TEMP_MARK}${randomBytes(8).toString('hex')}`;
}

/** True for a temporary file an earlier, interrupted install of `name` left behind. */
export function isLeftoverTemp(name: string, file: string): boolean {
  const n = escapeRegExp(name);
  return new RegExp(
    `^\\.${n}\\.(?:pfx(?:${escapeRegExp(PREVIOUS_SUFFIX)})?|ca[1-9][0-9]*\\.cer)${escapeRegExp(TEMP_MARK)}[A-Za-z0-9]+$`,
  ).test(file);
}

/** `<name>.ca<M>.cer` files from a longer chain installed before: M beyond `chainLength`. */
export function staleCaFiles(name: string, files: string[], chainLength: number): string[] {
  const pattern = new RegExp(`^${escapeRegExp(name)}\\.ca([1-9][0-9]*)\\.cer$`);
  return files.filter((file) => {
    const m = pattern.exec(file);
    return m !== null && Number(m[1]) > chainLength;
  });
}

/** `uid:gid` as the inventory writes a numeric owner. */
const NUMERIC_OWNER = /^([0-9]{1,10}):([0-9]{1,10})$/;

/** The numeric owner `uid:gid`, or undefined when `owner` is a name. */
export function parseNumericOwner(owner: string): NumericOwner | undefined {
  const m = NUMERIC_OWNER.exec(owner);
  return m === null ? undefined : { uid: Number(m[1]), gid: Number(m[2]) };
}

/** Parses the two lines of `id -u -- name && id -g -- name`. */
export function parseIdOutput(stdout: string): NumericOwner | undefined {
  const m = /^([0-9]+)\n([0-9]+)\n?$/.exec(stdout);
  return m === null ? undefined : { uid: Number(m[1]), gid: Number(m[2]) };
}

/** Names already looked up on a connection: a pooled one serves many installs on its host. */
const looked = new WeakMap<SshSession, Map<string, NumericOwner>>();

/**
 * The owner as numbers. A numeric owner needs nothing from the host; a name is looked up
 * with one command per connection (which needs a login shell: an SFTP-only account cannot).
 */
export async function resolveOwner(session: SshSession, owner: string): Promise<NumericOwner> {
  const numeric = parseNumericOwner(owner);
  if (numeric !== undefined) return numeric;
  const known = looked.get(session)?.get(owner);
  if (known !== undefined) return known;
  const quoted = shQuote(owner);
  const result = await session.exec(`id -u -- ${quoted} && id -g -- ${quoted}`);
  const ids = result.code === 0 && !result.signal ? parseIdOutput(result.stdout) : undefined;
  if (ids === undefined) {
    const said = result.stderr.trim().split('\n')[0] ?? '';
    throw new TargetError(
      'remote_command_failed',
      `${describeHost(session.context)}: cannot look up the owner ${JSON.stringify(owner)} on the host ` +
        `(id exited ${result.code}${said ? `: ${said}` : ''}). Check that the user exists; an account ` +
        'without a shell (ForceCommand internal-sftp) cannot look names up: write owner as numeric ' +
        'uid:gid in the inventory.',
    );
  }
  looked.set(session, (looked.get(session) ?? new Map<string, NumericOwner>()).set(owner, ids));
  return ids;
}

/** SHA-256 of a file as the host's disk holds it, read back over SFTP. */
async function sha256OnHost(fs: RemoteFs, path: string, expectedBytes: number): Promise<string> {
  return sha256(await fs.readFile(path, expectedBytes));
}

/** True when every planned file is in place with its permissions and owner, and nothing stale remains. */
async function alreadyInstalled(
  fs: RemoteFs,
  files: PlannedFile[],
  entries: Map<string, RemoteEntry>,
  stale: string[],
  owner: NumericOwner | undefined,
): Promise<boolean> {
  if (stale.length > 0) return false;
  const inPlace = files.every((f) => {
    const e = entries.get(f.base);
    return (
      e !== undefined &&
      e.isFile &&
      e.size === f.data.length &&
      (e.mode & 0o7777) === FILE_MODE &&
      (owner === undefined || (e.uid === owner.uid && e.gid === owner.gid))
    );
  });
  if (!inPlace) return false;
  const digests = await Promise.all(files.map((f) => sha256OnHost(fs, f.path, f.data.length)));
  return files.every((f, i) => digests[i] === f.sha256);
}

/** The first rejection of settled promises, thrown once all of them have ended. */
function throwFirstFailure(results: PromiseSettledResult<unknown>[]): void {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Best effort: the next attempt removes whatever this cannot. */
async function removeQuietly(fs: RemoteFs, paths: Iterable<string>): Promise<void> {
  await Promise.all([...paths].map((path) => fs.unlink(path).catch(() => undefined)));
}

/**
 * A rotation keeps the file it replaces as `<name>.pfx.previous`: its bytes are copied to
 * a temporary name, read back, and renamed over `.previous` before the new file is renamed
 * over the final path, so `<name>.pfx` is never missing. Nothing happens when the final
 * path is absent or already holds the new bytes (a repeated attempt after a crash).
 */
async function keepPrevious(
  fs: RemoteFs,
  session: SshSession,
  pfx: PlannedFile,
  existing: RemoteEntry | undefined,
  owner: NumericOwner | undefined,
  pending: Set<string>,
): Promise<void> {
  if (existing === undefined || !existing.isFile) return;
  const old = await fs.readFile(pfx.path, existing.size);
  const digest = sha256(old);
  if (digest === pfx.sha256) return;
  const base = `${pfx.base}${PREVIOUS_SUFFIX}`;
  const temp = posix.join(posix.dirname(pfx.path), tempNameFor(base));
  pending.add(temp);
  await fs.writeNewFile(temp, old, FILE_MODE, owner);
  const back = await sha256OnHost(fs, temp, old.length);
  if (back !== digest) {
    throw new TargetError(
      'hash_mismatch',
      `${describeHost(session.context)}: the copy of the previous ${pfx.base} reads back with SHA-256 ${back}, ` +
        `expected ${digest}; it is removed. certfleet retries.`,
    );
  }
  await fs.rename(temp, posix.join(posix.dirname(pfx.path), base));
  pending.delete(temp);
}

/**
 * Linux: `<installDir>/<name>.pfx` (0640) and `<installDir>/<name>.ca<N>.cer`, each
 * uploaded to a temporary name, read back from the host's disk and compared by SHA-256,
 * and renamed over the old file with posix-rename, so a reader sees the old file or the
 * new one, never a part; the file replaced stays as `<name>.pfx.previous`. Every step is an SFTP request on one channel: an SFTP-only
 * account (ForceCommand internal-sftp, chroot too) is enough and no login shell runs.
 * Only an owner given by name costs one command (`id`) per host.
 */
export const linuxAdapter: PlatformAdapter = {
  platform: 'linux',

  pathFor(installDir: string, name: string): string {
    return installPath('linux', installDir, name);
  },

  async install(session: SshSession, req: InstallRequest): Promise<InstallResult> {
    assertCertName(req.name);
    const dir = linuxDir(req.installDir);
    const files = planFiles('linux', dir, req);
    const pfx = files[0]!;
    const result = (unchanged: boolean): InstallResult => ({
      path: pfx.path,
      sha256: pfx.sha256,
      unchanged,
      caPaths: files.slice(1).map((f) => f.path),
    });

    // a name is looked up before anything is written: one command per host, none when numeric
    const owner = req.owner === undefined ? undefined : await resolveOwner(session, req.owner);
    const fs = await session.sftp();
    const createdDir = await fs.mkdirp(dir, DIR_MODE);
    const listing = await fs.readdir(dir);
    const leftovers = listing.filter((e) => isLeftoverTemp(req.name, e.name));
    throwFirstFailure(await Promise.allSettled(leftovers.map((e) => fs.unlink(posix.join(dir, e.name)))));
    const entries = new Map(listing.filter((e) => !leftovers.includes(e)).map((e) => [e.name, e]));
    const stale = staleCaFiles(req.name, [...entries.keys()], req.caCertificates.length);

    if (!createdDir && (await alreadyInstalled(fs, files, entries, stale, owner))) return result(true);

    const uploads = files.map((f) => ({ ...f, temp: posix.join(dir, tempNameFor(f.base)) }));
    const pending = new Set<string>();
    try {
      // a directory we just made must let the owner in, or owning the files is useless
      if (owner !== undefined && createdDir) await fs.chown(dir, owner);
      // every file at once over the one channel: write, flush, then read back from the disk
      const written = await Promise.allSettled(
        uploads.map(async (u) => {
          pending.add(u.temp);
          await fs.writeNewFile(u.temp, u.data, FILE_MODE, owner);
          const digest = await sha256OnHost(fs, u.temp, u.data.length);
          if (digest !== u.sha256) {
            throw new TargetError(
              'hash_mismatch',
              `${describeHost(session.context)}: ${u.temp} reads back from the host with SHA-256 ${digest}, ` +
                `expected ${u.sha256}; the upload was damaged and is removed. certfleet retries.`,
            );
          }
        }),
      );
      throwFirstFailure(written);
      await keepPrevious(fs, session, pfx, entries.get(pfx.base), owner, pending);
      // CA files before the .pfx: once the new .pfx is visible, its chain is too
      for (const u of [...uploads.slice(1), uploads[0]!]) {
        await fs.rename(u.temp, u.path);
        pending.delete(u.temp);
      }
      throwFirstFailure(await Promise.allSettled(stale.map((file) => fs.unlink(posix.join(dir, file)))));
    } catch (err) {
      // after a timeout the host may hang: leave the leftovers to the next attempt
      if (!(err instanceof TargetError && err.code === 'host_timeout')) await removeQuietly(fs, pending);
      throw err;
    }
    return result(false);
  },

  uninstall: uninstallLinux,
};
