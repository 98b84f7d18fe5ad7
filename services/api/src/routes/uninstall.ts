import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ENV_PATTERN, Job, NAME_PATTERN } from '@certfleet/contract';
import { Type } from 'typebox';
import { principalOf } from '../auth.js';
import { errors } from '../schemas.js';
import { submitUninstall } from '../uninstall-service.js';
import type { RouteOptions } from './jobs.js';

/** `POST /v1/environments/:env/certificates/:name/uninstall` (README: Uninstall). */
export async function uninstallRoutes(
  scope: FastifyInstance,
  { deps, limited }: RouteOptions,
): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/v1/environments/:env/certificates/:name/uninstall',
    {
      config: { roles: ['operator'], ...limited },
      schema: {
        tags: ['jobs'],
        summary: 'Submit an uninstall job: remove a certificate from every front-end of an environment',
        description:
          'Answers a job (action uninstall) pending approval, approved like any job (four eyes, bound to the ' +
          "plan hash: the environment's hosts and the certificate and files it removes). Once it completes, " +
          'the registry entry, the retained secret and the installed-hosts records are gone. 404 when the ' +
          'environment or the certificate is unknown (also after a finished uninstall), 409 while an ' +
          'uninstall of it is open.',
        params: Type.Object(
          { env: Type.String({ pattern: ENV_PATTERN }), name: Type.String({ pattern: NAME_PATTERN }) },
          { additionalProperties: false },
        ),
        response: { 201: Job, ...errors(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const { env, name } = request.params;
      const job = await submitUninstall(deps, principalOf(request).name, env, name);
      return reply.status(201).send(job);
    },
  );
}
