// @ts-check
// The API client: the bearer token (this tab's sessionStorage only, never the URL or
// localStorage), fetch, and the API's { error, message } answers as ApiError.

/** @import { DriftCheck, DriftCheckStarted, EnvironmentView, ErrorBody, Job, JobList, RejectBody } from './wire-types.js' */

const TOKEN_KEY = 'certfleet.token';

/** The API lives next to /ui/ (works behind a path prefix too). */
const API_BASE = new URL('../', new URL('.', document.baseURI));

/** An answer other than 2xx (or no answer): the API's error code and message, shown as given. */
export class ApiError extends Error {
  /**
   * @param {number} status the HTTP status; 0 when the API did not answer
   * @param {string} code the API's `error` code, or `http_<status>`
   * @param {string} message the API's `message`
   */
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** @returns {string | null} the signed-in token, if any */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Keeps the token for this tab. @param {string} value */
export function saveToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

/** Forgets the token. */
export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** @type {(err: ApiError) => void} */
let unauthorized = () => undefined;

/** Sets what happens when the API answers 401 (the page signs out). @param {(err: ApiError) => void} listener */
export function onUnauthorized(listener) {
  unauthorized = listener;
}

/** @param {string} text @returns {unknown} */
function parseJson(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** @param {unknown} data @returns {data is Partial<Record<keyof ErrorBody, unknown>>} */
function isObject(data) {
  return typeof data === 'object' && data !== null;
}

/**
 * Calls the API with the tab's token; throws an ApiError for anything but 2xx.
 * The answer is the route's response schema: the API serializes through it, so it is trusted here.
 * @template T
 * @param {string} method
 * @param {string} path relative to the API base, e.g. `v1/jobs`
 * @param {unknown} [body] sent as JSON when given
 * @returns {Promise<T>}
 */
async function request(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  const t = token();
  if (t) headers['authorization'] = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(new URL(path, API_BASE), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      redirect: 'error',
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ApiError(0, 'network_error', `the API did not answer (${reason})`);
  }
  const text = await res.text();
  const data = parseJson(text);
  if (!res.ok) {
    const code = isObject(data) && typeof data.error === 'string' ? data.error : `http_${res.status}`;
    const message =
      isObject(data) && typeof data.message === 'string'
        ? data.message
        : text.slice(0, 500) || res.statusText;
    const err = new ApiError(res.status, code, message);
    if (res.status === 401) unauthorized(err);
    throw err;
  }
  return /** @type {T} */ (data);
}

/** `GET /v1/jobs?<query>`. @param {string} query @returns {Promise<JobList>} */
export function listJobs(query) {
  return request('GET', `v1/jobs?${query}`);
}

/** `GET /v1/jobs/:id`. @param {string} id @returns {Promise<Job>} */
export function getJob(id) {
  return request('GET', `v1/jobs/${encodeURIComponent(id)}`);
}

/**
 * `POST /v1/jobs/:id/approve`, `/reject`, `/start-now` or `/continue` (canary); the answer is the job as it is now.
 * @param {string} id
 * @param {'approve' | 'reject' | 'start-now' | 'continue'} action
 * @param {RejectBody} [body] the reason, to reject or to start now
 * @returns {Promise<Job>}
 */
export function decideJob(id, action, body) {
  return request('POST', `v1/jobs/${encodeURIComponent(id)}/${action}`, body);
}

/** `GET /v1/environments`. @returns {Promise<EnvironmentView[]>} */
export function listEnvironments() {
  return request('GET', 'v1/environments');
}

/**
 * `GET /v1/environments/:env/check`: the latest drift check, or null when there is none yet.
 * @param {string} env
 * @returns {Promise<DriftCheck | null>}
 */
export async function latestCheck(env) {
  try {
    return await request('GET', `v1/environments/${encodeURIComponent(env)}/check`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

/** `POST /v1/environments/:env/check` (approvers and admins). @param {string} env @returns {Promise<DriftCheckStarted>} */
export function startCheck(env) {
  return request('POST', `v1/environments/${encodeURIComponent(env)}/check`);
}

/**
 * `POST /v1/environments/:env/certificates/:name/rollback` or `/uninstall` (operator): a job
 * pending approval that puts the previous version back, or removes the certificate.
 * @param {string} env
 * @param {string} name
 * @param {'rollback' | 'uninstall'} change
 * @returns {Promise<Job>}
 */
export function changeCertificate(env, name, change) {
  return request(
    'POST',
    `v1/environments/${encodeURIComponent(env)}/certificates/${encodeURIComponent(name)}/${change}`,
  );
}
