import type { Environment, FrontEnd } from '@certfleet/inventory';
import { TargetError, uninstallOnHost, type UninstallResult } from '@certfleet/ssh';
import type { JobRecord } from '@certfleet/store';
import { loginFor, type TargetDeps, type TargetWork } from './install-target.js';
import { now, type WorkerDeps } from './worker-deps.js';

/**
 * Thumbprints other certificates installed on the same front-end (host and port) still
 * use: in any environment's registry (current and previous versions), besides the one
 * being removed. Their Windows store entries stay.
 */
async function thumbprintsInUse(
  deps: WorkerDeps,
  env: Environment,
  fe: FrontEnd,
  name: string,
): Promise<string[]> {
  const inUse = new Set<string>();
  for (const other of deps.inventory().environments) {
    if (!other.frontEnds.some((f) => f.host === fe.host && f.port === fe.port)) continue;
    for (const entry of await deps.store.registry.list(other.name)) {
      if (other.name === env.name && entry.name === name) continue;
      if (entry.thumbprint) inUse.add(entry.thumbprint.toUpperCase());
      // its previous version stays too: the Windows store keeps it for a rollback there
      if (entry.previous?.thumbprint) inUse.add(entry.previous.thumbprint.toUpperCase());
    }
  }
  return [...inUse];
}

/**
 * The uninstall of one target (README: Uninstall): removes the files of the registry's
 * certificate of that name from its front-end, and on Windows its store entries. A host
 * where nothing is left is `installed` with `unchanged: true`, so a retry after a crash
 * finishes and reports what it removed then.
 */
export function uninstallWork(deps: TargetDeps, record: JobRecord): TargetWork<UninstallResult> {
  return async (env, fe, running) => {
    const entry = await deps.store.registry.get(env.name, record.name);
    if (!entry || entry.fingerprintSha256 !== record.certificate.fingerprintSha256) {
      throw new TargetError(
        'inventory_changed',
        `${env.name} no longer holds the certificate of ${record.name} job ${record.id} was approved to ` +
          'remove (rotated or removed meanwhile); submit the uninstall again',
      );
    }
    const login = await loginFor(deps, fe);
    const result = await uninstallOnHost(
      login,
      env.platform,
      {
        installDir: env.installDir,
        name: record.name,
        ...(entry.thumbprint ? { thumbprint: entry.thumbprint } : {}),
        ...(env.platform === 'windows'
          ? { keepThumbprints: await thumbprintsInUse(deps, env, fe, record.name) }
          : {}),
      },
      env.platform === 'linux' ? deps.pool : undefined,
    );
    return {
      result,
      action: 'target.uninstalled',
      target: {
        ...running,
        status: 'installed',
        path: result.path,
        sha256: null,
        unchanged: result.unchanged,
        removed: result.removed,
        error: null,
        finishedAt: now(),
        ...(result.kept.length > 0 ? { kept: result.kept } : {}),
      },
      detail: { path: result.path, unchanged: result.unchanged, removed: result.removed },
    };
  };
}
