import { createHash } from 'node:crypto';
import { NOT_STARTED, type Target } from '@certfleet/contract';
import { installPath } from '@certfleet/ssh';
import { findEnvironment, type Inventory } from './index.js';

/** An install plan: its targets, the path per environment and the hash an approval binds to. */
export interface Plan {
  targets: Target[];
  paths: Record<string, string>;
  /** Binds an approval to exactly this certificate, these hosts, host keys and paths. */
  hash: string;
}

/** An environment a plan names is not in the inventory. */
export class UnknownEnvironmentError extends Error {
  readonly code = 'unknown_environment';
  constructor(readonly environments: string[]) {
    super(`unknown environment ${environments.map((e) => `'${e}'`).join(', ')}`);
    this.name = 'UnknownEnvironmentError';
    Object.setPrototypeOf(this, UnknownEnvironmentError.prototype);
  }
}

/**
 * One target per environment × front-end, each with the path the customer is told.
 * `only` (target ids `<environment>/<front-end>`) narrows it to some hosts, as a repair
 * job does; the hash then binds to those hosts alone.
 */
export function planInstall(
  inventory: Inventory,
  environments: readonly string[],
  name: string,
  fingerprintSha256: string,
  pfxSha256: string,
  only?: ReadonlySet<string>,
): Plan {
  const unknown = environments.filter((e) => !findEnvironment(inventory, e));
  if (unknown.length > 0) throw new UnknownEnvironmentError(unknown);
  const targets: Target[] = [];
  const paths: Record<string, string> = {};
  const pins: string[] = [];
  for (const envName of environments) {
    const env = findEnvironment(inventory, envName)!;
    const path = installPath(env.platform, env.installDir, name);
    paths[env.name] = path;
    for (const fe of env.frontEnds) {
      const id = `${env.name}/${fe.name}`;
      if (only && !only.has(id)) continue;
      targets.push({
        id,
        environment: env.name,
        frontEnd: fe.name,
        host: fe.host,
        port: fe.port,
        path,
        ...NOT_STARTED,
      });
      pins.push(`${id}|${env.platform}|${fe.host}|${fe.port}|${fe.hostKey}|${path}`);
    }
  }
  const hash = createHash('sha256')
    .update(JSON.stringify({ fingerprintSha256, pfxSha256, name, targets: pins }))
    .digest('hex');
  return { targets, paths, hash };
}

/** What an uninstall removes in one environment: the registry entry's certificate and files. */
export interface UninstallSubject {
  name: string;
  fingerprintSha256: string;
  /** SHA-256 of the .pfx written (absent in entries older than the drift check). */
  sha256?: string;
  path: string;
  caFiles?: readonly { path: string }[];
  thumbprint?: string;
}

/**
 * The plan of an uninstall: one target per front-end of the environment, its hash bound
 * to those hosts (keys, paths) and to the certificate and files it removes, and never equal
 * to an install's hash of the same certificate.
 */
export function planUninstall(inventory: Inventory, environment: string, entry: UninstallSubject): Plan {
  const hosts = planInstall(
    inventory,
    [environment],
    entry.name,
    entry.fingerprintSha256,
    entry.sha256 ?? '',
  );
  const files = [entry.path, ...(entry.caFiles ?? []).map((f) => f.path)];
  const hash = createHash('sha256')
    .update(
      JSON.stringify({ action: 'uninstall', hosts: hosts.hash, files, thumbprint: entry.thumbprint ?? null }),
    )
    .digest('hex');
  return { ...hosts, hash };
}
