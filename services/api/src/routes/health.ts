import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { createMetricsRegistry } from '../metrics.js';
import type { RouteOptions } from './jobs.js';

/** Liveness, readiness and Prometheus metrics. */
export async function healthRoutes(scope: FastifyInstance, { deps }: RouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();

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

  const registry = createMetricsRegistry(deps.store, deps.queues, {
    environments: () => deps.inventory().environments.map((e) => e.name),
    clock: deps.clock ?? (() => new Date()),
  });
  app.get(
    '/metrics',
    { schema: { tags: ['health'], summary: 'Prometheus metrics (fleet-wide job metrics and this process)' } },
    async (_request, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );
}
