import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';
import { basicPassword, bearerToken } from '../authorization-header.js';
import { ApiError, forbidden } from '../errors.js';
import { authenticate, hasRole } from '../principals.js';

export const BOARD_PATH = '/admin/queues';

/** The bearer token, or the password of HTTP Basic (so a browser can open the board). */
function tokenOf(header: string | undefined): string | undefined {
  return bearerToken(header) ?? basicPassword(header);
}

/** Bull Board at /admin/queues, for the admin role only. */
export async function boardRoutes(scope: FastifyInstance, opts: { deps: ApiDeps }): Promise<void> {
  const { deps } = opts;
  scope.addHook('onRequest', async (request, reply) => {
    const token = tokenOf(request.headers.authorization);
    const principal = token ? authenticate(deps.principals(), token) : undefined;
    if (!principal) {
      reply.header('www-authenticate', 'Basic realm="certfleet queues", charset="UTF-8"');
      throw new ApiError(
        401,
        'unauthorized',
        'sign in with any user name and an admin token as the password',
      );
    }
    if (!hasRole(principal, ['admin']))
      throw forbidden(`${principal.name} lacks the admin role for the queue board`);
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
