import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { isValidCursor } from '@certfleet/store';
import type { ApiDeps } from '../app.js';
import { principalOf } from '../auth.js';
import { invalid, notFound } from '../errors.js';
import { approveJob, continueJob, rejectJob, retryJob, startNowJob, submitJob } from '../jobs-service.js';
import { Job, JobList, RejectBody, StartNowBody, SubmitBody } from '@certfleet/contract';
import { JobParams, ListQuery, errors } from '../schemas.js';

export interface RouteOptions {
  deps: ApiDeps;
  limited: { rateLimit: { max: number; timeWindow: number } };
}

/** Submit, read, list, approve, reject, retry and continue jobs. */
export async function jobRoutes(scope: FastifyInstance, { deps, limited }: RouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['jobs'];

  app.post(
    '/v1/jobs',
    {
      config: { roles: ['operator'], ...limited },
      schema: {
        tags,
        summary: 'Submit an install job',
        description:
          'Inspects the PFX, resolves every environment to its front-ends and answers with the plan. ' +
          'Nothing is queued until another person approves it.',
        body: SubmitBody,
        response: { 201: Job, ...errors(400, 401, 403, 409, 413, 422, 429) },
      },
    },
    async (request, reply) => {
      const job = await submitJob(deps, principalOf(request).name, request.body, 'api');
      return reply.status(201).send(job);
    },
  );

  app.get(
    '/v1/jobs',
    {
      config: { roles: ['operator', 'approver'] },
      schema: {
        tags,
        summary: 'List jobs, newest first',
        querystring: ListQuery,
        response: { 200: JobList, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const { status, ticket, source, limit, cursor } = request.query;
      if (cursor !== undefined && !isValidCursor(cursor))
        throw invalid('cursor: not a cursor this API gave out');
      return deps.store.jobs.list({
        limit: limit ? Number(limit) : 50,
        ...(status ? { status } : {}),
        ...(ticket ? { ticket } : {}),
        ...(source ? { source } : {}),
        ...(cursor ? { cursor } : {}),
      });
    },
  );

  app.get(
    '/v1/jobs/:id',
    {
      config: { roles: ['operator', 'approver'] },
      schema: {
        tags,
        summary: 'A job with every target',
        params: JobParams,
        response: { 200: Job, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const job = await deps.store.jobs.get(request.params.id);
      if (!job) throw notFound(`no job ${request.params.id}`);
      return job;
    },
  );

  /** A step on one job that sends it on (approve, retry, continue): `202` with the job as it is now. */
  const jobStep = (
    path: string,
    role: 'approver' | 'operator',
    summary: string,
    description: string | undefined,
    act: (deps: ApiDeps, principal: string, id: string) => Promise<Job>,
  ): void => {
    app.post(
      path,
      {
        config: { roles: [role], ...limited },
        schema: {
          tags,
          summary,
          ...(description ? { description } : {}),
          params: JobParams,
          response: { 202: Job, ...errors(400, 401, 403, 404, 409, 429) },
        },
      },
      async (request, reply) => {
        const job = await act(deps, principalOf(request).name, request.params.id);
        return reply.status(202).send(job);
      },
    );
  };

  jobStep(
    '/v1/jobs/:id/approve',
    'approver',
    'Approve a pending job (four eyes)',
    'The approver may not be the submitter (409 self_approval). The approval binds to the plan hash: ' +
      'if the inventory changed since submission the answer is 409 plan_changed. Outside its ' +
      "environments' maintenance windows the job is scheduled (status scheduled, startsAt) and starts " +
      'when they open; 409 no_common_window when they never overlap.',
    approveJob,
  );

  app.post(
    '/v1/jobs/:id/reject',
    {
      config: { roles: ['approver'], ...limited },
      schema: {
        tags,
        summary: 'Reject a pending job with a reason',
        params: JobParams,
        body: RejectBody,
        response: { 200: Job, ...errors(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request) => rejectJob(deps, principalOf(request).name, request.params.id, request.body.reason),
  );

  jobStep(
    '/v1/jobs/:id/retry',
    'operator',
    'Queue the failed targets of a finished job again',
    undefined,
    retryJob,
  );

  // canary rollout (README: Canary rollout)
  jobStep(
    '/v1/jobs/:id/continue',
    'approver',
    'Continue a job resting in canary (four eyes)',
    'The canary of each canary environment is installed and verified; this queues every other target ' +
      'as the next round. Only a job in canary (409 conflict otherwise); the continuer may not be the ' +
      'submitter (409 self_approval).',
    continueJob,
  );

  // Maintenance windows (README: Maintenance windows)
  app.post(
    '/v1/jobs/:id/start-now',
    {
      config: { roles: ['admin'], ...limited },
      schema: {
        tags,
        summary: 'Start a scheduled job at once, outside its maintenance window',
        description:
          'Admin only; the reason is written to the audit trail. 409 when the job is not scheduled.',
        params: JobParams,
        body: StartNowBody,
        response: { 202: Job, ...errors(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const job = await startNowJob(deps, principalOf(request).name, request.params.id, request.body.reason);
      return reply.status(202).send(job);
    },
  );
}
