import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Inventory } from '@certfleet/inventory';
import { EnvironmentList, Job, type EnvironmentSummary } from '@certfleet/contract';
import { principalOf } from '../auth.js';
import { requestRollback } from '../rollback-service.js';
import { CertificateParams, errors } from '../schemas.js';
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
export async function environmentRoutes(
  scope: FastifyInstance,
  { deps, limited }: RouteOptions,
): Promise<void> {
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

  // --- rollback (README: Previous version and rollback) ---
  app.post(
    '/v1/environments/:env/certificates/:name/rollback',
    {
      config: { roles: ['operator'], ...limited },
      schema: {
        tags: ['environments'],
        summary: 'Roll a certificate back to its previous version (a job, approved like any other)',
        description:
          'Answers 201 with a job in pending_approval (action: rollback) that installs the previous version ' +
          'of the certificate on every front-end of the environment from its retained secret, and on completion ' +
          'records it as the current one (rolling back twice returns to the newer one). 404: unknown environment ' +
          'or certificate; 409 no_previous_version: none is kept; 409 rollback_open: one is already open.',
        params: CertificateParams,
        response: { 201: Job, ...errors(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const { env, name } = request.params;
      return reply.status(201).send(await requestRollback(deps, principalOf(request).name, env, name));
    },
  );
}
