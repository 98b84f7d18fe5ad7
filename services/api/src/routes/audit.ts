import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../errors.js';
import { AuditList } from '@certfleet/contract';
import { AuditQuery, errors } from '../schemas.js';
import type { RouteOptions } from './jobs.js';

/** The audit trail. */
export async function auditRoutes(scope: FastifyInstance, { deps }: RouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();

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
      if (job && !(await deps.store.jobs.getRecord(job))) throw notFound(`no job ${job}`);
      return { items: await deps.store.audit.read(job, limit ? Number(limit) : 500) };
    },
  );
}
