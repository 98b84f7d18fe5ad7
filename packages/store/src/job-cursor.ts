/** A place in the job index: a job's creation time (its score) and its id. */
export interface Cursor {
  score: number;
  id: string;
}

/** Order of the index, newest first: by score, then by id (as ZREVRANGE orders equal scores). */
export function isBefore(entry: Cursor, after: Cursor): boolean {
  return entry.score < after.score || (entry.score === after.score && entry.id < after.id);
}

/** The opaque text a client gets back to read the next page. */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.score}:${c.id}`, 'utf8').toString('base64url');
}

/** The place a client's cursor names; undefined when it is not one of ours. */
export function decodeCursor(cursor: string): Cursor | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^(\d+):([A-Za-z0-9_-]+)$/.exec(text);
  return match ? { score: Number(match[1]), id: match[2]! } : undefined;
}

/** Whether a cursor from a client is well-formed. */
export function isValidCursor(cursor: string): boolean {
  return decodeCursor(cursor) !== undefined;
}
