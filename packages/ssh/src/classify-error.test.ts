import { describe, expect, it } from 'vitest';
import {
  SFTP_STATUS,
  classifyConnectError,
  classifySftpError,
  commandFailedError,
  diskFullError,
  isDiskFull,
  type ConnectContext,
} from './classify-error.js';
import { TargetError, type TargetErrorCode } from './target-error.js';

const CTX: ConnectContext = {
  host: '127.0.10.7',
  port: 2222,
  username: 'fleet',
  readyTimeoutMs: 10_000,
  pinnedFingerprint: 'SHA256:pinned',
  keyRejected: false,
};

function error(message: string, props: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), props);
}

function expectCode(err: TargetError, code: TargetErrorCode, permanent: boolean): void {
  expect(err).toBeInstanceOf(TargetError);
  expect(err).toBeInstanceOf(Error);
  expect(err.name).toBe('TargetError');
  expect(err.code).toBe(code);
  expect(err.permanent).toBe(permanent);
  expect(err.message).toContain('127.0.10.7');
}

describe('classifyConnectError', () => {
  it('maps refused, reset and unreachable sockets to host_unreachable (transient)', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND']) {
      const err = classifyConnectError(error(`connect ${code}`, { code, level: 'client-socket' }), CTX);
      expectCode(err, 'host_unreachable', false);
      expect(err.message).toContain(code);
      expect(err.message).toMatch(/sshd listens on port 2222/);
    }
  });

  it('maps handshake and TCP timeouts to host_timeout (transient)', () => {
    const handshake = error('Timed out while waiting for handshake', { level: 'client-timeout' });
    expectCode(classifyConnectError(handshake, CTX), 'host_timeout', false);
    expect(classifyConnectError(handshake, CTX).message).toContain('10000 ms');
    expectCode(
      classifyConnectError(error('connect ETIMEDOUT', { code: 'ETIMEDOUT' }), CTX),
      'host_timeout',
      false,
    );
  });

  it('maps a refused host key to host_key_mismatch (permanent), naming both fingerprints', () => {
    const err = classifyConnectError(error('Host denied (verification failed)', { level: 'handshake' }), {
      ...CTX,
      keyRejected: true,
      presentedFingerprint: 'SHA256:presented',
    });
    expectCode(err, 'host_key_mismatch', true);
    expect(err.message).toContain('SHA256:presented');
    expect(err.message).toContain('SHA256:pinned');
    expect(err.message).toMatch(/update hostKey in the inventory/);
  });

  it('maps a host without a key of the pinned type to host_key_mismatch', () => {
    const err = error('Handshake failed: no matching host key format', { level: 'handshake' });
    expectCode(classifyConnectError(err, CTX), 'host_key_mismatch', true);
  });

  it('maps an authentication failure and an unusable private key to auth_failed (permanent)', () => {
    const refused = error('All configured authentication methods failed', { level: 'client-authentication' });
    const err = classifyConnectError(refused, CTX);
    expectCode(err, 'auth_failed', true);
    expect(err.message).toContain("user 'fleet'");
    const badKey = classifyConnectError(error('Cannot parse privateKey: Unsupported key format'), CTX);
    expect(badKey.code).toBe('auth_failed');
    expect(badKey.message).toMatch(/privateKeyPath/);
  });

  it('treats other handshake failures as transient and passes TargetErrors through', () => {
    expectCode(classifyConnectError(error('Protocol error'), CTX), 'host_unreachable', false);
    const original = new TargetError('disk_full', 'x');
    expect(classifyConnectError(original, CTX)).toBe(original);
  });
});

describe('classifySftpError', () => {
  const ctx = { ...CTX, op: 'create', path: '/srv/fleet-certs/.a.pfx.certfleet-tmp-1' };

  it('maps PERMISSION_DENIED to permission_denied (permanent) naming user and path', () => {
    const err = classifySftpError(error('Permission denied', { code: SFTP_STATUS.PERMISSION_DENIED }), ctx);
    expectCode(err, 'permission_denied', true);
    expect(err.message).toContain("user 'fleet' may not create /srv/fleet-certs/.a.pfx.certfleet-tmp-1");
  });

  it('maps a lost connection to host_unreachable (transient)', () => {
    expectCode(classifySftpError(error('No response from server'), ctx), 'host_unreachable', false);
    expectCode(
      classifySftpError(error('x', { code: SFTP_STATUS.CONNECTION_LOST }), ctx),
      'host_unreachable',
      false,
    );
  });

  it('maps other failures to remote_command_failed (transient)', () => {
    expectCode(
      classifySftpError(error('Failure', { code: SFTP_STATUS.FAILURE }), ctx),
      'remote_command_failed',
      false,
    );
  });
});

describe('disk full', () => {
  it('decides from free space after a generic FAILURE', () => {
    expect(isDiskFull({ freeBytes: 0, freeInodes: 100 }, 3000)).toBe(true);
    expect(isDiskFull({ freeBytes: 10_000, freeInodes: 100 }, 3000)).toBe(true);
    expect(isDiskFull({ freeBytes: 10_000_000, freeInodes: 0 }, 3000)).toBe(true);
    expect(isDiskFull({ freeBytes: 10_000_000, freeInodes: 100 }, 3000)).toBe(false);
  });

  it('is permanent and says what to do', () => {
    const err = diskFullError(CTX, '/srv/x', { freeBytes: 12, freeInodes: 1 }, 3000);
    expectCode(err, 'disk_full', true);
    expect(err.message).toMatch(/Free space/);
  });
});

describe('commandFailedError', () => {
  it('names the step, the status and an excerpt of stderr', () => {
    const err = commandFailedError(CTX, 'chown to "www-data"', {
      code: 1,
      stderr: "chown: invalid user: 'www-data'\n" + 'x'.repeat(2000),
    });
    expectCode(err, 'remote_command_failed', false);
    expect(err.message).toContain('exit code 1');
    expect(err.message).toContain('invalid user');
    expect(err.message.length).toBeLessThan(700);
    expect(commandFailedError(CTX, 'x', { code: -1, signal: 'KILL', stderr: '' }).message).toContain(
      'signal KILL',
    );
  });
});
