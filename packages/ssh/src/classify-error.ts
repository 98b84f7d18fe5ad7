import { TargetError } from './target-error.js';

/** Which host, as whom: every message names it. */
export interface HostContext {
  host: string;
  port: number;
  username: string;
}

/** What the connect step knew when it failed. */
export interface ConnectContext extends HostContext {
  readyTimeoutMs: number;
  /** Fingerprint of the pinned key. */
  pinnedFingerprint: string;
  /** Fingerprint of the key the server presented, when it got that far. */
  presentedFingerprint?: string;
  /** The host verifier refused the presented key. */
  keyRejected: boolean;
}

/** SSH's SFTP status codes (draft-ietf-secsh-filexfer-02), as ssh2 sets them on `err.code`. */
export const SFTP_STATUS = {
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

interface ErrorFields {
  message: string;
  code?: unknown;
  level?: unknown;
}

function fields(err: unknown): ErrorFields {
  if (err instanceof Error) {
    const { code, level } = err as Error & { code?: unknown; level?: unknown };
    return { message: err.message, code, level };
  }
  return { message: String(err) };
}

/** `host:port` for messages. */
export function describeHost(ctx: HostContext): string {
  return `${ctx.host}:${ctx.port}`;
}

/** A step that did not finish in time: the host or its sshd hangs, or packets are dropped. */
export function timeoutError(ctx: HostContext, step: string, ms: number, cause?: unknown): TargetError {
  return new TargetError(
    'host_timeout',
    `${describeHost(ctx)}: ${step} did not finish within ${ms} ms. The host, its sshd or the network ` +
      'path hangs; check the front-end. certfleet retries.',
    { cause },
  );
}

/** The connection went away (or never came): network or sshd down. */
export function unreachableError(ctx: HostContext, detail: string, cause?: unknown): TargetError {
  return new TargetError(
    'host_unreachable',
    `${describeHost(ctx)}: ${detail}. Check that the front-end is up, that sshd listens on port ` +
      `${ctx.port} and that the network path from certfleet is open. certfleet retries.`,
    { cause },
  );
}

/** Maps whatever ssh2 or the socket reported while connecting to one TargetError. */
export function classifyConnectError(err: unknown, ctx: ConnectContext): TargetError {
  if (err instanceof TargetError) return err;
  const { message, code, level } = fields(err);
  const where = describeHost(ctx);
  if (ctx.keyRejected) {
    return new TargetError(
      'host_key_mismatch',
      `${where} presented host key ${ctx.presentedFingerprint ?? '(unknown)'}, not the pinned ` +
        `${ctx.pinnedFingerprint}; certfleet stopped before authenticating and sent nothing. If the ` +
        'front-end was rebuilt, confirm its new key out of band and update hostKey in the inventory; ' +
        'otherwise treat it as a possible interception.',
      { cause: err },
    );
  }
  if (level === 'handshake' && /no matching host key/i.test(message)) {
    return new TargetError(
      'host_key_mismatch',
      `${where} offers no host key of the pinned type (${ctx.pinnedFingerprint}); certfleet sent ` +
        'nothing. Confirm the front-end’s host key out of band and update hostKey in the inventory.',
      { cause: err },
    );
  }
  if (level === 'client-authentication') {
    return new TargetError(
      'auth_failed',
      `${where}: the server refused certfleet's key for user '${ctx.username}'. Add certfleet's ` +
        `public key to that user's authorized_keys on the front-end, or fix username/privateKeyPath ` +
        'in the inventory.',
      { cause: err },
    );
  }
  if (/cannot parse privateKey|does not contain a \(valid\) private key/i.test(message)) {
    return new TargetError(
      'auth_failed',
      `certfleet's SSH private key cannot be used (${message}). Point privateKeyPath at an OpenSSH ` +
        'private key without a passphrase.',
      { cause: err },
    );
  }
  if (level === 'client-timeout' || code === 'ETIMEDOUT') {
    return timeoutError(ctx, 'the SSH handshake', ctx.readyTimeoutMs, err);
  }
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    return unreachableError(ctx, `cannot connect (${code})`, err);
  }
  return unreachableError(ctx, `the SSH connection failed (${message})`, err);
}

/** Maps an SFTP failure on `path` to one TargetError (disk full is decided by the caller). */
export function classifySftpError(
  err: unknown,
  ctx: HostContext & { op: string; path: string },
): TargetError {
  if (err instanceof TargetError) return err;
  const { message, code } = fields(err);
  const where = describeHost(ctx);
  switch (code) {
    case SFTP_STATUS.PERMISSION_DENIED:
      return new TargetError(
        'permission_denied',
        `${where}: user '${ctx.username}' may not ${ctx.op} ${ctx.path}. Give that user write access ` +
          'to the install directory on the front-end, or log in as a user that has it.',
        { cause: err },
      );
    case SFTP_STATUS.NO_CONNECTION:
    case SFTP_STATUS.CONNECTION_LOST:
      return unreachableError(ctx, `the connection was lost during ${ctx.op} ${ctx.path}`, err);
  }
  // ssh2 fails pending requests with this when the channel or connection closes
  if (message === 'No response from server') {
    return unreachableError(ctx, `the connection was lost during ${ctx.op} ${ctx.path}`, err);
  }
  return new TargetError(
    'remote_command_failed',
    `${where}: SFTP ${ctx.op} ${ctx.path} failed: ${message}. Check the install directory on the front-end.`,
    { cause: err },
  );
}

/** Free space on the file system, as statvfs reports it. */
export interface FreeSpace {
  freeBytes: number;
  freeInodes: number;
}

/**
 * OpenSSH's sftp-server reports ENOSPC as a generic FAILURE: after a write, fsync, close
 * or create fails that way, free space decides whether the disk is full. A margin of
 * 64 KiB covers block rounding and the part of the file already written.
 */
export function isDiskFull(space: FreeSpace, bytesNeeded: number): boolean {
  return space.freeInodes === 0 || space.freeBytes < bytesNeeded + 64 * 1024;
}

/** The disk holding `path` has no room for `bytesNeeded` more bytes. */
export function diskFullError(
  ctx: HostContext,
  path: string,
  space: FreeSpace,
  bytesNeeded: number,
): TargetError {
  return new TargetError(
    'disk_full',
    `${describeHost(ctx)}: no space left for ${path} (${space.freeBytes} bytes free, ${bytesNeeded} ` +
      'needed). Free space on that file system of the front-end, then retry the job.',
  );
}

/** Longest stderr excerpt kept in a message. */
const STDERR_EXCERPT = 400;

/** A remote command exited non-zero (or by a signal). */
export function commandFailedError(
  ctx: HostContext,
  what: string,
  result: { code: number; signal?: string; stderr: string },
): TargetError {
  const status = result.signal ? `signal ${result.signal}` : `exit code ${result.code}`;
  const stderr = result.stderr.trim().replace(/\s+/g, ' ').slice(0, STDERR_EXCERPT);
  return new TargetError(
    'remote_command_failed',
    `${describeHost(ctx)}: ${what} failed (${status})${stderr ? `: ${stderr}` : ''}. Check the front-end.`,
  );
}
