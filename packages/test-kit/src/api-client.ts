/** An HTTP client for a certfleet API, as the tests and the demo use it. */
import { isFinalStatus } from '@certfleet/store';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface ApiClient {
  url: string;
  request(
    principal: string | null,
    method: string,
    route: string,
    body?: unknown,
  ): Promise<{ status: number; body: Json }>;
  /** GET /v1/jobs/:id, which must answer 200. */
  getJob(id: string): Promise<Json>;
  /** Polls the job until `until(job)` holds (default: a final status). */
  waitForJob(
    id: string,
    options?: {
      until?: (job: Json) => boolean;
      timeoutMs?: number;
      intervalMs?: number;
      /** Called with the job each time its status or a target changed. */
      onUpdate?: (job: Json) => void;
    },
  ): Promise<Json>;
  /** Resolves once GET /healthz answers 200. */
  waitUntilUp(timeoutMs?: number): Promise<void>;
}

export function apiClient(url: string, tokens: Record<string, string>, reader = 'bob'): ApiClient {
  const request: ApiClient['request'] = async (principal, method, route, body) => {
    const headers: Record<string, string> = {};
    if (principal) headers['authorization'] = `Bearer ${tokens[principal] ?? principal}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${route}`, {
      method,
      headers,
      signal: AbortSignal.timeout(15_000),
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  };
  const getJob = async (id: string): Promise<Json> => {
    const { status, body } = await request(reader, 'GET', `/v1/jobs/${id}`);
    if (status !== 200) throw new Error(`GET /v1/jobs/${id} answered ${status}: ${JSON.stringify(body)}`);
    return body;
  };
  return {
    url,
    request,
    getJob,
    async waitForJob(id, options = {}) {
      const {
        until = (job: Json) => isFinalStatus(job.status),
        timeoutMs = 60_000,
        intervalMs = 100,
        onUpdate,
      } = options;
      const deadline = Date.now() + timeoutMs;
      let job: Json;
      let last = '';
      for (;;) {
        job = await getJob(id);
        const snapshot = JSON.stringify(job.targets) + job.status;
        if (snapshot !== last) onUpdate?.(job);
        last = snapshot;
        if (until(job)) return job;
        if (Date.now() > deadline) {
          const targets = (job.targets as Json[]).map((t) => `${t.id}=${t.status}`).join(' ');
          throw new Error(`job ${id} is ${job.status} (${targets}) after ${timeoutMs} ms`);
        }
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    },
    async waitUntilUp(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) })
          .then((r) => r.status === 200)
          .catch(() => false);
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`${url} did not answer /healthz within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}
