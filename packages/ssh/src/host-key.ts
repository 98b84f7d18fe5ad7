import { createHash } from 'node:crypto';
import type { ServerHostKeyAlgorithm } from 'ssh2';

/** A parsed `hostKey` pin from the inventory. */
export type HostKeyPin =
  | { kind: 'key'; type: string; blob: Buffer }
  | { kind: 'fingerprint'; sha256: string /* base64, no padding */ };

const KEY_TYPE = /^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+)$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Parses an OpenSSH public key line (`ssh-ed25519 AAAA… [comment]`) or a
 * `SHA256:<base64>` fingerprint; undefined when it is neither.
 */
export function parseHostKeyPin(pin: string): HostKeyPin | undefined {
  const text = pin.trim();
  if (text.startsWith('SHA256:')) {
    const sha256 = text.slice('SHA256:'.length).replace(/=+$/, '');
    if (!BASE64.test(sha256)) return undefined;
    // 32 bytes: 43 base64 characters without padding
    if (Buffer.from(sha256, 'base64').length !== 32) return undefined;
    return { kind: 'fingerprint', sha256 };
  }
  const [type, data] = text.split(/\s+/);
  if (type === undefined || data === undefined || !KEY_TYPE.test(type) || !BASE64.test(data))
    return undefined;
  const blob = Buffer.from(data, 'base64');
  // the blob starts with its own type as an SSH string; a pin whose two disagree is corrupt
  if (blobKeyType(blob) !== type) return undefined;
  return { kind: 'key', type, blob };
}

/** The key type an SSH public key blob names in its first field. */
export function blobKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length > 64 || 4 + length > blob.length) return undefined;
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** `SHA256:<base64>` as `ssh-keygen -l` prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** True when the key blob a server presented is the pinned key (line or SHA256 form). */
export function hostKeyMatches(pin: string, keyBlob: Buffer): boolean {
  const parsed = parseHostKeyPin(pin);
  if (parsed === undefined) return false;
  if (parsed.kind === 'fingerprint') return fingerprintOf(keyBlob) === `SHA256:${parsed.sha256}`;
  return parsed.blob.equals(keyBlob);
}

/** How a pin is shown in messages: its fingerprint, never the key itself. */
export function pinFingerprint(pin: HostKeyPin): string {
  return pin.kind === 'fingerprint' ? `SHA256:${pin.sha256}` : fingerprintOf(pin.blob);
}

/**
 * Host key algorithms to offer so that a server holding several host keys presents the
 * pinned one (ssh2 would otherwise pick its own favourite, and the pin would not match).
 * Undefined for a fingerprint pin or a type ssh2 does not know: keep ssh2's defaults.
 */
export function hostKeyAlgorithmsFor(pin: HostKeyPin): ServerHostKeyAlgorithm[] | undefined {
  if (pin.kind !== 'key') return undefined;
  switch (pin.type) {
    case 'ssh-rsa':
      return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
    case 'ssh-ed25519':
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
    case 'ssh-dss':
      return [pin.type as ServerHostKeyAlgorithm];
    default:
      return undefined;
  }
}
