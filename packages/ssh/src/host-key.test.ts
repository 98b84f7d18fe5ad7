import { describe, expect, it } from 'vitest';
import {
  blobKeyType,
  fingerprintOf,
  hostKeyAlgorithmsFor,
  hostKeyMatches,
  parseHostKeyPin,
} from './host-key.js';

// Fixtures made with ssh-keygen; the fingerprints are what `ssh-keygen -lf` printed.
const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIItbJB9aRBIVZmhd3AuAXl9P0R6KADYiOGlJZ2E2bMlC';
const ED25519_FP = 'SHA256:RIPCnxez4lU2dPfu069kNdguz+Mk+UcdJ1RZ3PjlLCc';
const ECDSA =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBCqlBi2+OanvYI16mlCKqZ9iY1Pv3XPKt7rUCC' +
  '898UvPH9xwSDUYRq5C1r3smE6IOETDeQDK2GNWxmUTuAOYH8E=';
const ECDSA_FP = 'SHA256:NyNQRstGaqSxV0xpydS33bAdXH9EjSTSHghRbI5h7Fc';

function blobOf(line: string): Buffer {
  return Buffer.from(line.split(' ')[1]!, 'base64');
}

describe('hostKeyMatches', () => {
  it('matches the OpenSSH public key line, with or without a comment or extra spaces', () => {
    expect(hostKeyMatches(ED25519, blobOf(ED25519))).toBe(true);
    expect(hostKeyMatches(`${ED25519} fe-1@example`, blobOf(ED25519))).toBe(true);
    expect(hostKeyMatches(`  ${ED25519.replace(' ', '\t  ')}  comment with spaces \n`, blobOf(ED25519))).toBe(
      true,
    );
    expect(hostKeyMatches(ECDSA, blobOf(ECDSA))).toBe(true);
  });

  it('refuses another key', () => {
    expect(hostKeyMatches(ED25519, blobOf(ECDSA))).toBe(false);
    expect(hostKeyMatches(ECDSA, blobOf(ED25519))).toBe(false);
    const flipped = Buffer.from(blobOf(ED25519));
    flipped[flipped.length - 1]! ^= 1;
    expect(hostKeyMatches(ED25519, flipped)).toBe(false);
  });

  it('matches the SHA256 fingerprint form as ssh-keygen prints it, padded or not', () => {
    expect(fingerprintOf(blobOf(ED25519))).toBe(ED25519_FP);
    expect(fingerprintOf(blobOf(ECDSA))).toBe(ECDSA_FP);
    expect(hostKeyMatches(ED25519_FP, blobOf(ED25519))).toBe(true);
    expect(hostKeyMatches(`${ED25519_FP}=`, blobOf(ED25519))).toBe(true);
    expect(hostKeyMatches(ECDSA_FP, blobOf(ED25519))).toBe(false);
  });

  it('refuses pins that are neither form', () => {
    for (const pin of [
      '',
      'SHA256:',
      'SHA256:abc',
      'MD5:44:17:4b',
      'ssh-ed25519',
      'ssh-ed25519 not-base64!',
      // the blob says ssh-ed25519, the line says ssh-rsa
      ED25519.replace('ssh-ed25519', 'ssh-rsa'),
      blobOf(ED25519).toString('base64'),
    ]) {
      expect(hostKeyMatches(pin, blobOf(ED25519)), pin).toBe(false);
      expect(parseHostKeyPin(pin), pin).toBeUndefined();
    }
  });
});

describe('pins and algorithms', () => {
  it('reads the key type from a blob', () => {
    expect(blobKeyType(blobOf(ED25519))).toBe('ssh-ed25519');
    expect(blobKeyType(Buffer.from([0, 0]))).toBeUndefined();
    expect(blobKeyType(Buffer.from([0xff, 0, 0, 0, 1]))).toBeUndefined();
  });

  it('offers only the pinned key type, so a host with several keys presents the pinned one', () => {
    expect(hostKeyAlgorithmsFor(parseHostKeyPin(ED25519)!)).toEqual(['ssh-ed25519']);
    expect(hostKeyAlgorithmsFor(parseHostKeyPin(ECDSA)!)).toEqual(['ecdsa-sha2-nistp256']);
    expect(hostKeyAlgorithmsFor(parseHostKeyPin(ED25519_FP)!)).toBeUndefined();
    const rsa = parseHostKeyPin(
      `ssh-rsa ${Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), Buffer.alloc(8)]).toString('base64')}`,
    );
    expect(hostKeyAlgorithmsFor(rsa!)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  });
});
