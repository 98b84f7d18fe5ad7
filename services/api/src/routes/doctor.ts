import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { findEnvironment, type Environment, type FrontEnd } from '@certfleet/inventory';
import {
  diagnoseFrontEnd,
  sshTargetFor,
  TargetError,
  type HostDiagnosis,
  type SshTarget,
} from '@certfleet/ssh';
import { DoctorReport, ENV_PATTERN } from '@certfleet/contract';
import { Type } from 'typebox';
import type { ApiDeps } from '../app.js';
import { notFound } from '../errors.js';
import { errors } from '../schemas.js';
import type { RouteOptions } from './jobs.js';

async function diagnose(deps: ApiDeps, env: Environment, fe: FrontEnd): Promise<HostDiagnosis> {
  let target: SshTarget;
  try {
    target = await sshTargetFor(fe, {
      readyTimeoutMs: deps.config.sshConnectTimeoutMs,
      commandTimeoutMs: deps.config.sshStepTimeoutMs,
    });
  } catch (error) {
    if (!(error instanceof TargetError)) throw error;
    return { ok: false, checks: [{ check: 'login', ok: false, detail: error.message }] };
  }
  return diagnoseFrontEnd(target, {
    platform: env.platform,
    installDir: env.installDir,
    ...(env.windows?.keyReaders ? { keyReaders: env.windows.keyReaders } : {}),
  });
}

/** `POST /v1/environments/:env/doctor`: checks every front-end of an environment, changing nothing. */
export async function doctorRoutes(scope: FastifyInstance, { deps, limited }: RouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/v1/environments/:env/doctor',
    {
      config: { roles: ['approver'], ...limited },
      schema: {
        tags: ['environments'],
        summary: 'Check every front-end of an environment without changing anything',
        description:
          'Connects to each front-end as an install would and reports, per host: host key pin, login, ' +
          'install directory writable (a probe file is created and removed), free space and clock skew; on ' +
          'Windows also PowerShell and .NET Framework versions, language mode, FIPS and Module Logging ' +
          "policies, OpenSSH's DefaultShell and whether each key reader resolves. 200 even when checks fail: " +
          'see ok. POST because it connects to hosts; it is safe to repeat.',
        params: Type.Object({ env: Type.String({ pattern: ENV_PATTERN }) }),
        response: { 200: DoctorReport, ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const env = findEnvironment(deps.inventory(), request.params.env);
      if (env === undefined) throw notFound(`no environment '${request.params.env}' in the inventory`);
      const hosts = await Promise.all(
        env.frontEnds.map(async (fe) => ({
          frontEnd: fe.name,
          host: fe.host,
          port: fe.port,
          ...(await diagnose(deps, env, fe)),
        })),
      );
      return { environment: env.name, platform: env.platform, ok: hosts.every((h) => h.ok), hosts };
    },
  );
}
