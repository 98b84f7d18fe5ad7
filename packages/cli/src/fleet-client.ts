import { ApiRequestError } from './api-request-error.js';
import type {
  AuditEntry,
  DoctorReport,
  DriftCheck,
  DriftCheckStarted,
  EnvironmentView,
  ExpiryCheckAccepted,
  Job,
  JobList,
  ListJobsQuery,
  ReconcileAccepted,
  RepairsNeeded,
  SubmitRequest,
} from './api-types.js';
import { ConnectionError } from './connection-error.js';

export interface FleetClientOptions {
  /** The API's base URL, e.g. `https://certfleet.internal` (a path prefix is kept). */
  url: string;
  /** Bearer token. */
  token: string;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** How long one request may take; default 30 000 ms. */
  timeoutMs?: number;
}

const DEFAULTS = { timeoutMs: 30_000 };

/** The certfleet HTTP API, one method per route fleetctl uses. Errors are `ApiRequestError` or `ConnectionError`. */
export class FleetClient {
  readonly url: string;
  private readonly options: Required<Omit<FleetClientOptions, 'fetch'>> & { fetch: typeof fetch };

  constructor(options: FleetClientOptions) {
    this.options = { ...DEFAULTS, fetch: globalThis.fetch, ...options };
    this.url = options.url.replace(/\/+$/, '');
  }

  submit(body: SubmitRequest): Promise<Job> {
    return this.call('POST', '/v1/jobs', body);
  }

  getJob(id: string): Promise<Job> {
    return this.call('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  }

  listJobs(query: ListJobsQuery = {}): Promise<JobList> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) params.set(key, String(value));
    }
    const qs = params.toString();
    return this.call('GET', `/v1/jobs${qs ? `?${qs}` : ''}`);
  }

  approve(id: string): Promise<Job> {
    return this.call('POST', `/v1/jobs/${encodeURIComponent(id)}/approve`);
  }

  reject(id: string, reason: string): Promise<Job> {
    return this.call('POST', `/v1/jobs/${encodeURIComponent(id)}/reject`, { reason });
  }

  /** Maintenance windows: an admin starts a scheduled job at once. */
  startNow(id: string, reason: string): Promise<Job> {
    return this.call('POST', `/v1/jobs/${encodeURIComponent(id)}/start-now`, { reason });
  }

  retry(id: string): Promise<Job> {
    return this.call('POST', `/v1/jobs/${encodeURIComponent(id)}/retry`);
  }

  uninstall(env: string, name: string): Promise<Job> {
    return this.call(
      'POST',
      `/v1/environments/${encodeURIComponent(env)}/certificates/${encodeURIComponent(name)}/uninstall`,
    );
  }

  /** Canary rollout: the targets after the verified canaries go on (role approver, not the submitter). */
  continue(id: string): Promise<Job> {
    return this.call('POST', `/v1/jobs/${encodeURIComponent(id)}/continue`);
  }

  /** Asks for a rollback of a certificate to its previous version: a job pending approval. */
  rollback(environment: string, name: string): Promise<Job> {
    return this.call(
      'POST',
      `/v1/environments/${encodeURIComponent(environment)}/certificates/${encodeURIComponent(name)}/rollback`,
    );
  }

  environments(): Promise<EnvironmentView[]> {
    return this.call('GET', '/v1/environments');
  }

  doctor(environment: string): Promise<DoctorReport> {
    return this.call('POST', `/v1/environments/${encodeURIComponent(environment)}/doctor`);
  }

  startCheck(environment: string): Promise<DriftCheckStarted> {
    return this.call('POST', `/v1/environments/${encodeURIComponent(environment)}/check`);
  }

  latestCheck(environment: string): Promise<DriftCheck> {
    return this.call('GET', `/v1/environments/${encodeURIComponent(environment)}/check`);
  }

  /** Runs the expiry watch now (admin). */
  expiryCheck(): Promise<ExpiryCheckAccepted> {
    return this.call('POST', '/v1/expiry/check');
  }

  /** Queues a reconcile run (admin). */
  reconcile(): Promise<ReconcileAccepted> {
    return this.call('POST', '/v1/reconcile');
  }

  /** The repairs that wait for a new submission. */
  repairsNeeded(): Promise<RepairsNeeded> {
    return this.call('GET', '/v1/reconcile');
  }

  audit(jobId: string): Promise<{ items: AuditEntry[] }> {
    return this.call('GET', `/v1/audit?job=${encodeURIComponent(jobId)}`);
  }

  private async call<T>(method: string, route: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.token}`,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let text: string;
    let res: Response;
    try {
      res = await this.options.fetch(`${this.url}${route}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw new ConnectionError(this.url, connectionReason(err, this.options.timeoutMs));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      if (isErrorBody(parsed)) throw new ApiRequestError(res.status, parsed.error, parsed.message);
      throw new ApiRequestError(
        res.status,
        `http_${res.status}`,
        `${this.url} answered ${`${res.status} ${res.statusText}`.trim()} without a certfleet error; is it the certfleet API?`,
      );
    }
    if (parsed === undefined) {
      throw new ApiRequestError(
        res.status,
        'bad_response',
        `${this.url} answered ${res.status} with something other than JSON; is it the certfleet API?`,
      );
    }
    return parsed as T;
  }
}

function isErrorBody(value: unknown): value is { error: string; message: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { error?: unknown }).error === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** fetch hides the socket error in `cause` (an AggregateError when several addresses were tried). */
export function connectionReason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  }
  const cause = err instanceof Error ? err.cause : undefined;
  const first = cause instanceof AggregateError ? cause.errors[0] : cause;
  const code = (first as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  if (first instanceof Error) return first.message;
  return err instanceof Error ? err.message : String(err);
}
