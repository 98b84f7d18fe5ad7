import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Inventory } from '@certfleet/inventory';
import { EnvironmentList, type EnvironmentSummary } from '@certfleet/contract';
import { errors } from '../schemas.js';
import type { RouteOptions } from './jobs.js';

/** The environments of an inventory as the API shows them (no credentials). */
export function describeEnvironments(inventory: Inventory): EnvironmentSummary[] {
  return inventory.environments.map((e) => ({
    name: e.name,
    platform: e.platform,
    installDir: e.installDir,
    frontEnds: e.frontEnds.map((fe) => ({ name: fe.name, host: fe.host, port: fe.port })),
  }));
}

/** The environments, their front-ends and installed certificates. */
export async function environmentRoutes(scope: FastifyInstance, { deps }: RouteOptions): Promise<void> {
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
          certificates: await deps.store.registry.list(env.name),
        })),
      ),
  );
}
