/**
 * What the HTTP layer refuses before a route runs, in the contract's shape
 * `{ error, message }`: parser errors on the raw socket (400, 405, 408, 431),
 * bad percent-encoding (400) and over-long path parameters (414), and the
 * status codes of Fastify's own errors (413, 415, …).
 */
import { STATUS_CODES as HTTP_REASONS } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { authorize } from './auth.js';
import { bearerToken } from './authorization-header.js';
import { ApiError } from './errors.js';
import type { Principal, Role } from './principals.js';

/** The contract's code for a status that Fastify or Node.js answers on its own. */
const CODES: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'invalid_request',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  431: 'headers_too_large',
};

/** The error code for an HTTP status (API.md), `invalid_request` for any other 4xx. */
export function codeForStatus(status: number): string {
  return CODES[status] ?? 'invalid_request';
}

/** A readable message for Fastify's own 4xx errors; the rest keep Fastify's message. */
export function messageForStatus(
  status: number,
  fallback: string,
  bodyLimit: number,
  maxPfxBytes: number,
): string {
  if (status === 413) {
    return `the request is larger than ${bodyLimit} bytes; the PFX may hold at most ${maxPfxBytes} bytes`;
  }
  if (status === 415) return 'send the body as JSON with Content-Type: application/json';
  return fallback;
}

/** What the HTTP parser's error means for the client (llhttp codes, Node.js 20). */
function parserRefusal(code: string | undefined): { status: number; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'the request line and headers are larger than the server accepts' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'the request was not received in time' };
    case 'HPE_INVALID_METHOD':
      return { status: 405, message: 'unknown HTTP method; the API answers GET and POST' };
    case 'HPE_INVALID_URL':
      return { status: 400, message: 'the request target is not a valid URL (percent-encode non-ASCII)' };
    case 'HPE_INVALID_HEADER_TOKEN':
      return { status: 400, message: 'a header holds a character HTTP does not allow' };
    default:
      return { status: 400, message: 'the request is not valid HTTP/1.1' };
  }
}

/**
 * Fastify's `clientErrorHandler`: a request the HTTP parser refused, answered
 * in the contract's shape on the raw socket, which is then closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, message } = parserRefusal(err.code);
  const body = JSON.stringify({ error: codeForStatus(status), message });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${HTTP_REASONS[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** The roles each route needs, found from the route definitions (`/v1/jobs/:id`, `/docs/*`). */
export class RouteRoles {
  private readonly routes: { method: string; segments: string[]; roles: readonly Role[] | undefined }[] = [];

  /** Records a route as Fastify's `onRoute` hook sees it. */
  add(method: string | string[], url: string, roles: readonly Role[] | undefined): void {
    for (const m of Array.isArray(method) ? method : [method]) {
      this.routes.push({ method: m.toUpperCase(), segments: url.split('/'), roles });
    }
  }

  /** The roles of the route a raw path would reach; undefined for a public route or none. */
  rolesFor(method: string, rawPath: string): readonly Role[] | undefined {
    const path = rawPath.split('?')[0]!.split('/');
    const matches = (segments: string[]): boolean =>
      segments.every((s, i) =>
        s === '*' ? true : i < path.length && (s.startsWith(':') ? path[i] !== '' : s === path[i]),
      ) &&
      (segments.at(-1) === '*' || segments.length === path.length);
    return this.routes.find((r) => r.method === method && matches(r.segments))?.roles;
  }
}

export interface FrameworkErrorOptions {
  routes: RouteRoles;
  principals: () => readonly Principal[];
  /** Paths under it need the admin role, with the board's own sign-in (bearer or Basic). */
  boardPath: string;
  boardToken: (header: string | undefined) => string | undefined;
}

/**
 * Fastify's `frameworkErrors`: a bad percent-encoding (400) or an over-long
 * path parameter (414) on a route that exists. Authentication answers first,
 * as on every route (401, then 403, then the request's own fault).
 */
export function frameworkErrorsHandler(options: FrameworkErrorOptions) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const url = request.raw.url ?? '/';
    const method = request.raw.method ?? 'GET';
    const board = url === options.boardPath || url.startsWith(`${options.boardPath}/`);
    const roles: readonly Role[] | undefined = board ? ['admin'] : options.routes.rolesFor(method, url);
    const header = request.headers.authorization;
    let refusal: ApiError;
    try {
      if (roles)
        authorize(options.principals(), board ? options.boardToken(header) : bearerToken(header), roles);
      refusal =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new ApiError(414, 'uri_too_long', 'a path segment is longer than the server accepts')
          : new ApiError(400, 'invalid_request', 'the path holds an invalid percent-encoding');
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      refusal = err;
    }
    void reply.status(refusal.statusCode).send({ error: refusal.code, message: refusal.message });
  };
}
