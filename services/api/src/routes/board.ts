import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';
import { basicPassword, bearerToken } from '../authorization-header.js';
import { authorize } from '../auth.js';
import { ApiError, unauthorized } from '../errors.js';

export const BOARD_PATH = '/admin/queues';

/** The bearer token, or the password of HTTP Basic (so a browser can open the board). */
export function boardToken(header: string | undefined): string | undefined {
  return bearerToken(header) ?? basicPassword(header);
}

/** Bull Board at /admin/queues, for the admin role only. */
export async function boardRoutes(scope: FastifyInstance, opts: { deps: ApiDeps }): Promise<void> {
  const { deps } = opts;
  // Answered here rather than thrown: Bull Board's own error handler would reshape a thrown error.
  scope.addHook('onRequest', async (request, reply) => {
    try {
      authorize(deps.principals(), boardToken(request.headers.authorization), ['admin']);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      let refusal = err;
      if (err.statusCode === 401) {
        reply.header('www-authenticate', 'Basic realm="certfleet queues", charset="UTF-8"');
        refusal = unauthorized('sign in with any user name and an admin token as the password');
      }
      return reply.status(refusal.statusCode).send({ error: refusal.code, message: refusal.message });
    }
    return undefined;
  });
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: [deps.queues.install, deps.queues.installTarget, deps.queues.notify].map(
      (q) => new BullMQAdapter(q, { readOnlyMode: false }),
    ),
    serverAdapter,
  });
  await scope.register(serverAdapter.registerPlugin(), { prefix: BOARD_PATH });
}
