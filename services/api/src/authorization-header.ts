/**
 * Reading the Authorization header. The scheme is case-insensitive (RFC 9110
 * §11.1), so `bearer` and `BEARER` are accepted like `Bearer`.
 */

const BEARER = /^Bearer +([\x21-\x7e]{1,512})$/i;
const BASIC = /^Basic +([A-Za-z0-9+/=]{1,1024})$/i;

/** Every regular expression applied to the Authorization header (for the regex-safety check). */
export const AUTHORIZATION_PATTERNS: readonly RegExp[] = [BEARER, BASIC];

/** The token of `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return BEARER.exec(header ?? '')?.[1];
}

/** The password of HTTP Basic (the user name is ignored), or undefined. */
export function basicPassword(header: string | undefined): string | undefined {
  const encoded = BASIC.exec(header ?? '')?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}
