import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ExpiryCheckAccepted } from '@certfleet/contract';
import { expiryWatchJobId, JobName } from '@certfleet/jobs';
import { principalOf } from '../auth.js';
import { newJobId } from '../jobs-service.js';
import { errors } from '../schemas.js';
import type { RouteOptions } from './jobs.js';

/** `POST /v1/expiry/check`: runs the expiry watch now instead of at its daily time. */
export async function expiryRoutes(scope: FastifyInstance, { deps, limited }: RouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/v1/expiry/check',
    {
      config: { roles: ['admin'], ...limited },
      schema: {
        tags: ['environments'],
        summary: 'Run the expiry watch now',
        description:
          'Queues one run of the daily expiry watch, counting days from now. Every certificate that has ' +
          'crossed a FLEET_EXPIRY_WARN_DAYS threshold whose warning was not sent yet gets one ' +
          '`certificate.expiring` report; a warning already sent is never sent again.',
        response: { 202: ExpiryCheckAccepted, ...errors(401, 403, 429) },
      },
    },
    async (request, reply) => {
      const requestId = newJobId();
      const at = (deps.clock?.() ?? new Date()).toISOString();
      await deps.queues.add(JobName.ExpiryWatch, { requestId, at });
      const id = expiryWatchJobId({ requestId });
      await deps.store.audit.append({
        actor: principalOf(request).name,
        action: 'expiry.check',
        detail: { id, at },
      });
      return reply.status(202).send({ id });
    },
  );
}
