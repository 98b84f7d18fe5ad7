import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { bearerToken } from './authorization-header.js';
import { forbidden, unauthorized } from './errors.js';
import { authenticate, hasRole, type Principal, type Role } from './principals.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles allowed on the route; absent means the route is public. */
    roles?: Role[];
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface AuthOptions {
  principals: () => readonly Principal[];
}

/** Returns the authenticated principal of a request, which the route's roles allowed. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}

/**
 * The principal holding `token`, when it has one of `roles`: 401 without a
 * valid token, 403 without the role (API.md's order).
 */
export function authorize(
  principals: readonly Principal[],
  token: string | undefined,
  roles: readonly Role[],
): Principal {
  const principal = token === undefined ? undefined : authenticate(principals, token);
  if (!principal) throw unauthorized();
  if (!hasRole(principal, roles)) {
    throw forbidden(`${principal.name} lacks the role for this action (needs ${roles.join(' or ')})`);
  }
  return principal;
}

/**
 * Bearer-token authentication and role checks in `onRequest`, so they answer
 * before the body is read or validated (API.md: 401, then 403, then 400).
 */
export const authPlugin = fp<AuthOptions>(
  async (app: FastifyInstance, opts) => {
    app.decorateRequest('principal', null);
    app.addHook('onRequest', async (request) => {
      const roles = request.routeOptions.config.roles;
      if (!roles) return;
      request.principal = authorize(opts.principals(), bearerToken(request.headers.authorization), roles);
    });
  },
  { name: 'certfleet-auth' },
);
