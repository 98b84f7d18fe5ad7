import type { FleetConfig } from '@certfleet/config';
import type { Inventory } from '@certfleet/inventory';
import type { FleetQueues } from '@certfleet/jobs';
import type { FleetStore } from '@certfleet/store';
import { isValidCursor } from '@certfleet/store';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Redis } from 'ioredis';
import { authPlugin, principalOf } from './auth.js';
import { ApiError, invalid, notFound } from './errors.js';
import { approveJob, rejectJob, retryJob, submitJob } from './jobs-service.js';
import { webhookRoutes } from './webhook-route.js';
import type { Principal } from './principals.js';
import { AuditQuery, JobParams, ListQuery, RejectBody, SubmitBody } from './schemas.js';
import rateLimit from '@fastify/rate-limit';

export interface ApiDeps {
  config: FleetConfig;
  store: FleetStore;
  queues: FleetQueues;
  redis: Redis;
  inventory: () => Inventory;
  principals: () => readonly Principal[];
  /** Re-reads the inventory (and tells the workers to); throws with the reason when the file is bad. */
  reloadInventory?: () => Promise<Inventory>;
}

export interface BuildOptions {
  /** Passed to Fastify: `loggerInstance` or `logger`. */
  fastify?: FastifyServerOptions;
}

const STATUS_CODES: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'invalid_request',
  406: 'invalid_request',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'invalid_request',
  429: 'rate_limited',
};

/** Builds the API; never listens (main.ts does). */
export async function buildApp(deps: ApiDeps, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...options.fastify,
    // Base64 of the largest PFX, plus room for CA certificates and the rest of the body.
    bodyLimit: Math.ceil((deps.config.maxPfxBytes * 4) / 3) + 512 * 1024,
    ajv: {
      // Unknown fields are refused with 400, never dropped; no silent type coercion.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof ApiError) {
      return reply.status(err.statusCode).send({ error: err.code, message: err.message });
    }
    if (err.validation) {
      const first = err.validation[0];
      const where =
        (first?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.') || err.validationContext;
      let message = first?.message ?? 'is not valid';
      if (first?.keyword === 'additionalProperties') {
        message = `unknown field '${String((first.params as { additionalProperty?: string }).additionalProperty)}'`;
      }
      return reply.status(400).send({ error: 'invalid_request', message: `${where}: ${message}` });
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const message =
        status === 413
          ? `the request is larger than ${app.initialConfig.bodyLimit} bytes; the PFX may hold at most ${deps.config.maxPfxBytes} bytes`
          : err.message;
      return reply.status(status).send({ error: STATUS_CODES[status] ?? 'invalid_request', message });
    }
    request.log.error({ err }, 'request failed');
    return reply.status(status >= 500 ? status : 500).send({
      error: status === 503 ? 'unavailable' : 'internal',
      message: 'certfleet could not complete the request; see the server log',
    });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  await app.register(authPlugin, { principals: deps.principals });
  // Per principal, across every API instance (the counters live in Redis); GETs are not limited.
  await app.register(rateLimit, {
    global: false,
    redis: deps.redis,
    nameSpace: `{${deps.config.prefix}}:ratelimit:`,
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

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await deps.redis.ping();
      return { status: 'ready' };
    } catch {
      return reply.status(503).send({ error: 'unavailable', message: 'Redis does not answer' });
    }
  });

  app.post(
    '/v1/jobs',
    { config: { roles: ['operator'], ...limited }, schema: { body: SubmitBody } },
    async (request, reply) => {
      const job = await submitJob(deps, principalOf(request).name, request.body, 'api');
      return reply.status(201).send(job);
    },
  );

  app.get(
    '/v1/jobs',
    { config: { roles: ['operator', 'approver'] }, schema: { querystring: ListQuery } },
    async (request) => {
      const { status, ticket, limit, cursor } = request.query;
      if (cursor !== undefined && !isValidCursor(cursor))
        throw invalid('cursor: not a cursor this API gave out');
      const result = await deps.store.listJobs({
        limit: limit ? Number(limit) : 50,
        ...(status ? { status } : {}),
        ...(ticket ? { ticket } : {}),
        ...(cursor ? { cursor } : {}),
      });
      return { items: result.items, nextCursor: result.nextCursor };
    },
  );

  app.get(
    '/v1/jobs/:id',
    { config: { roles: ['operator', 'approver'] }, schema: { params: JobParams } },
    async (request) => {
      const job = await deps.store.getJob(request.params.id);
      if (!job) throw notFound(`no job ${request.params.id}`);
      return job;
    },
  );

  app.post(
    '/v1/jobs/:id/approve',
    { config: { roles: ['approver'], ...limited }, schema: { params: JobParams } },
    async (request, reply) => {
      const job = await approveJob(deps, principalOf(request).name, request.params.id);
      return reply.status(202).send(job);
    },
  );

  app.post(
    '/v1/jobs/:id/reject',
    { config: { roles: ['approver'], ...limited }, schema: { params: JobParams, body: RejectBody } },
    async (request) => rejectJob(deps, principalOf(request).name, request.params.id, request.body.reason),
  );

  app.post(
    '/v1/jobs/:id/retry',
    { config: { roles: ['operator'], ...limited }, schema: { params: JobParams } },
    async (request, reply) => {
      const job = await retryJob(deps, principalOf(request).name, request.params.id);
      return reply.status(202).send(job);
    },
  );

  app.get(
    '/v1/audit',
    { config: { roles: ['approver'] }, schema: { querystring: AuditQuery } },
    async (request) => {
      const { job, limit } = request.query;
      if (job && !(await deps.store.getRecord(job))) throw notFound(`no job ${job}`);
      return { items: await deps.store.readAudit(job, limit ? Number(limit) : 500) };
    },
  );

  app.post('/v1/inventory/reload', { config: { roles: ['admin'], ...limited } }, async () => {
    if (!deps.reloadInventory)
      throw new ApiError(503, 'unavailable', 'this instance cannot reload its inventory');
    let inventory: Inventory;
    try {
      inventory = await deps.reloadInventory();
    } catch (err) {
      throw new ApiError(
        422,
        'inventory_invalid',
        `the inventory was not reloaded, the old one stays in force: ${(err as Error).message}`,
      );
    }
    return inventory.environments.map((e) => ({
      name: e.name,
      platform: e.platform,
      installDir: e.installDir,
      frontEnds: e.frontEnds.map((fe) => ({ name: fe.name, host: fe.host, port: fe.port })),
    }));
  });

  await app.register(webhookRoutes, { deps, limited });

  app.get('/v1/environments', { config: { roles: ['operator', 'approver'] } }, async () => {
    const inventory = deps.inventory();
    return Promise.all(
      inventory.environments.map(async (env) => ({
        name: env.name,
        platform: env.platform,
        installDir: env.installDir,
        frontEnds: env.frontEnds.map((fe) => ({ name: fe.name, host: fe.host, port: fe.port })),
        certificates: await deps.store.getEnvCertificates(env.name),
      })),
    );
  });

  return app;
}
