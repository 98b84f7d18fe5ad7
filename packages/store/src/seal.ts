import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SecretBundle } from './types.js';

const VERSION = 1;

export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
    Object.setPrototypeOf(this, SealError.prototype);
  }
}

/** AES-256-GCM with the job id as additional data, so a sealed blob cannot be moved to another job. */
export function seal(key: Buffer, jobId: string, bundle: SecretBundle): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(jobId, 'utf8'));
  const plain = Buffer.from(
    JSON.stringify({
      pfx: bundle.pfx.toString('base64'),
      password: bundle.password,
      caChain: bundle.caChain.map((c) => c.toString('base64')),
    }),
    'utf8',
  );
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  plain.fill(0);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
}

export function unseal(key: Buffer, jobId: string, sealed: Buffer): SecretBundle {
  if (sealed.length < 1 + 12 + 16 || sealed[0] !== VERSION) throw new SealError('sealed secret is malformed');
  const iv = sealed.subarray(1, 13);
  const tag = sealed.subarray(13, 29);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(jobId, 'utf8'));
  decipher.setAuthTag(tag);
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]);
  } catch {
    throw new SealError('sealed secret cannot be opened: wrong FLEET_MASTER_KEY or tampered data');
  }
  const parsed = JSON.parse(plain.toString('utf8')) as { pfx: string; password: string; caChain: string[] };
  plain.fill(0);
  return {
    pfx: Buffer.from(parsed.pfx, 'base64'),
    password: parsed.password,
    caChain: parsed.caChain.map((c) => Buffer.from(c, 'base64')),
  };
}

/**
 * Opens a sealed blob with the first key that fits: the current one, then those of
 * before a rotation. `keyIndex` > 0 says the blob should be sealed again under the current key.
 */
export function unsealWithAny(
  keys: readonly Buffer[],
  aad: string,
  sealed: Buffer,
): { bundle: SecretBundle; keyIndex: number } {
  for (const [keyIndex, key] of keys.entries()) {
    try {
      return { bundle: unseal(key, aad, sealed), keyIndex };
    } catch (err) {
      if (!(err instanceof SealError) || keyIndex === keys.length - 1) throw err;
    }
  }
  throw new SealError('no master key to open the sealed secret');
}
