import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { DriftCheck, DriftCheckStarted, ENV_PATTERN } from '@certfleet/contract';
import { findEnvironment } from '@certfleet/inventory';
import { JobName } from '@certfleet/jobs';
import { Type } from 'typebox';
import { principalOf } from '../auth.js';
import { notFound } from '../errors.js';
import { errors } from '../schemas.js';
import type { RouteOptions } from './jobs.js';

const EnvParams = Type.Object({ env: Type.String({ pattern: ENV_PATTERN }) });

/** `POST` and `GET /v1/environments/:env/check`: the drift check, on demand and its latest result. */
export async function checkRoutes(scope: FastifyInstance, { deps, limited }: RouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/v1/environments/:env/check',
    {
      config: { roles: ['approver'], ...limited },
      schema: {
        tags: ['environments'],
        summary: 'Start a drift check of every front-end of an environment (changes nothing on the hosts)',
        description:
          "Queues a check of every front-end against the environment's registry: per certificate ok, " +
          'missing, different or unreachable. One check runs per environment: while one runs, this answers ' +
          '202 with its id and alreadyRunning: true. Read the result with GET on the same path.',
        params: EnvParams,
        response: { 202: DriftCheckStarted, ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const env = findEnvironment(deps.inventory(), request.params.env);
      if (env === undefined) throw notFound(`no environment '${request.params.env}' in the inventory`);
      const actor = principalOf(request).name;
      const begun = await deps.store.driftChecks.begin({
        environment: env.name,
        trigger: 'api',
        requestedBy: actor,
        total: env.frontEnds.length,
      });
      if (!begun.alreadyRunning) {
        const ref = { id: begun.id, environment: env.name };
        // a check the queue never got must not hold the environment until its marker expires
        await deps.queues
          .add(JobName.DriftCheck, { environment: env.name, checkId: begun.id })
          .catch(async (err: unknown) => {
            await deps.store.driftChecks.finish(ref);
            throw err;
          });
      }
      await deps.store.audit.append({
        actor,
        action: 'drift.check',
        detail: { environment: env.name, checkId: begun.id, alreadyRunning: begun.alreadyRunning },
      });
      return reply.status(202).send({ id: begun.id, alreadyRunning: begun.alreadyRunning });
    },
  );

  app.get(
    '/v1/environments/:env/check',
    {
      config: { roles: ['operator', 'approver'] },
      schema: {
        tags: ['environments'],
        summary: "The environment's latest drift check: hosts × certificates, filled in as hosts finish",
        params: EnvParams,
        response: { 200: DriftCheck, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const check = await deps.store.driftChecks.latest(request.params.env);
      if (!check) throw notFound(`no drift check of '${request.params.env}' yet; start one with POST`);
      return check;
    },
  );
}
