import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { JobName } from '@certfleet/jobs';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { ApiDeps } from './app.js';
import { ApiError, notFound } from './errors.js';
import { doorbellKey, submitIntakePassword, viewIntake, type IntakeDeps } from './helpdesk-intake.js';
import { errors } from './schemas.js';
import { readBody, takeRawBodies } from './webhook-route.js';

export interface AdapterRouteOptions {
  deps: ApiDeps;
  limited: { rateLimit: { max: number; timeWindow: number } };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified doorbell of a help desk webhook. */
    doorbell?: { deliveryId: string; ticketId: string; password?: string };
  }
}

const AdapterParams = Type.Object(
  {
    system: Type.String({ pattern: '^[a-z]{1,32}$' }),
    instance: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
  },
  { additionalProperties: false },
);
const Accepted = Type.Object(
  { deliveryId: Type.String(), status: Type.Literal('accepted') },
  { additionalProperties: false },
);

/** The deps of the intake job and the password link, from the API's. */
export function intakeDeps(deps: ApiDeps, logger: IntakeDeps['logger']): IntakeDeps {
  if (!deps.helpdesk) throw notFound('no help desk is configured (FLEET_ADAPTERS)');
  return { ...deps, ...deps.helpdesk, logger, ...(deps.clock ? { clock: deps.clock } : {}) };
}

/**
 * `POST /v1/adapters/:system/:instance`: a help desk's webhook is a doorbell. The raw
 * body is verified the way that desk signs it before anything else (401), then the
 * intake job is queued under the delivery's id and 202 answered at once.
 */
export async function adapterRoutes(scope: FastifyInstance, opts: AdapterRouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  const bodyLimit = takeRawBodies(app);
  app.post(
    '/v1/adapters/:system/:instance',
    {
      config: opts.limited,
      schema: {
        tags: ['webhooks'],
        summary: 'A help desk rings: verify its signature, read the ticket back later (202)',
        description:
          '`:system` is `zendesk`, `jira` or `servicenow`, `:instance` an instance of FLEET_ADAPTERS. ' +
          'Zendesk: `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, ' +
          '`X-Zendesk-Webhook-Signature-Timestamp` + raw body)), body `{"ticket_id":"<id>"}`, delivery id ' +
          '`X-Zendesk-Webhook-Invocation-Id`. Jira Service Management: `X-Hub-Signature: sha256=<hex ' +
          'HMAC-SHA256(secret, raw body)>`, the issue key from `issue.key`, delivery id ' +
          '`X-Atlassian-Webhook-Identifier` (no time window: retries may come 30 minutes late). ServiceNow ' +
          '(a Business Rule, README: Help desks): `X-Certfleet-Signature: t=<unix s>,v1b64=<base64 ' +
          'HMAC-SHA256(secret, t + "." + raw body)>` (or hex `v1=`), 300 s tolerance, body ' +
          '`{"sys_id":"<32 hex>","password"?:"<from a Masked variable>"}`, delivery id `X-Certfleet-Delivery`. ' +
          "Nothing in the body but the ticket id (and ServiceNow's password, sealed at once) is used: the " +
          'ticket is read back through the desk API by the intake job. The same delivery twice is one intake.',
        security: [],
        params: AdapterParams,
        response: { 202: Accepted, ...errors(401, 404, 413, 429) },
      },
      preParsing: async (request, _reply, payload) => {
        const { system, instance } = request.params as { system: string; instance: string };
        const adapter = deps.helpdesk?.adapters.get(system, instance);
        if (!adapter) throw notFound(`no help desk ${system}/${instance} is configured (FLEET_ADAPTERS)`);
        const raw = await readBody(payload, bodyLimit);
        const now = (deps.clock ?? (() => new Date()))().getTime();
        const doorbell = adapter.verify({ headers: request.headers, rawBody: raw, now });
        if (!doorbell.ok) throw new ApiError(401, 'webhook_signature', doorbell.reason);
        request.doorbell = doorbell;
        return Readable.from([raw]);
      },
    },
    async (request, reply) => {
      const { deliveryId, ticketId, password } = request.doorbell!;
      const { system, instance } = request.params;
      if (password !== undefined) {
        // sealed before anything is queued: the job's data holds ids only
        await deps.store.intakes.putDoorbellPassword(
          doorbellKey(system, instance, deliveryId),
          password,
          deps.config.intakeLinkTtlMs,
        );
      }
      await deps.queues.add(JobName.HelpdeskIntake, {
        system,
        instance,
        deliveryId,
        ticketId,
        ...(password === undefined ? {} : { sealedPassword: true as const }),
      });
      return reply.status(202).send({ deliveryId, status: 'accepted' as const });
    },
  );
}

const TokenParams = Type.Object(
  { token: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }) },
  { additionalProperties: false },
);
const IntakeView = Type.Object(
  {
    ticket: Type.String(),
    fileName: Type.String(),
    pfxSha256: Type.String(),
    name: Type.String(),
    environments: Type.Array(Type.String()),
    expiresAt: Type.String(),
  },
  { additionalProperties: false },
);
const PasswordBody = Type.Object(
  { password: Type.String({ maxLength: 1024 }) },
  { additionalProperties: false },
);
const Made = Type.Object({ jobId: Type.String(), status: Type.String() }, { additionalProperties: false });

/** The password page's policy: its own script and style, nothing else, no referrer (the token is in the URL). */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * The one-time password link: `GET /intake/:token` (the page), `GET /v1/intake/:token`
 * (what it is for) and `POST /v1/intake/:token` (the password, which makes the job).
 */
export async function intakeLinkRoutes(scope: FastifyInstance, opts: AdapterRouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  const tags = ['webhooks'];
  const page = new URL('../ui/intake.html', import.meta.url);
  app.get('/intake/:token', { schema: { hide: true, params: TokenParams } }, async (_request, reply) =>
    reply
      .headers(PAGE_HEADERS)
      .type('text/html; charset=utf-8')
      .send(await readFile(page)),
  );
  app.get(
    '/v1/intake/:token',
    {
      schema: {
        tags,
        summary: 'What a one-time password link is for (410 once used or expired)',
        security: [],
        params: TokenParams,
        response: { 200: IntakeView, ...errors(410) },
      },
    },
    async (request, reply) =>
      reply.headers(PAGE_HEADERS).send(await viewIntake(intakeDeps(deps, request.log), request.params.token)),
  );
  app.post(
    '/v1/intake/:token',
    {
      config: opts.limited,
      schema: {
        tags,
        summary: "The customer's PFX password: the ticket's job is made (201), the link used up",
        description:
          'A refusal (wrong password, bad PFX) answers its code and is written to the ticket as an ' +
          'internal note; the link works again, up to 5 tries, until it expires (FLEET_INTAKE_LINK_TTL).',
        security: [],
        params: TokenParams,
        body: PasswordBody,
        response: { 201: Made, ...errors(409, 410, 422) },
      },
    },
    async (request, reply) => {
      const made = await submitIntakePassword(
        intakeDeps(deps, request.log),
        request.params.token,
        request.body.password,
      );
      return reply.headers(PAGE_HEADERS).status(201).send(made);
    },
  );
}
