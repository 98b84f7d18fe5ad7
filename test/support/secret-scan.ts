/**
 * Secret scanning (README: Security): every key of a deployment read as raw bytes,
 * and the forms a secret could take there (raw, hex, base64 at any alignment,
 * UTF-16LE), found with one native search each. The security suite and the help desk
 * suites scan with it.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export interface Blob {
  where: string;
  bytes: Buffer;
}

export function flattenReply(reply: unknown, out: Buffer[] = []): Buffer[] {
  if (Buffer.isBuffer(reply)) out.push(reply);
  else if (Array.isArray(reply)) for (const r of reply) flattenReply(r, out);
  else if (reply !== null && reply !== undefined) out.push(Buffer.from(String(reply)));
  return out;
}

/**
 * Every key whose name holds the prefix, read as raw bytes: its name, its DUMP
 * (any type) and its contents read with the command of its type.
 */
export async function dumpRedis(
  redis: Redis,
  prefix: string,
): Promise<{ blobs: Blob[]; types: Set<string> }> {
  const keys: Buffer[] = [];
  let cursor = '0';
  do {
    const [next, batch] = (await redis.callBuffer('SCAN', cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000)) as [
      Buffer,
      Buffer[],
    ];
    cursor = next.toString();
    keys.push(...batch);
  } while (cursor !== '0');
  const blobs: Blob[] = [];
  const types = new Set<string>();
  const reads: Record<string, (string | number)[]> = {
    string: ['GET'],
    hash: ['HGETALL'],
    set: ['SMEMBERS'],
    zset: ['ZRANGE', '0', '-1', 'WITHSCORES'],
    list: ['LRANGE', '0', '-1'],
    stream: ['XRANGE', '-', '+'],
  };
  for (const key of keys) {
    const name = key.toString('utf8');
    const type = String(await redis.type(key));
    if (type === 'none') continue; // expired meanwhile
    types.add(type);
    blobs.push({ where: `key name ${name}`, bytes: key });
    const dump = (await redis.callBuffer('DUMP', key)) as Buffer | null;
    if (dump) blobs.push({ where: `DUMP ${name} (${type})`, bytes: dump });
    const read = reads[type];
    if (read) {
      const [command, ...args] = read;
      const reply = await redis.callBuffer(String(command), key, ...args);
      flattenReply(reply).forEach((b, i) => blobs.push({ where: `${type} ${name} [${i}]`, bytes: b }));
    }
  }
  return { blobs, types };
}

export interface Needle {
  label: string;
  bytes: Buffer;
}

/**
 * Every 16-byte slice of `data` (step 8) raw, in hex (both cases), as a decimal list
 * (a Buffer through JSON.stringify) and as spaced hex (util.inspect); and every
 * 24-character window (step 8) of its base64 and base64url at each of the three
 * byte alignments, so a base64 copy of any part of it is found wherever it starts.
 */
export function needlesOf(label: string, data: Buffer): Needle[] {
  const out: Needle[] = [];
  for (let o = 0; o + 16 <= data.length; o += 8) {
    const w = data.subarray(o, o + 16);
    const at = `${label}[${o}..${o + 16}]`;
    const hex = w.toString('hex');
    out.push({ label: `${at} raw`, bytes: Buffer.from(w) });
    out.push({ label: `${at} hex`, bytes: Buffer.from(hex) });
    out.push({ label: `${at} HEX`, bytes: Buffer.from(hex.toUpperCase()) });
    out.push({ label: `${at} decimal list`, bytes: Buffer.from([...w].join(',')) });
    out.push({ label: `${at} spaced hex`, bytes: Buffer.from(hex.replace(/(..)(?!$)/g, '$1 ')) });
  }
  for (let shift = 0; shift < 3; shift++) {
    const b64 = data.subarray(shift).toString('base64');
    // the last group depends on where a copy ends: leave it out
    const usable = b64.replace(/=+$/, '').length - 4;
    for (let c = 0; c + 24 <= usable; c += 8) {
      const s = b64.slice(c, c + 24);
      out.push({ label: `${label} base64 (shift ${shift}) @${c}`, bytes: Buffer.from(s) });
      const url = s.replace(/\+/g, '-').replace(/\//g, '_');
      if (url !== s)
        out.push({ label: `${label} base64url (shift ${shift}) @${c}`, bytes: Buffer.from(url) });
    }
  }
  return out;
}

export function passwordNeedles(password: string): Needle[] {
  const utf8 = Buffer.from(password, 'utf8');
  return [
    { label: 'password', bytes: utf8 },
    { label: 'password (JSON)', bytes: Buffer.from(JSON.stringify(password).slice(1, -1)) },
    { label: 'password base64', bytes: Buffer.from(utf8.toString('base64').replace(/=+$/, '')) },
    { label: 'password hex', bytes: Buffer.from(utf8.toString('hex')) },
    { label: 'password UTF-16LE (PKCS#12 BMPString)', bytes: Buffer.from(password, 'utf16le') },
  ];
}

/** Finds needles in blobs; joins the blobs so that each needle is one native search. */
export function scan(blobs: Blob[], needles: Needle[]): string[] {
  const sep = Buffer.from(`\n${randomBytes(16).toString('hex')}\n`);
  const parts: Buffer[] = [];
  const starts: number[] = [];
  let offset = 0;
  for (const b of blobs) {
    starts.push(offset);
    parts.push(b.bytes, sep);
    offset += b.bytes.length + sep.length;
  }
  const hay = Buffer.concat(parts);
  const found: string[] = [];
  for (const n of needles) {
    const at = hay.indexOf(n.bytes);
    if (at < 0) continue;
    let i = starts.length - 1;
    while (i > 0 && starts[i]! > at) i--;
    const blob = blobs[i]!;
    const local = at - starts[i]!;
    const context = blob.bytes
      .subarray(Math.max(0, local - 40), local + n.bytes.length + 40)
      .toString('latin1')
      .replace(/[^\x20-\x7e]/g, '.');
    found.push(`${n.label} in ${blob.where}: …${context}…`);
  }
  return found;
}

/** The private key inside a PFX as DER: PKCS#8 PrivateKeyInfo and PKCS#1 RSAPrivateKey. */

/**
 * Where a password was found in a deployment's Redis, in any of its forms (none is
 * the answer a test wants); `mustHold` names a key part that must be there, so that an
 * empty Redis cannot pass.
 */
export async function passwordInRedis(
  config: { redisUrl: string; prefix: string },
  password: string,
  mustHold: string,
): Promise<string[]> {
  const redis = new Redis(config.redisUrl);
  try {
    const { blobs } = await dumpRedis(redis, config.prefix);
    if (!blobs.some((b) => b.where.includes(mustHold))) return [`no key holding ${mustHold}`];
    return scan(blobs, passwordNeedles(password));
  } finally {
    redis.disconnect();
  }
}
