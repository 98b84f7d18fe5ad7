import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Inventory } from '@certfleet/inventory';
import { ApiError, notFound } from '../errors.js';
import { createMetricsRegistry } from '../metrics.js';
import { AuditList, AuditQuery, EnvironmentList, errors } from '../schemas.js';
import type { RouteOptions } from './jobs.js';

function describeEnvironments(inventory: Inventory): {
  name: string;
  platform: string;
  installDir: string;
  frontEnds: { name: string; host: string; port: number }[];
}[] {
  return inventory.environments.map((e) => ({
    name: e.name,
    platform: e.platform,
    installDir: e.installDir,
    frontEnds: e.frontEnds.map((fe) => ({ name: fe.name, host: fe.host, port: fe.port })),
  }));
}

/** Environments, audit, inventory reload, health and metrics. */
export async function adminRoutes(scope: FastifyInstance, { deps, limited }: RouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/environments',
    {
      config: { roles: ['operator', 'approver'] },
      schema: {
        tags: ['environments'],
        summary: 'Environments, their front-ends and the certificates installed there',
        response: { 200: EnvironmentList, ...errors(401, 403) },
      },
    },
    async () =>
      Promise.all(
        describeEnvironments(deps.inventory()).map(async (env) => ({
          ...env,
          certificates: await deps.store.getEnvCertificates(env.name),
        })),
      ),
  );

  app.post(
    '/v1/inventory/reload',
    {
      config: { roles: ['admin'], ...limited },
      schema: {
        tags: ['environments'],
        summary: 'Re-read the inventory file (every worker is told to as well)',
        description: 'A bad file is refused (422 inventory_invalid) and the old inventory stays in force.',
        response: { 200: EnvironmentList, ...errors(401, 403, 422, 429, 503) },
      },
    },
    async () => {
      if (!deps.reloadInventory)
        throw new ApiError(503, 'unavailable', 'this instance cannot reload its inventory');
      try {
        return describeEnvironments(await deps.reloadInventory());
      } catch (err) {
        throw new ApiError(
          422,
          'inventory_invalid',
          `the inventory was not reloaded, the old one stays in force: ${(err as Error).message}`,
        );
      }
    },
  );

  app.get(
    '/v1/audit',
    {
      config: { roles: ['approver'] },
      schema: {
        tags: ['audit'],
        summary: 'The audit trail: who did what, when, to which job',
        querystring: AuditQuery,
        response: { 200: AuditList, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { job, limit } = request.query;
      if (job && !(await deps.store.getRecord(job))) throw notFound(`no job ${job}`);
      return { items: await deps.store.readAudit(job, limit ? Number(limit) : 500) };
    },
  );

  app.get('/healthz', { schema: { tags: ['health'], summary: 'The process is alive' } }, async () => ({
    status: 'ok',
  }));
  app.get(
    '/readyz',
    { schema: { tags: ['health'], summary: 'Redis answers (503 when it does not)' } },
    async (_request, reply) => {
      const unavailable = (): unknown =>
        reply.status(503).send({ error: 'unavailable', message: 'Redis does not answer' });
      // A client that is reconnecting queues commands: answer at once instead of waiting with them.
      if (deps.redis.status !== 'ready') return unavailable();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), 1000);
      });
      try {
        const answer = await Promise.race([deps.redis.ping(), timeout]);
        return answer === 'PONG' ? { status: 'ready' } : unavailable();
      } catch {
        return unavailable();
      } finally {
        clearTimeout(timer);
      }
    },
  );

  const registry = createMetricsRegistry(deps.store, deps.queues);
  app.get(
    '/metrics',
    { schema: { tags: ['health'], summary: 'Prometheus metrics (fleet-wide job metrics and this process)' } },
    async (_request, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );
}
