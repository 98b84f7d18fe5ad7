import { posix } from 'node:path';
import type { FileEntryWithStats, SFTPWrapper, Stats } from 'ssh2';
import {
  SFTP_STATUS,
  classifySftpError,
  diskFullError,
  isDiskFull,
  type FreeSpace,
  type HostContext,
} from './classify-error.js';
import type { Done } from './deadline.js';
import { TargetError } from './target-error.js';

/** A file owner as numbers, which SFTP setstat takes as they are. */
export interface NumericOwner {
  uid: number;
  gid: number;
}

/** What RemoteFs needs from its session: who it talks to and a deadline per step. */
export interface SessionSteps {
  readonly context: HostContext;
  step<T>(what: string, run: (done: Done<T>) => void, timeoutMs?: number): Promise<T>;
}

/** A file or directory as SFTP reports it. */
export interface RemoteEntry {
  name: string;
  size: number;
  /** st_mode: type and permission bits */
  mode: number;
  uid: number;
  gid: number;
  /** seconds since the epoch */
  mtime: number;
  isFile: boolean;
  isDirectory: boolean;
}

function toEntry(name: string, attrs: Stats): RemoteEntry {
  return {
    name,
    size: attrs.size,
    mode: attrs.mode,
    uid: attrs.uid,
    gid: attrs.gid,
    mtime: attrs.mtime,
    isFile: attrs.isFile(),
    isDirectory: attrs.isDirectory(),
  };
}

function statusOf(err: unknown): unknown {
  return err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
}

/**
 * Promise-based SFTP over one ssh2 channel. Every request has the session's deadline and
 * fails as a TargetError that names the operation and path.
 */
export class RemoteFs {
  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly session: SessionSteps,
  ) {}

  private async request<T>(op: string, path: string, run: (done: Done<T>) => void): Promise<T> {
    try {
      return await this.session.step(`SFTP ${op} ${path}`, run);
    } catch (err) {
      throw classifySftpError(err, { ...this.session.context, op, path });
    }
  }

  /** Like request(), but a generic FAILURE is checked against free space (ENOSPC). */
  private async writing<T>(
    op: string,
    path: string,
    bytes: number,
    run: (done: Done<T>) => void,
  ): Promise<T> {
    try {
      return await this.session.step(`SFTP ${op} ${path}`, run);
    } catch (err) {
      if (statusOf(err) === SFTP_STATUS.FAILURE) {
        const space = await this.statvfs(posix.dirname(path)).catch(() => undefined);
        if (space !== undefined && isDiskFull(space, bytes)) {
          throw diskFullError(this.session.context, path, space, bytes);
        }
      }
      throw classifySftpError(err, { ...this.session.context, op, path });
    }
  }

  /** Attributes of `path`, or undefined when it does not exist. */
  async stat(path: string): Promise<RemoteEntry | undefined> {
    try {
      const attrs = await this.session.step<Stats>(`SFTP stat ${path}`, (done) => this.sftp.stat(path, done));
      return toEntry(posix.basename(path), attrs);
    } catch (err) {
      if (statusOf(err) === SFTP_STATUS.NO_SUCH_FILE) return undefined;
      throw classifySftpError(err, { ...this.session.context, op: 'stat', path });
    }
  }

  /** The entries of a directory, without `.` and `..`. */
  async readdir(path: string): Promise<RemoteEntry[]> {
    const list = await this.request<FileEntryWithStats[]>('list', path, (done) =>
      this.sftp.readdir(path, done),
    );
    return list
      .filter((e) => e.filename !== '.' && e.filename !== '..')
      .map((e) => toEntry(e.filename, e.attrs));
  }

  async mkdir(path: string, mode: number): Promise<void> {
    await this.request<undefined>('create directory', path, (done) => this.sftp.mkdir(path, { mode }, done));
  }

  async chmod(path: string, mode: number): Promise<void> {
    await this.request<undefined>('chmod', path, (done) => this.sftp.chmod(path, mode, done));
  }

  /** SFTP setstat with numeric ids: needs no shell and no name lookup on the host. */
  async chown(path: string, owner: NumericOwner): Promise<void> {
    await this.request<undefined>('chown', path, (done) => this.sftp.chown(path, owner.uid, owner.gid, done));
  }

  /**
   * Reads a file back from the host's disk through the SFTP server: at most `maxBytes`
   * plus one, so a file longer than expected shows as longer.
   */
  async readFile(path: string, maxBytes: number): Promise<Buffer> {
    const handle = await this.request<Buffer>('open', path, (done) => this.sftp.open(path, 'r', done));
    try {
      const buffer = Buffer.alloc(maxBytes + 1);
      // ssh2 splits a long read into the server's maximum read length and stops at EOF
      const got = await this.request<number>('read', path, (done) =>
        this.sftp.read(handle, buffer, 0, buffer.length, 0, (err, bytesRead) => done(err, bytesRead)),
      );
      return buffer.subarray(0, got);
    } finally {
      await this.request<undefined>('close', path, (done) => this.sftp.close(handle, done)).catch(
        () => undefined,
      );
    }
  }

  /**
   * `mkdir -p`: creates missing parents (0755, like mkdir -p) and `path` itself with
   * `mode`, set explicitly so the server's umask does not narrow it. True when `path`
   * was created by this call.
   */
  async mkdirp(path: string, mode: number): Promise<boolean> {
    const existing = await this.stat(path);
    if (existing) {
      if (!existing.isDirectory) {
        throw new TargetError(
          'remote_command_failed',
          `${this.session.context.host}:${this.session.context.port}: ${path} exists and is not a directory. ` +
            'Fix installDir in the inventory or remove that file on the front-end.',
        );
      }
      return false;
    }
    const parent = posix.dirname(path);
    if (parent !== path) await this.mkdirp(parent, 0o755);
    try {
      await this.mkdir(path, mode);
    } catch (err) {
      // created meanwhile by another session: fine
      if ((await this.stat(path))?.isDirectory) return false;
      throw err;
    }
    await this.chmod(path, mode);
    return true;
  }

  /** Removes a file; a file that is already gone is fine. */
  async unlink(path: string): Promise<void> {
    try {
      await this.session.step<undefined>(`SFTP remove ${path}`, (done) => this.sftp.unlink(path, done));
    } catch (err) {
      if (statusOf(err) === SFTP_STATUS.NO_SUCH_FILE) return;
      throw classifySftpError(err, { ...this.session.context, op: 'remove', path });
    }
  }

  /**
   * rename(2) through OpenSSH's posix-rename@openssh.com: replaces `to` atomically when it
   * exists (a plain SFTP rename refuses an existing target).
   */
  async rename(from: string, to: string): Promise<void> {
    await this.request<undefined>('rename to ' + to, from, (done) =>
      this.sftp.ext_openssh_rename(from, to, done),
    );
  }

  /** Free bytes (for unprivileged users) and inodes of the file system holding `path`. */
  async statvfs(path: string): Promise<FreeSpace> {
    const info = await this.request<{ f_bavail: number; f_frsize: number; f_favail: number }>(
      'statvfs',
      path,
      (done) => this.sftp.ext_openssh_statvfs(path, done),
    );
    return { freeBytes: Number(info.f_bavail) * Number(info.f_frsize), freeInodes: Number(info.f_favail) };
  }

  /**
   * Creates `path` (it must not exist), writes `data`, flushes it to disk, sets `mode`
   * (and `owner`, by number) and closes it. No space left surfaces as `disk_full`.
   */
  async writeNewFile(path: string, data: Buffer, mode: number, owner?: NumericOwner): Promise<void> {
    const bytes = data.length;
    const handle = await this.writing<Buffer>('create', path, bytes, (done) =>
      this.sftp.open(path, 'wx', { mode }, done),
    );
    let open = true;
    try {
      await this.writing<undefined>('write', path, bytes, (done) =>
        this.sftp.write(handle, data, 0, data.length, 0, (err) => done(err)),
      );
      await this.fsync(handle, path, bytes);
      await this.request<undefined>('chmod', path, (done) => this.sftp.fchmod(handle, mode, done));
      if (owner !== undefined) {
        await this.request<undefined>('chown', path, (done) =>
          this.sftp.fchown(handle, owner.uid, owner.gid, done),
        );
      }
      open = false;
      await this.writing<undefined>('close', path, bytes, (done) => this.sftp.close(handle, done));
    } finally {
      if (open) this.sftp.close(handle, () => undefined);
    }
  }

  /** fsync@openssh.com when the server offers it: the bytes are on disk before the rename. */
  private async fsync(handle: Buffer, path: string, bytes: number): Promise<void> {
    try {
      await this.writing<undefined>('fsync', path, bytes, (done) =>
        this.sftp.ext_openssh_fsync(handle, done),
      );
    } catch (err) {
      if (err instanceof TargetError && /does not support/.test(err.message)) return;
      throw err;
    }
  }
}
