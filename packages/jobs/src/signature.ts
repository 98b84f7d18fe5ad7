import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>` (API.md). */
export const SIGNATURE_HEADER = 'x-certfleet-signature';
export const SIGNATURE_TOLERANCE_S = 300;
/** The signature header's form (exported for the regex-safety check). */
export const SIGNATURE_PATTERN = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/;

function hmac(secret: string, t: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
}

/** Signs a raw body for the signature header. */
export function signBody(secret: string, body: string | Buffer, now = Date.now()): string {
  const t = Math.floor(now / 1000);
  return `t=${t},v1=${hmac(secret, t, body)}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks a signature header against every accepted secret (rotation) in
 * constant time; refuses timestamps more than the tolerance away.
 */
export function verifySignature(
  secrets: readonly string[],
  header: string | undefined,
  body: string | Buffer,
  now = Date.now(),
  toleranceS = SIGNATURE_TOLERANCE_S,
): SignatureCheck {
  const match = SIGNATURE_PATTERN.exec(header?.trim() ?? '');
  if (!match) return { ok: false, reason: 'missing or malformed X-Certfleet-Signature header' };
  const t = Number(match[1]);
  if (Math.abs(now / 1000 - t) > toleranceS) {
    return { ok: false, reason: `signature timestamp is more than ${toleranceS} s away from now` };
  }
  const given = Buffer.from(match[2]!, 'hex');
  let ok = false;
  for (const secret of secrets) {
    if (timingSafeEqual(given, Buffer.from(hmac(secret, t, body), 'hex'))) ok = true;
  }
  return ok ? { ok: true } : { ok: false, reason: 'signature does not match' };
}
