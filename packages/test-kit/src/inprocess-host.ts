/**
 * An SSH front-end inside this process: a real ssh2 `Server` on a loopback port, with its
 * own ed25519 host key (generated per start), public-key authentication, an SFTP server
 * written here against the SFTP v3 wire format (with OpenSSH's extensions) and backed by a
 * local directory, and an exec handler. It records everything it receives.
 *
 * Two flavours:
 *
 * - `windows` answers as OpenSSH for Windows does, as far as certfleet uses it: SFTP paths
 *   in its `/D:/Certificates/x.pfx` form (stored under `<root>/D/Certificates/x.pfx`), the
 *   SFTP extensions Win32-OpenSSH's sftp-server advertises (its posix-rename deletes the
 *   target first, as w32_rename does), cmd.exe's answers for anything but PowerShell, and
 *   `powershell -NoProfile -NonInteractive … -EncodedCommand <base64>` accepted only when it
 *   decodes to certfleet's bootstrap and stdin is printable ASCII. That command is then run
 *   by the real PowerShell (pwsh 7, packages/test-kit/src/pwsh.ts): the bootstrap and the script
 *   exactly as sent, with the script's few Windows-only functions (machine stores, key
 *   provider and ACL, account names, drive letters, IIS bindings) replaced by
 *   packages/test-kit/src/windows-prelude.ps1, which keeps the certificates in .NET's own X509Store
 *   under `<root>/.home` (see windows-store.ts). `defaultShell: 'powershell'` starts it as
 *   Win32-OpenSSH does with DefaultShell powershell.exe (`powershell -c <command>`, here a
 *   real pwsh whose `powershell` is the stand-in).
 *
 *   What this cannot prove is what only Windows has: Windows PowerShell 5.1 on .NET
 *   Framework, the Windows-only functions themselves (CNG import, key ACLs, LocalMachine
 *   stores, NTAccount translation, HTTP.sys bindings), Windows OpenSSH starting it and
 *   passing stdin, localisation, NTFS, or that Windows OpenSSH's sftp-server answers every
 *   request as this one does (it is modelled on that server's source).
 *
 * - `linux` serves a local directory at `installDir` (default /srv/fleet-certs; its parents
 *   appear as directories, everything else is outside the disk) with posix-rename, statvfs
 *   and fsync, and runs only the commands the Linux adapter sends (`sha256sum -- …`,
 *   `chown -- …`), parsed with POSIX single-quote rules; anything else is refused. It is the
 *   fallback for the demo where real sshd cannot run (not root, or no sshd). `chown` is
 *   checked and recorded (`host.owners`), not applied: the process may not be root.
 *
 * No test-framework imports: scripts (the demo) use it too.
 */
import { createHash } from 'node:crypto';
import {
  constants as fsConstants,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import {
  chmod,
  link,
  mkdtemp,
  open,
  readdir,
  rm,
  stat,
  statfs,
  truncate,
  utimes,
  type FileHandle,
} from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join, posix } from 'node:path';
import ssh2, { type AuthContext, type Connection, type ServerChannel } from 'ssh2';
import { WINDOWS_BOOTSTRAP, decodePowerShellCommand } from '@certfleet/ssh';
import { WINDOWS_POWERSHELL, findPwsh, runPwsh, runWindowsPowerShell, windowsHostEnv } from './pwsh.js';
import {
  configureWindowsHost,
  readWindowsStore,
  type EmulatedStore,
  type WindowsHostConfig,
} from './windows-store.js';

export type { EmulatedCertificate, EmulatedStore, WindowsHostConfig } from './windows-store.js';

const { Server, utils } = ssh2;

/** Which kind of front-end to emulate. */
export type Flavour = 'windows' | 'linux';

/** Options of `startInProcessHost`; only `flavour` and `clientPublicKey` are required. */
export interface InProcessHostOptions {
  flavour: Flavour;
  /** The OpenSSH public key line (`ssh-ed25519 AAAA…`) whose private key may log in. */
  clientPublicKey: string;
  /** Linux: where the local directory appears on the host. Default /srv/fleet-certs. */
  installDir?: string;
  /** Listen address (any 127.0.0.0/8 address works). Default 127.0.0.1. */
  address?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Accept only this login name. Default: any. */
  username?: string;
  /** The host's disk. Default: a new temporary directory, removed by stop(). */
  root?: string;
  /** Windows: drive letters that exist. Default C and D. */
  drives?: string[];
  /** Linux: login names chown accepts besides root and the user running this process. */
  users?: string[];
  /** Windows: OpenSSH's DefaultShell, which runs every exec request. Default cmd. */
  defaultShell?: 'cmd' | 'powershell';
}

/** How an exec request ends. */
export interface ExecReply {
  code: number;
  stdout?: string;
  stderr?: string;
}

/** Answers one exec request; undefined lets the flavour's own handler answer. */
export type ExecHandler = (
  command: string,
  stdin: Buffer,
) => ExecReply | undefined | Promise<ExecReply | undefined>;

/** One SFTP request as received. */
export interface SftpRecord {
  op: string;
  path: string;
  /** rename targets */
  to?: string;
  /** The status answered: OK, NO_SUCH_FILE, … */
  status: string;
}

/** Everything the host received, in order. */
export interface Received {
  /** TCP connections accepted (including ones that never authenticated). */
  connections: number;
  logins: { username: string; method: string; accepted: boolean }[];
  execs: { command: string; stdin: string; reply: ExecReply }[];
  sftp: SftpRecord[];
}

/** A running in-process front-end. */
export interface InProcessHost {
  readonly flavour: Flavour;
  readonly address: string;
  readonly port: number;
  /** `ssh-ed25519 AAAA…`: the inventory pin. */
  readonly hostKeyLine: string;
  /** The host's disk on this machine. */
  readonly root: string;
  /** Linux: where `root` appears on the host. */
  readonly installDir: string;
  readonly received: Received;
  /** Linux: owner given to each remote path by `chown`. */
  readonly owners: Map<string, string>;
  /** Consulted before the flavour's own exec handler (fault injection). */
  onExec: ExecHandler | undefined;
  /** Sees (and may replace) the bytes of every SFTP write, by remote path. */
  onWrite: ((path: string, data: Buffer) => Buffer) | undefined;
  /** This machine's path for a remote path (Windows: `D:\…` or `/D:/…`). */
  localPath(remote: string): string;
  /** Windows: the machine stores as the script left them. */
  readStore(): EmulatedStore;
  /** Windows: what the prelude says about the host from the next exec on. */
  configure(config: WindowsHostConfig): void;
  /** Closes the server and every connection; removes `root` when it was created here. */
  stop(): Promise<void>;
}

/**
 * An ed25519 key pair that ssh2 can read back. ssh2 1.17's generator strips leading
 * zero bytes from the public key, so about 1 pair in 256 cannot be parsed (mscdex/ssh2#1513):
 * such a pair is drawn again.
 */
function generateEd25519(): { private: string; public: string } {
  for (let i = 0; i < 16; i++) {
    const pair = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error)) {
      return pair;
    }
  }
  throw new Error('could not generate a readable ed25519 key pair');
}

/** A fresh ed25519 client key: `privateKey` in OpenSSH format, `publicKey` as an OpenSSH line. */
export function generateClientKeyPair(): { privateKey: string; publicKey: string } {
  const pair = generateEd25519();
  return { privateKey: pair.private, publicKey: pair.public };
}

// ---------------------------------------------------------------------------------------
// the disk: remote paths to local ones

type Resolved =
  | { kind: 'file'; local: string }
  /** a parent of the Linux installDir: a directory that exists, nothing else */
  | { kind: 'virtual'; child: string }
  | { kind: 'outside'; status: number; message: string };

interface Disk {
  resolve(remote: string): Resolved;
}

function insideRoot(root: string, parts: string[]): Resolved {
  if (parts.some((p) => p === '..' || p === '.' || p.includes('\0'))) {
    return { kind: 'outside', status: FX.NO_SUCH_FILE, message: 'No such file' };
  }
  return { kind: 'file', local: join(root, ...parts) };
}

/**
 * `/D:/a/b` → `<root>/D/a/b`. Windows OpenSSH takes a few other spellings too (`D:/a`,
 * `/d:/a`); this accepts only the one the adapter writes, so another form fails the tests.
 */
function windowsDisk(root: string, drives: Set<string>): Disk {
  return {
    resolve(remote) {
      const m = /^\/([A-Za-z]):(\/.*)?$/.exec(remote);
      const drive = m?.[1]?.toUpperCase();
      if (m === null || drive === undefined || !drives.has(drive)) {
        return { kind: 'outside', status: FX.NO_SUCH_FILE, message: 'No such file' };
      }
      return insideRoot(root, [drive, ...(m[2] ?? '').split('/').filter((p) => p !== '')]);
    },
  };
}

/** `<installDir>/x` → `<root>/x`; parents of installDir are directories; the rest is outside. */
function linuxDisk(root: string, installDir: string): Disk {
  return {
    resolve(remote) {
      if (!remote.startsWith('/'))
        return { kind: 'outside', status: FX.NO_SUCH_FILE, message: 'No such file' };
      const path = posix.normalize(remote).replace(/(.)\/+$/, '$1');
      if (path === installDir || path.startsWith(`${installDir}/`)) {
        return insideRoot(root, path.slice(installDir.length).split('/').filter(Boolean));
      }
      if (installDir.startsWith(path === '/' ? '/' : `${path}/`)) {
        const rest = installDir.slice(path === '/' ? 1 : path.length + 1);
        return { kind: 'virtual', child: rest.split('/')[0]! };
      }
      return { kind: 'outside', status: FX.PERMISSION_DENIED, message: 'outside the emulated disk' };
    },
  };
}

// ---------------------------------------------------------------------------------------
// SFTP v3 (draft-ietf-secsh-filexfer-02) with OpenSSH's extensions, server side

const FXP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

const FX = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  OP_UNSUPPORTED: 8,
} as const;

const FX_NAMES: Record<number, string> = Object.fromEntries(Object.entries(FX).map(([k, v]) => [v, k]));
/** The texts OpenSSH's sftp-server sends with each status. */
const FX_TEXT: Record<number, string> = {
  0: 'Success',
  1: 'End of file',
  2: 'No such file',
  3: 'Permission denied',
  4: 'Failure',
  5: 'Bad message',
  8: 'Operation unsupported',
};

const ATTR = { SIZE: 1, UIDGID: 2, PERMISSIONS: 4, ACMODTIME: 8, EXTENDED: 0x80000000 } as const;
const PFLAG = { READ: 1, WRITE: 2, APPEND: 4, CREAT: 8, TRUNC: 0x10, EXCL: 0x20 } as const;
const MAX_PACKET = 256 * 1024;

/** What Win32-OpenSSH's sftp-server advertises (no fstatvfs); OpenSSH 9 on Linux adds it. */
const EXTENSIONS: Record<Flavour, [string, string][]> = {
  windows: [
    ['posix-rename@openssh.com', '1'],
    ['statvfs@openssh.com', '2'],
    ['hardlink@openssh.com', '1'],
    ['fsync@openssh.com', '1'],
    ['lsetstat@openssh.com', '1'],
    ['limits@openssh.com', '1'],
    ['expand-path@openssh.com', '1'],
  ],
  linux: [
    ['posix-rename@openssh.com', '1'],
    ['statvfs@openssh.com', '2'],
    ['fstatvfs@openssh.com', '2'],
    ['hardlink@openssh.com', '1'],
    ['fsync@openssh.com', '1'],
    ['lsetstat@openssh.com', '1'],
    ['limits@openssh.com', '1'],
    ['expand-path@openssh.com', '1'],
  ],
};

class BadMessage extends Error {}

interface Attrs {
  size?: number;
  uid?: number;
  gid?: number;
  mode?: number;
  atime?: number;
  mtime?: number;
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new BadMessage('short packet');
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.pos++);
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = Number(this.buf.readBigUInt64BE(this.pos));
    this.pos += 8;
    return v;
  }
  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  text(): string {
    return this.bytes().toString('utf8');
  }
  attrs(): Attrs {
    const flags = this.u32();
    const a: Attrs = {};
    if (flags & ATTR.SIZE) a.size = this.u64();
    if (flags & ATTR.UIDGID) {
      a.uid = this.u32();
      a.gid = this.u32();
    }
    if (flags & ATTR.PERMISSIONS) a.mode = this.u32();
    if (flags & ATTR.ACMODTIME) {
      a.atime = this.u32();
      a.mtime = this.u32();
    }
    if (flags & ATTR.EXTENDED) {
      const count = this.u32();
      for (let i = 0; i < count; i++) {
        this.bytes();
        this.bytes();
      }
    }
    return a;
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(n))));
  return b;
}

function str(v: Buffer | string): Buffer {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  return Buffer.concat([u32(b.length), b]);
}

function attrsOf(s: Stats): Buffer {
  return Buffer.concat([
    u32(ATTR.SIZE | ATTR.UIDGID | ATTR.PERMISSIONS | ATTR.ACMODTIME),
    u64(s.size),
    u32(s.uid),
    u32(s.gid),
    u32(s.mode),
    u32(Math.floor(s.atimeMs / 1000)),
    u32(Math.floor(s.mtimeMs / 1000)),
  ]);
}

const DIRECTORY_ATTRS = Buffer.concat([u32(ATTR.PERMISSIONS), u32(0o40755)]);

function longName(name: string, s: Stats): string {
  const type = s.isDirectory() ? 'd' : '-';
  return `${type}rw-r--r--    1 ${s.uid} ${s.gid} ${s.size} Jan  1 00:00 ${name}`;
}

/** errno → SFTP status, as OpenSSH's errno_to_portable does. */
function statusOf(err: unknown): number {
  switch ((err as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EBADF':
    case 'ELOOP':
      return FX.NO_SUCH_FILE;
    case 'EPERM':
    case 'EACCES':
      return FX.PERMISSION_DENIED;
    case 'ENAMETOOLONG':
    case 'EINVAL':
      return FX.BAD_MESSAGE;
    default:
      return FX.FAILURE;
  }
}

class Status extends Error {
  constructor(
    readonly code: number,
    message = FX_TEXT[code] ?? 'Failure',
  ) {
    super(message);
  }
}

type OpenHandle =
  | { kind: 'file'; file: FileHandle; path: string; local: string }
  | { kind: 'dir'; path: string; entries: Buffer[] | undefined };

/** One SFTP session on one channel; requests are handled one at a time, in order. */
class SftpSession {
  private pending = Buffer.alloc(0);
  private chain: Promise<void> = Promise.resolve();
  private readonly handles = new Map<number, OpenHandle>();
  private nextHandle = 1;

  constructor(
    private readonly channel: ServerChannel,
    private readonly host: HostState,
  ) {
    channel.on('data', (chunk: Buffer) => this.receive(chunk));
    channel.on('close', () => void this.closeAll());
    channel.on('error', () => undefined);
  }

  private receive(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 4) {
      const length = this.pending.readUInt32BE(0);
      if (length === 0 || length > MAX_PACKET + 1024) {
        this.channel.close();
        return;
      }
      if (this.pending.length < 4 + length) return;
      const packet = this.pending.subarray(4, 4 + length);
      this.pending = this.pending.subarray(4 + length);
      this.chain = this.chain.then(() => this.handle(packet)).catch(() => this.channel.close());
    }
  }

  private send(type: number, ...parts: Buffer[]): void {
    const payload = Buffer.concat([Buffer.from([type]), ...parts]);
    this.channel.write(Buffer.concat([u32(payload.length), payload]));
  }

  private status(id: number, code: number, message = FX_TEXT[code] ?? 'Failure'): void {
    this.send(FXP.STATUS, u32(id), u32(code), str(message), str(''));
  }

  private record(op: string, path: string, status: number, to?: string): void {
    this.host.received.sftp.push({
      op,
      path,
      ...(to !== undefined ? { to } : {}),
      status: FX_NAMES[status] ?? String(status),
    });
  }

  private file(remote: string): string {
    const r = this.host.disk.resolve(remote);
    if (r.kind === 'file') return r.local;
    if (r.kind === 'virtual') throw new Status(FX.PERMISSION_DENIED);
    throw new Status(r.status, r.message);
  }

  /** The open handle a request names, and its key in `handles`. */
  private handleOf(buf: Buffer): { key: number; h: OpenHandle } {
    const key = buf.length === 4 ? buf.readUInt32BE(0) : -1;
    const h = this.handles.get(key);
    if (h === undefined) throw new Status(FX.FAILURE, 'invalid handle');
    return { key, h };
  }

  private newHandle(h: OpenHandle): Buffer {
    const n = this.nextHandle++;
    this.handles.set(n, h);
    return u32(n);
  }

  private async closeAll(): Promise<void> {
    for (const h of this.handles.values()) if (h.kind === 'file') await h.file.close().catch(() => undefined);
    this.handles.clear();
  }

  private async handle(packet: Buffer): Promise<void> {
    const r = new Reader(packet);
    const type = r.u8();
    if (type === FXP.INIT) {
      r.u32();
      const ext = EXTENSIONS[this.host.flavour].flatMap(([name, version]) => [str(name), str(version)]);
      this.send(FXP.VERSION, u32(3), ...ext);
      return;
    }
    const id = r.u32();
    let op = `type ${type}`;
    let path = '';
    let to: string | undefined;
    try {
      switch (type) {
        case FXP.OPEN: {
          op = 'open';
          path = r.text();
          const pflags = r.u32();
          const attrs = r.attrs();
          await this.open(id, path, pflags, attrs);
          break;
        }
        case FXP.CLOSE: {
          op = 'close';
          const { key, h } = this.handleOf(r.bytes());
          path = h.path;
          this.handles.delete(key);
          if (h.kind === 'file') await h.file.close();
          this.status(id, FX.OK);
          break;
        }
        case FXP.READ: {
          op = 'read';
          const { h } = this.handleOf(r.bytes());
          path = h.path;
          const offset = r.u64();
          const length = Math.min(r.u32(), MAX_PACKET - 1024);
          if (h.kind !== 'file') throw new Status(FX.FAILURE);
          const buf = Buffer.alloc(length);
          const { bytesRead } = await h.file.read(buf, 0, length, offset);
          if (bytesRead === 0) this.status(id, FX.EOF);
          else this.send(FXP.DATA, u32(id), str(buf.subarray(0, bytesRead)));
          break;
        }
        case FXP.WRITE: {
          op = 'write';
          const { h } = this.handleOf(r.bytes());
          path = h.path;
          const offset = r.u64();
          let data = r.bytes();
          if (h.kind !== 'file') throw new Status(FX.FAILURE);
          if (this.host.onWrite) data = this.host.onWrite(h.path, Buffer.from(data));
          await h.file.write(data, 0, data.length, offset);
          this.status(id, FX.OK);
          break;
        }
        case FXP.STAT:
        case FXP.LSTAT: {
          op = type === FXP.STAT ? 'stat' : 'lstat';
          path = r.text();
          const resolved = this.host.disk.resolve(path);
          if (resolved.kind === 'virtual') {
            this.send(FXP.ATTRS, u32(id), DIRECTORY_ATTRS);
          } else {
            const s = await stat(this.file(path));
            this.send(FXP.ATTRS, u32(id), attrsOf(s));
          }
          break;
        }
        case FXP.FSTAT: {
          op = 'fstat';
          const { h } = this.handleOf(r.bytes());
          path = h.path;
          if (h.kind !== 'file') throw new Status(FX.FAILURE);
          this.send(FXP.ATTRS, u32(id), attrsOf(await h.file.stat()));
          break;
        }
        case FXP.SETSTAT:
        case FXP.FSETSTAT: {
          op = type === FXP.SETSTAT ? 'setstat' : 'fsetstat';
          let local: string;
          if (type === FXP.SETSTAT) {
            path = r.text();
            local = this.file(path);
          } else {
            const { h } = this.handleOf(r.bytes());
            path = h.path;
            if (h.kind !== 'file') throw new Status(FX.FAILURE);
            local = h.local;
          }
          await this.setstat(local, r.attrs());
          this.status(id, FX.OK);
          break;
        }
        case FXP.OPENDIR: {
          op = 'opendir';
          path = r.text();
          const resolved = this.host.disk.resolve(path);
          let entries: Buffer[];
          if (resolved.kind === 'virtual') {
            entries = [Buffer.concat([str(resolved.child), str(resolved.child), DIRECTORY_ATTRS])];
          } else {
            const local = this.file(path);
            const names = ['.', '..', ...(await readdir(local))];
            entries = [];
            for (const name of names) {
              const s = await stat(join(local, name)).catch(() => undefined);
              if (s) entries.push(Buffer.concat([str(name), str(longName(name, s)), attrsOf(s)]));
            }
          }
          this.send(FXP.HANDLE, u32(id), str(this.newHandle({ kind: 'dir', path, entries })));
          break;
        }
        case FXP.READDIR: {
          op = 'readdir';
          const { h } = this.handleOf(r.bytes());
          path = h.path;
          if (h.kind !== 'dir') throw new Status(FX.FAILURE);
          if (h.entries === undefined || h.entries.length === 0) {
            this.status(id, FX.EOF);
          } else {
            this.send(FXP.NAME, u32(id), u32(h.entries.length), ...h.entries);
            h.entries = undefined;
          }
          break;
        }
        case FXP.REMOVE: {
          op = 'remove';
          path = r.text();
          unlinkSync(this.file(path));
          this.status(id, FX.OK);
          break;
        }
        case FXP.MKDIR: {
          op = 'mkdir';
          path = r.text();
          const attrs = r.attrs();
          if (this.host.disk.resolve(path).kind === 'virtual') throw new Status(FX.FAILURE);
          // Windows ignores the mode (the folder inherits its parent's ACL)
          const mode = this.host.flavour === 'linux' ? (attrs.mode ?? 0o777) & 0o7777 : 0o755;
          mkdirSync(this.file(path), { mode });
          this.status(id, FX.OK);
          break;
        }
        case FXP.RMDIR: {
          op = 'rmdir';
          path = r.text();
          rmSync(this.file(path), { recursive: false });
          this.status(id, FX.OK);
          break;
        }
        case FXP.REALPATH: {
          op = 'realpath';
          path = r.text();
          const real = this.realpath(path);
          this.send(FXP.NAME, u32(id), u32(1), str(real), str(real), u32(0));
          break;
        }
        case FXP.RENAME: {
          op = 'rename';
          path = r.text();
          to = r.text();
          const from = this.file(path);
          const target = this.file(to);
          // SFTP v3 rename (OpenSSH: link + unlink) refuses an existing target
          if (existsSync(target)) throw new Status(FX.FAILURE);
          renameSync(from, target);
          this.status(id, FX.OK);
          break;
        }
        case FXP.EXTENDED: {
          op = r.text();
          ({ path, to } = await this.extended(id, op, r));
          break;
        }
        default:
          throw new Status(FX.OP_UNSUPPORTED);
      }
      this.record(op, path, FX.OK, to);
    } catch (err) {
      if (err instanceof BadMessage) throw err;
      const code = err instanceof Status ? err.code : statusOf(err);
      const message = err instanceof Status ? err.message : (FX_TEXT[code] ?? 'Failure');
      this.record(op, path, code, to);
      this.status(id, code, message);
    }
  }

  /** pflags → open(2) flags, as OpenSSH's flags_from_portable does. */
  private async open(id: number, path: string, pflags: number, attrs: Attrs): Promise<void> {
    const local = this.file(path);
    const { O_RDONLY, O_WRONLY, O_RDWR, O_APPEND, O_CREAT, O_TRUNC, O_EXCL } = fsConstants;
    const read = (pflags & PFLAG.READ) !== 0;
    const write = (pflags & PFLAG.WRITE) !== 0;
    let flags = read && write ? O_RDWR : write ? O_WRONLY : O_RDONLY;
    if (pflags & PFLAG.APPEND) flags |= O_APPEND;
    if (pflags & PFLAG.CREAT) flags |= O_CREAT;
    if (pflags & PFLAG.TRUNC) flags |= O_TRUNC;
    if (pflags & PFLAG.EXCL) flags |= O_EXCL;
    // Windows OpenSSH creates files with the folder's inherited ACL, whatever mode is asked
    const mode = this.host.flavour === 'linux' ? (attrs.mode ?? 0o666) & 0o7777 : 0o644;
    const file = await open(local, flags, mode);
    this.send(FXP.HANDLE, u32(id), str(this.newHandle({ kind: 'file', file, path, local })));
  }

  private async setstat(local: string, attrs: Attrs): Promise<void> {
    // Win32-OpenSSH's chmod is _wchmod: it only toggles the read-only attribute; ignore it
    if (attrs.mode !== undefined && this.host.flavour === 'linux') await chmod(local, attrs.mode & 0o7777);
    if (attrs.size !== undefined) await truncate(local, attrs.size);
    if (attrs.atime !== undefined && attrs.mtime !== undefined) await utimes(local, attrs.atime, attrs.mtime);
  }

  private realpath(path: string): string {
    if (this.host.flavour === 'windows') {
      const m = /^\/?([A-Za-z]):(\/.*)?$/.exec(path);
      if (m === null) throw new Status(FX.NO_SUCH_FILE);
      return `/${m[1]!.toUpperCase()}:${posix.normalize(m[2] ?? '/')}`;
    }
    return posix.normalize(path.startsWith('/') ? path : `${this.host.installDir}/${path}`);
  }

  private async extended(id: number, name: string, r: Reader): Promise<{ path: string; to?: string }> {
    switch (name) {
      case 'posix-rename@openssh.com': {
        const path = r.text();
        const to = r.text();
        const from = this.file(path);
        const target = this.file(to);
        // Win32-OpenSSH's w32_rename deletes an existing target, then renames: not atomic
        if (this.host.flavour === 'windows' && existsSync(target) && statSync(target).isFile())
          unlinkSync(target);
        renameSync(from, target);
        this.status(id, FX.OK);
        return { path, to };
      }
      case 'hardlink@openssh.com': {
        const path = r.text();
        const to = r.text();
        await link(this.file(path), this.file(to));
        this.status(id, FX.OK);
        return { path, to };
      }
      case 'statvfs@openssh.com':
      case 'fstatvfs@openssh.com': {
        let path: string;
        let local: string;
        if (name === 'statvfs@openssh.com') {
          path = r.text();
          const resolved = this.host.disk.resolve(path);
          local = resolved.kind === 'virtual' ? this.host.root : this.file(path);
        } else {
          const { h } = this.handleOf(r.bytes());
          path = h.path;
          local = h.kind === 'file' ? h.local : this.host.root;
        }
        const s = await statfs(local);
        this.send(
          FXP.EXTENDED_REPLY,
          u32(id),
          ...[s.bsize, s.bsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.ffree, 0, 0, 255].map(u64),
        );
        return { path };
      }
      case 'fsync@openssh.com': {
        const { h } = this.handleOf(r.bytes());
        if (h.kind !== 'file') throw new Status(FX.FAILURE);
        await h.file.sync();
        this.status(id, FX.OK);
        return { path: h.path };
      }
      case 'lsetstat@openssh.com': {
        const path = r.text();
        await this.setstat(this.file(path), r.attrs());
        this.status(id, FX.OK);
        return { path };
      }
      case 'limits@openssh.com': {
        this.send(
          FXP.EXTENDED_REPLY,
          u32(id),
          u64(MAX_PACKET),
          u64(MAX_PACKET - 1024),
          u64(MAX_PACKET - 1024),
          u64(0),
        );
        return { path: '' };
      }
      case 'expand-path@openssh.com': {
        const path = r.text();
        const real = this.realpath(path);
        this.send(FXP.NAME, u32(id), u32(1), str(real), str(real), u32(0));
        return { path };
      }
      default:
        throw new Status(FX.OP_UNSUPPORTED);
    }
  }
}

// ---------------------------------------------------------------------------------------
// exec: Linux

/**
 * Splits a command line the way a POSIX shell would, for the only forms certfleet writes:
 * bare words of safe characters, '…' strings and \' between them. Undefined for anything a
 * shell would interpret ($, `, ;, |, &, >, <, *, …): the emulated host refuses those.
 */
export function splitShellWords(command: string): string[] | undefined {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < command.length;) {
    const c = command[i]!;
    if (c === ' ') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word += command.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '\\' && command[i + 1] === "'") {
      word += "'";
      inWord = true;
      i += 2;
    } else if (/[A-Za-z0-9_./:=@%+,-]/.test(c)) {
      word += c;
      inWord = true;
      i++;
    } else {
      return undefined;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** GNU sha256sum's line: a name holding \ or a newline is escaped and the line starts with \. */
function sha256sumLine(digest: string, name: string): string {
  if (!/[\\\n]/.test(name)) return `${digest}  ${name}\n`;
  return `\\${digest}  ${name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n`;
}

function linuxExec(host: HostState, command: string): ExecReply {
  const words = splitShellWords(command);
  const refuse: ExecReply = { code: 127, stderr: `in-process linux host: refused command: ${command}\n` };
  if (words === undefined || words[1] !== '--') return refuse;
  const [program, , ...args] = words;
  if (program === 'sha256sum') {
    let stdout = '';
    let stderr = '';
    for (const remote of args) {
      const r = host.disk.resolve(remote);
      if (r.kind !== 'file' || !existsSync(r.local) || !statSync(r.local).isFile()) {
        stderr += `sha256sum: ${remote}: No such file or directory\n`;
        continue;
      }
      stdout += sha256sumLine(createHash('sha256').update(readFileSync(r.local)).digest('hex'), remote);
    }
    return { code: stderr ? 1 : 0, stdout, stderr };
  }
  if (program === 'chown') {
    const [owner, ...paths] = args;
    if (owner === undefined || paths.length === 0) return { code: 1, stderr: 'chown: missing operand\n' };
    const user = owner.split(':')[0]!;
    if (!host.users.has(user)) return { code: 1, stderr: `chown: invalid user: ‘${owner}’\n` };
    for (const remote of paths) {
      const r = host.disk.resolve(remote);
      if (r.kind !== 'file' || !existsSync(r.local)) {
        return { code: 1, stderr: `chown: cannot access '${remote}': No such file or directory\n` };
      }
    }
    for (const remote of paths) host.owners.set(remote, owner);
    return { code: 0 };
  }
  return refuse;
}

// ---------------------------------------------------------------------------------------
// exec: Windows (cmd.exe, then the emulated PowerShell script)

const CMD_MAX = 8191;

function cmdNotFound(program: string): ExecReply {
  return {
    code: 1,
    stderr: `'${program}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n`,
  };
}

/** The -EncodedCommand of a `powershell -NoProfile -NonInteractive … -EncodedCommand` line, or why not. */
function bootstrapOf(command: string): { encoded: string } | ExecReply {
  const words = command.split(' ').filter((w) => w !== '');
  const program = words[0]?.toLowerCase() ?? '';
  if (program !== 'powershell' && program !== 'powershell.exe') return cmdNotFound(words[0] ?? '');
  const seen = new Set<string>();
  let encoded: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const flag = words[i]!.toLowerCase();
    if (flag === '-noprofile' || flag === '-noninteractive') seen.add(flag);
    else if (flag === '-executionpolicy' && i + 1 < words.length) i++;
    else if (flag === '-encodedcommand' && i + 1 < words.length) encoded = words[++i];
    else
      return {
        code: 1,
        stderr: `in-process windows host: powershell argument ${words[i]} is not one certfleet sends\r\n`,
      };
  }
  if (!seen.has('-noprofile') || !seen.has('-noninteractive') || encoded === undefined) {
    return {
      code: 1,
      stderr: 'in-process windows host: powershell without -NoProfile -NonInteractive -EncodedCommand\r\n',
    };
  }
  return { encoded };
}

class ScriptFailure extends Error {}

/** Runs the bootstrap with the real PowerShell, as the host's DefaultShell would start it. */
async function windowsExec(host: HostState, command: string, stdin: Buffer): Promise<ExecReply> {
  if (command.length > CMD_MAX) return { code: 1, stderr: 'The command line is too long.\r\n' };
  const bootstrap = bootstrapOf(command);
  if (!('encoded' in bootstrap)) return bootstrap;
  if (decodePowerShellCommand(bootstrap.encoded) !== WINDOWS_BOOTSTRAP) {
    return { code: 1, stderr: "in-process windows host: -EncodedCommand is not certfleet's bootstrap\r\n" };
  }
  if (stdin.some((b) => b > 0x7e || (b < 0x20 && b !== 0x0a && b !== 0x0d))) {
    return {
      code: 1,
      stderr:
        'in-process windows host: stdin is not printable ASCII; the console code page would change it\r\n',
    };
  }
  const result =
    host.defaultShell === 'powershell'
      ? // Win32-OpenSSH: `powershell.exe -c <command>`; the inner powershell is the stand-in
        await runPwsh(['-Command', command], {
          stdin,
          env: {
            ...windowsHostEnv(host.root),
            PATH: `${host.shimDir}${delimiter}${process.env['PATH'] ?? ''}`,
          },
        })
      : // cmd.exe splits the line at spaces (base64 holds none of its special characters)
        await runWindowsPowerShell(command.split(' ').slice(1), stdin, host.root);
  return { code: result.code, stdout: result.stdout, stderr: result.stderr };
}

// ---------------------------------------------------------------------------------------
// the server

interface HostState {
  readonly flavour: Flavour;
  readonly root: string;
  readonly installDir: string;
  readonly disk: Disk;
  readonly received: Received;
  readonly owners: Map<string, string>;
  readonly users: Set<string>;
  onWrite: ((path: string, data: Buffer) => Buffer) | undefined;
  windowsLocal(path: string): string;
  readonly defaultShell: 'cmd' | 'powershell';
  /** Holds `powershell`, the stand-in a DefaultShell PowerShell starts. */
  readonly shimDir: string;
}

function hostKeyLineOf(publicKey: string): string {
  return publicKey.trim().split(/\s+/).slice(0, 2).join(' ');
}

/** Starts an in-process front-end; see the file's header for what each flavour does. */
export async function startInProcessHost(options: InProcessHostOptions): Promise<InProcessHost> {
  const { flavour } = options;
  const allowed = utils.parseKey(options.clientPublicKey);
  if (allowed instanceof Error) throw new Error(`clientPublicKey: ${allowed.message}`);
  const createdRoot = options.root === undefined;
  const root = options.root ?? (await mkdtemp(join(tmpdir(), `certfleet-${flavour}-host-`)));
  const installDir = posix.normalize(options.installDir ?? '/srv/fleet-certs').replace(/(.)\/+$/, '$1');
  const drives = new Set((options.drives ?? ['C', 'D']).map((d) => d.toUpperCase()));
  if (flavour === 'windows') for (const d of drives) mkdirSync(join(root, d), { recursive: true });
  mkdirSync(root, { recursive: true });

  const shimDir = join(root, '.bin');
  if (flavour === 'windows') {
    findPwsh();
    mkdirSync(shimDir, { recursive: true });
    const shim = join(shimDir, 'powershell');
    writeFileSync(
      shim,
      `#!/bin/sh\nexec '${findPwsh()}' -NoProfile -NonInteractive -File '${WINDOWS_POWERSHELL}' "$@"\n`,
    );
    await chmod(shim, 0o755);
  }
  const disk = flavour === 'windows' ? windowsDisk(root, drives) : linuxDisk(root, installDir);
  const hostKey = generateEd25519();
  const received: Received = { connections: 0, logins: [], execs: [], sftp: [] };
  const connections = new Set<Connection>();

  const windowsLocal = (path: string): string => {
    const m = /^([A-Za-z]):\\(.*)$/.exec(path);
    if (m === null) throw new ScriptFailure(`Could not find a part of the path '${path}'.`);
    const resolved = insideRoot(root, [m[1]!.toUpperCase(), ...m[2]!.split('\\').filter(Boolean)]);
    if (resolved.kind !== 'file') throw new ScriptFailure(`Could not find a part of the path '${path}'.`);
    return resolved.local;
  };

  const state: HostState & { onExec: ExecHandler | undefined } = {
    flavour,
    root,
    installDir,
    disk,
    received,
    owners: new Map(),
    users: new Set(['root', userInfo().username, ...(options.users ?? [])]),
    onWrite: undefined,
    onExec: undefined,
    windowsLocal,
    defaultShell: options.defaultShell ?? 'cmd',
    shimDir,
  };

  const runExec = async (command: string, stdin: Buffer): Promise<ExecReply> => {
    const custom = await state.onExec?.(command, stdin);
    if (custom !== undefined) return custom;
    try {
      return flavour === 'windows' ? await windowsExec(state, command, stdin) : linuxExec(state, command);
    } catch (err) {
      return { code: 1, stderr: `in-process ${flavour} host: ${String(err)}\n` };
    }
  };

  const server = new Server(
    {
      hostKeys: [hostKey.private],
      ident: flavour === 'windows' ? 'OpenSSH_for_Windows_9.5' : 'OpenSSH_9.2p1 Debian-2+deb12u3',
    },
    (conn) => {
      received.connections++;
      connections.add(conn);
      conn.on('error', () => undefined);
      conn.on('close', () => connections.delete(conn));
      conn.on('authentication', (ctx: AuthContext) => {
        let ok = false;
        if (
          ctx.method === 'publickey' &&
          (options.username === undefined || ctx.username === options.username)
        ) {
          ok =
            ctx.key.data.equals(allowed.getPublicSSH()) &&
            (ctx.signature === undefined || allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo));
        }
        received.logins.push({ username: ctx.username, method: ctx.method, accepted: ok });
        if (ok) ctx.accept();
        else ctx.reject(['publickey']);
      });
      conn.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('subsystem', (accept, reject, info) => {
          if (info.name !== 'sftp') return reject();
          new SftpSession(accept(), state);
        });
        session.on('exec', (accept, _reject, info) => {
          const channel = accept();
          const chunks: Buffer[] = [];
          channel.on('data', (chunk: Buffer) => chunks.push(chunk));
          channel.on('error', () => undefined);
          channel.once('end', () => {
            const stdin = Buffer.concat(chunks);
            void runExec(info.command, stdin).then((reply) => {
              received.execs.push({ command: info.command, stdin: stdin.toString('utf8'), reply });
              if (reply.stdout) channel.write(reply.stdout);
              if (reply.stderr) channel.stderr.write(reply.stderr);
              channel.exit(reply.code);
              channel.end();
            });
          });
        });
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.address ?? '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;

  return {
    flavour,
    address: address.address,
    port: address.port,
    hostKeyLine: hostKeyLineOf(hostKey.public),
    root,
    installDir,
    received,
    owners: state.owners,
    get onExec() {
      return state.onExec;
    },
    set onExec(handler) {
      state.onExec = handler;
    },
    get onWrite() {
      return state.onWrite;
    },
    set onWrite(handler) {
      state.onWrite = handler;
    },
    localPath(remote: string): string {
      if (flavour === 'windows' && /^[A-Za-z]:\\/.test(remote)) return windowsLocal(remote);
      const r = disk.resolve(remote);
      if (r.kind !== 'file') throw new Error(`${remote} is not on this host's disk`);
      return r.local;
    },
    readStore: () => readWindowsStore(root),
    configure: (config) => configureWindowsHost(root, config),
    async stop(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const conn of connections) conn.end();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2_000))]);
      if (createdRoot) await rm(root, { recursive: true, force: true });
    },
  };
}
