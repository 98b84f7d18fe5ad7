import { SIGNATURE_HEADER, verifySignature } from '@certfleet/jobs';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import type { ApiDeps } from './app.js';
import { ApiError, invalid } from './errors.js';
import { Job, WebhookBody } from '@certfleet/contract';
import { errors } from './schemas.js';
import { receiveTicketWebhook } from './webhook-service.js';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
  }
}

/** Reads a request body up to `limit` bytes; a larger one is 413 (its rest is read and dropped). */
export function readBody(payload: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const finish = (err?: Error): void => {
      payload.off('data', onData);
      payload.off('end', onEnd);
      payload.off('error', onError);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, length));
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      length += bytes.length;
      if (length > limit) {
        finish(new ApiError(413, 'payload_too_large', `the request is larger than ${limit} bytes`));
        return;
      }
      chunks.push(bytes);
    };
    const onEnd = (): void => finish();
    const onError = (): void =>
      finish(
        new ApiError(400, 'invalid_request', 'the request body was not received completely; send it again'),
      );
    payload.on('data', onData);
    payload.on('end', onEnd);
    // a client that went away mid-upload is a 400 like any incomplete body, not a 500
    payload.on('error', onError);
    payload.resume();
  });
}

/**
 * Makes a scope take any content type as raw bytes (the signature is checked over them in
 * preParsing, before anything is parsed); answers the body limit.
 */
export function takeRawBodies(app: FastifyInstance): number {
  const keepRaw = (_request: unknown, _body: string | Buffer, done: (err: null, body: unknown) => void) =>
    done(null, {});
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, keepRaw);
  return app.initialConfig.bodyLimit ?? 1024 * 1024;
}

export interface WebhookRouteOptions {
  deps: ApiDeps;
  limited: { rateLimit: { max: number; timeWindow: number } };
}

/**
 * `POST /v1/webhooks/ticket`, in its own scope: the body is kept raw, the
 * signature is checked over those exact bytes before anything else (401), and
 * only then is the JSON parsed and validated (400).
 */
export async function webhookRoutes(scope: FastifyInstance, opts: WebhookRouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  // Any content type is taken (the signature answers first, in preParsing); the body is
  // the raw bytes read there, parsed as JSON only once signed.
  const bodyLimit = takeRawBodies(app);
  app.post(
    '/v1/webhooks/ticket',
    {
      config: opts.limited,
      schema: {
        tags: ['webhooks'],
        summary: 'A ticket system submits a job (HMAC-signed)',
        description:
          'Header `X-Certfleet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>`, ' +
          'at most 300 s old. A repeated deliveryId with the same body answers 200 with the job it made; ' +
          'with another body 409 webhook_replay.',
        security: [],
        body: WebhookBody,
        response: { 200: Job, 201: Job, ...errors(400, 401, 409, 413, 422, 429, 503) },
      },
      // Before the content type is looked at (415) or the body parsed: 503, then 401.
      preParsing: async (request, _reply, payload) => {
        if (deps.config.webhookSecrets.length === 0) {
          throw new ApiError(
            503,
            'webhook_disabled',
            'ticket webhooks are off: set FLEET_WEBHOOK_SECRET to accept them',
          );
        }
        const raw = await readBody(payload, bodyLimit);
        const check = verifySignature(
          deps.config.webhookSecrets,
          request.headers[SIGNATURE_HEADER] as string | undefined,
          raw,
        );
        if (!check.ok) throw new ApiError(401, 'webhook_signature', check.reason);
        request.rawBody = raw;
        return Readable.from([raw]);
      },
      preValidation: async (request) => {
        try {
          request.body = JSON.parse(
            (request.rawBody ?? Buffer.alloc(0)).toString('utf8'),
          ) as typeof request.body;
        } catch {
          throw invalid('body: not valid JSON');
        }
      },
    },
    async (request, reply) => {
      const result = await receiveTicketWebhook(deps, request.rawBody ?? Buffer.alloc(0), request.body);
      return reply.status(result.created ? 201 : 200).send(result.job);
    },
  );
}
