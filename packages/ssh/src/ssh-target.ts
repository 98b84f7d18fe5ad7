import { readFile } from 'node:fs/promises';
import type { SshTarget } from './ssh-session.js';
import { TargetError } from './target-error.js';

/** The inventory fields of a front-end that say how to reach it. */
export interface FrontEndLogin {
  host: string;
  port: number;
  username: string;
  privateKeyPath: string;
  hostKey: string;
}

/** How long connecting, and each step after it, may take. */
export interface SshTimeouts {
  readyTimeoutMs: number;
  commandTimeoutMs: number;
}

/**
 * The SSH target of a front-end, with its private key read from disk. A key that cannot be
 * read is a permanent `auth_failed` that names the file, before anything is sent to the host.
 */
export async function sshTargetFor(fe: FrontEndLogin, timeouts: SshTimeouts): Promise<SshTarget> {
  let privateKey: Buffer;
  try {
    privateKey = await readFile(fe.privateKeyPath);
  } catch {
    throw new TargetError(
      'auth_failed',
      `cannot read the SSH private key ${fe.privateKeyPath}; check privateKeyPath in the inventory`,
    );
  }
  return {
    host: fe.host,
    port: fe.port,
    username: fe.username,
    privateKey,
    hostKey: fe.hostKey,
    ...timeouts,
  };
}
