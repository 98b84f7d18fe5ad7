import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';
import { EnvironmentSummaryList, ReconcileAccepted, RepairsNeeded } from '@certfleet/contract';
import { JobName, reconcileJobId } from '@certfleet/jobs';
import { errors } from '../schemas.js';
import { describeEnvironments } from './environments.js';
import type { RouteOptions } from './jobs.js';

/** Admin-only routes: the inventory reload, and reconcile on demand. */
export async function adminRoutes(scope: FastifyInstance, { deps, limited }: RouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/v1/inventory/reload',
    {
      config: { roles: ['admin'], ...limited },
      schema: {
        tags: ['environments'],
        summary: 'Re-read the inventory file (every worker is told to as well)',
        description: 'A bad file is refused (422 inventory_invalid) and the old inventory stays in force.',
        response: { 200: EnvironmentSummaryList, ...errors(401, 403, 422, 429, 503) },
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

  // Reconcile (README: Keeping environments right).
  app.post(
    '/v1/reconcile',
    {
      config: { roles: ['admin'], ...limited },
      schema: {
        tags: ['environments'],
        summary: 'Compare every environment with its certificates now, and ask for the repairs it needs',
        description:
          'Queues a reconcile run (it also runs after every inventory reload and every FLEET_RECONCILE_INTERVAL).',
        response: { 202: ReconcileAccepted, ...errors(401, 403, 429, 503) },
      },
    },
    async (_request, reply) => {
      const payload = { trigger: 'manual' as const, requestedAt: new Date().toISOString() };
      try {
        await deps.queues.add(JobName.Reconcile, payload);
      } catch {
        throw new ApiError(503, 'unavailable', 'the queue is unreachable; ask again in a moment');
      }
      return reply.status(202).send({ id: reconcileJobId(payload) });
    },
  );

  app.get(
    '/v1/reconcile',
    {
      config: { roles: ['operator', 'approver'] },
      schema: {
        tags: ['environments'],
        summary: 'Repairs that need a new submission (the environment keeps no secret to install again)',
        response: { 200: RepairsNeeded, ...errors(401, 403) },
      },
    },
    async () => {
      const items = [];
      for (const env of deps.inventory().environments) {
        for (const n of await deps.store.repairs.listNeeded(env.name))
          items.push({ environment: env.name, ...n });
      }
      return { items };
    },
  );
}
