import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';
import { EnvironmentSummaryList } from '@certfleet/contract';
import { errors } from '../schemas.js';
import { describeEnvironments } from './environments.js';
import type { RouteOptions } from './jobs.js';

/** Admin-only routes: the inventory reload. */
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
}
