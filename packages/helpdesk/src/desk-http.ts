/**
 * HTTP to a help desk's API with fetch (undici, in Node): certfleet's credentials go
 * to the desk's own origin only, a 429 waits for its Retry-After, a download stops
 * at its byte cap.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DeskHttpError } from './desk-http-error.js';

export interface DeskHttpOptions {
  /** The desk's base URL; only its origin ever gets the credentials. */
  baseUrl: string;
  /** The `Authorization` header value. */
  authorization: string;
  /** Per-request timeout. Default 15 s. */
  timeoutMs?: number;
  /** The longest Retry-After waited in place; a longer one goes back to the caller. Default 10 s. */
  maxWaitMs?: number;
  /** How many 429s in a row are waited out in place. Default 3. */
  maxBusyRetries?: number;
}

const DEFAULTS = { timeoutMs: 15_000, maxWaitMs: 10_000, maxBusyRetries: 3 };
const MAX_REDIRECTS = 5;

/** Milliseconds of a Retry-After header (seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** One desk's API. */
export class DeskHttp {
  private readonly origin: string;
  private readonly options: Required<DeskHttpOptions>;

  constructor(options: DeskHttpOptions) {
    this.options = { ...DEFAULTS, ...options };
    this.origin = new URL(options.baseUrl).origin;
  }

  /** A URL of the desk: a path under the base URL, or an absolute URL that must be on its origin. */
  private own(pathOrUrl: string): URL {
    const url = new URL(pathOrUrl, this.options.baseUrl);
    if (url.origin !== this.origin) {
      throw new DeskHttpError('desk_refused', `${url.host} is not the help desk's host; not followed`, true);
    }
    return url;
  }

  /** One request, 429s waited out (up to maxBusyRetries, each at most maxWaitMs). */
  private async fetch(url: URL, init: RequestInit, credentials: boolean): Promise<Response> {
    for (let busy = 0; ; busy++) {
      const headers = new Headers(init.headers);
      if (credentials) headers.set('authorization', this.options.authorization);
      let res: Response;
      try {
        res = await fetch(url, {
          ...init,
          headers,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
        throw new DeskHttpError('desk_unreachable', `cannot reach ${url.host}: ${cause}`, false);
      }
      if (res.status !== 429) return res;
      await res.body?.cancel();
      const wait = retryAfterMs(res.headers.get('retry-after')) ?? 1000;
      if (busy >= this.options.maxBusyRetries || wait > this.options.maxWaitMs) {
        throw new DeskHttpError('desk_busy', `${url.host} answered 429 (rate limited)`, false, wait, 429);
      }
      await sleep(wait);
    }
  }

  private static async refusal(url: URL, res: Response): Promise<DeskHttpError> {
    await res.body?.cancel();
    // 4xx but 408: the desk refuses this request, sending it again will not help
    const permanent = res.status >= 400 && res.status < 500 && res.status !== 408;
    return new DeskHttpError(
      permanent ? 'desk_refused' : 'desk_unreachable',
      `${url.host} answered ${res.status} to ${url.pathname}`,
      permanent,
      undefined,
      res.status,
    );
  }

  /** A JSON call to the desk's API; the answer's JSON (undefined for an empty body). */
  async json<T>(method: string, pathOrUrl: string, body?: unknown): Promise<T> {
    const url = this.own(pathOrUrl);
    const res = await this.fetch(
      url,
      {
        method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      },
      true,
    );
    if (!res.ok) throw await DeskHttp.refusal(url, res);
    const text = await res.text();
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      // a proxy's or a maintenance page's HTML: the desk is not answering as its API (never the text: it may hold anything)
      throw new DeskHttpError(
        'desk_unreachable',
        `${url.host} answered ${url.pathname} with no JSON`,
        false,
        undefined,
        res.status,
      );
    }
  }

  /**
   * Downloads a file of at most `maxBytes`, following redirects; a hop off the desk's
   * origin (its file storage) is sent without credentials.
   */
  async download(contentUrl: string, maxBytes: number): Promise<Buffer> {
    let url = new URL(contentUrl, this.options.baseUrl);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const res = await this.fetch(url, { method: 'GET' }, url.origin === this.origin);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        url = new URL(location, url);
        continue;
      }
      if (!res.ok) throw await DeskHttp.refusal(url, res);
      return readCapped(res, maxBytes, url.host);
    }
    throw new DeskHttpError('desk_refused', `more than ${MAX_REDIRECTS} redirects for ${contentUrl}`, true);
  }
}

/** Reads a body, stopping (and refusing) as soon as it passes `maxBytes`. */
async function readCapped(res: Response, maxBytes: number, host: string): Promise<Buffer> {
  const tooLarge = (): DeskHttpError =>
    new DeskHttpError('too_large', `the file from ${host} is larger than ${maxBytes} bytes`, true);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let length = 0;
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks, length);
}
