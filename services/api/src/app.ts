import { firstErrorLine } from '@certfleet/contract';
import type { FleetConfig } from '@certfleet/config';
import type { Inventory } from '@certfleet/inventory';
import type { FleetQueues, RedisClient } from '@certfleet/jobs';
import type { FleetStore } from '@certfleet/store';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { fileURLToPath } from 'node:url';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { authPlugin } from './auth.js';
import { discardRest } from './discard-body.js';
import { ApiError } from './errors.js';
import {
  clientErrorHandler,
  codeForStatus,
  frameworkErrorsHandler,
  messageForStatus,
  RouteRoles,
} from './http-errors.js';
import type { Principal } from './principals.js';
import { adminRoutes } from './routes/admin.js';
import { auditRoutes } from './routes/audit.js';
import { BOARD_PATH, boardRoutes, boardToken } from './routes/board.js';
import { checkRoutes } from './routes/checks.js';
import { doctorRoutes } from './routes/doctor.js';
import { environmentRoutes } from './routes/environments.js';
import { expiryRoutes } from './routes/expiry.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { uninstallRoutes } from './routes/uninstall.js';
import { webhookRoutes } from './webhook-route.js';
import { adapterRoutes, intakeLinkRoutes } from './adapter-route.js';
import type { HelpdeskAdapters } from '@certfleet/helpdesk';
import { commonErrorStatuses, errors } from './schemas.js';

export interface ApiDeps {
  config: FleetConfig;
  store: FleetStore;
  queues: FleetQueues;
  redis: RedisClient;
  inventory: () => Inventory;
  principals: () => readonly Principal[];
  /** Re-reads the inventory (and tells the workers to); throws with the reason when the file is bad. */
  reloadInventory?: () => Promise<Inventory>;
  /** The clock of the expiry check, its metric and maintenance windows; the system clock when absent (tests give their own). */
  clock?: () => Date;
  // Help desks (README: Help desks).
  /** The configured help desk instances and where customers reach the password page; absent, none. */
  helpdesk?: { adapters: HelpdeskAdapters; publicUrl: () => string };
}

export interface BuildOptions {
  /** Passed to Fastify: `loggerInstance` or `logger`. */
  fastify?: FastifyServerOptions;
}

/** Builds the API; never listens (main.ts does). */
export async function buildApp(deps: ApiDeps, options: BuildOptions = {}): Promise<FastifyInstance> {
  const routes = new RouteRoles();
  const app = Fastify({
    ...options.fastify,
    // What the HTTP layer refuses answers in the contract's shape too (README: API).
    clientErrorHandler,
    frameworkErrors: frameworkErrorsHandler({
      routes,
      principals: deps.principals,
      boardPath: BOARD_PATH,
      boardToken,
    }),
    // Base64 of the largest PFX, plus room for CA certificates and the rest of the body.
    bodyLimit: Math.ceil((deps.config.maxPfxBytes * 4) / 3) + 512 * 1024,
    // Long path parameters reach authentication and the schema (401, then 400); past this, 414 after authentication.
    routerOptions: { maxParamLength: 8192 },
    // SIGTERM must not wait for idle keep-alive or half-open connections (load balancer checks).
    forceCloseConnections: 'idle',
    ajv: {
      // Unknown fields are refused with 400, never dropped; no silent type coercion.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setErrorHandler(async (err: FastifyError, request, reply) => {
    // The client may still be sending (a 3 MiB file on a 413): read it first, then answer.
    await discardRest(request.raw);
    if (err instanceof ApiError) {
      return reply.status(err.statusCode).send({ error: err.code, message: err.message });
    }
    if (err.validation) {
      const root = err.validationContext ?? 'request';
      return reply
        .status(400)
        .send({ error: 'invalid_request', message: firstErrorLine(err.validation, { root }) });
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const message = messageForStatus(
        status,
        err.message,
        app.initialConfig.bodyLimit ?? 0,
        deps.config.maxPfxBytes,
      );
      return reply.status(status).send({ error: codeForStatus(status), message });
    }
    request.log.error({ err }, 'request failed');
    return reply.status(status >= 500 ? status : 500).send({
      error: status === 503 ? 'unavailable' : 'internal',
      message: 'certfleet could not complete the request; see the server log',
    });
  });
  // Only JSON bodies: text/plain is 415 unsupported_media_type like any other type.
  app.removeContentTypeParser('text/plain');
  app.setNotFoundHandler(async (request, reply) => {
    await discardRest(request.raw);
    return reply
      .status(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  app.addHook('onRoute', (route) => {
    routes.add(route.method, route.url, route.config?.roles);
    // Every documented route lists the errors any route can answer, so none can forget one.
    route.schema ??= {};
    const schema = route.schema as { hide?: boolean; response?: Record<string, unknown> };
    if (schema.hide) return;
    const common = commonErrorStatuses({
      method: route.method,
      url: route.url,
      roles: route.config?.roles,
      limited: route.config?.rateLimit !== undefined,
    });
    schema.response = { ...errors(...common), ...schema.response };
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'certfleet',
        version: '0.1.0',
        description:
          'Installs client certificates on every front-end of an environment. Errors are ' +
          '`{ "error": "<code>", "message": "<what to do>" }`; see the README for every code.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
      tags: [
        { name: 'jobs', description: 'Install jobs: submit, approve, reject, retry, read' },
        { name: 'webhooks', description: 'Signed ticket-system webhooks' },
        { name: 'environments', description: 'Inventory and installed certificates' },
        { name: 'audit', description: 'Who did what' },
        { name: 'health', description: 'Liveness, readiness and metrics (no token)' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(authPlugin, { principals: deps.principals });
  // Per principal, across every API instance (the counters live in Redis); GETs are not limited.
  await app.register(rateLimit, {
    global: false,
    redis: deps.redis,
    nameSpace: deps.store.keys.rateLimit,
    hook: 'preHandler',
    keyGenerator: (request) => request.principal?.name ?? `ip:${request.ip}`,
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        429,
        'rate_limited',
        `more than ${context.max} changes a minute; try again in ${context.after}`,
      ),
  });
  const limited = { rateLimit: { max: deps.config.rateLimit, timeWindow: 60_000 } };

  await app.register(jobRoutes, { deps, limited });
  await app.register(environmentRoutes, { deps, limited });
  await app.register(adminRoutes, { deps, limited });
  await app.register(auditRoutes, { deps, limited });
  await app.register(healthRoutes, { deps, limited });
  await app.register(doctorRoutes, { deps, limited });
  await app.register(checkRoutes, { deps, limited });
  await app.register(expiryRoutes, { deps, limited });
  await app.register(webhookRoutes, { deps, limited });
  await app.register(uninstallRoutes, { deps, limited });
  await app.register(boardRoutes, { deps });
  // Help desks (README: Help desks).
  await app.register(adapterRoutes, { deps, limited });
  await app.register(intakeLinkRoutes, { deps, limited });

  // The approval page: static files, no build step; it calls the API with the user's token.
  await app.register(fastifyStatic, {
    root: fileURLToPath(new URL('../ui/', import.meta.url)),
    prefix: '/ui/',
    index: ['index.html'],
    // The page's assets only: the type-checking files beside them (tsconfig.json, *.d.ts) are not served.
    allowedPath: (pathName) => pathName.endsWith('/') || /\.(?:html|css|js)$/.test(pathName),
    setHeaders: (res) => {
      res.header(
        'content-security-policy',
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
      );
      res.header('x-content-type-options', 'nosniff');
      res.header('referrer-policy', 'no-referrer');
    },
  });
  app.get('/ui', async (_request, reply) => reply.redirect('/ui/'));

  return app;
}
