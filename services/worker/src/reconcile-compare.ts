import type { EnvCertificate, HostInstall, TargetRecord } from '@certfleet/store';

/** A certificate of an environment as reconcile sees it. */
export interface CertificateState {
  entry: EnvCertificate;
  /** The targets of the job that installed it (the registry's `jobId`). */
  installTargets: readonly TargetRecord[];
  /** That job is still queued or running: its hosts are not missing, they are on their way. */
  installing: boolean;
}

/** Front-ends that lack one certificate, each with why. */
export interface MissingCertificate {
  name: string;
  frontEnds: string[];
  /** One line per front-end, e.g. `new front-end fe-7`. */
  reasons: string[];
}

export interface EnvironmentComparison {
  missing: MissingCertificate[];
  /** Records of front-ends no longer in the inventory, not yet marked gone. */
  gone: HostInstall[];
}

/** A target as the record of where it was installed (the fallback for installs older than the ledger). */
function recordOf(entry: EnvCertificate, t: TargetRecord): HostInstall {
  return {
    name: entry.name,
    frontEnd: t.frontEnd,
    host: t.host,
    port: t.port,
    fingerprintSha256: entry.fingerprintSha256,
    jobId: entry.jobId,
    installedAt: t.finishedAt ?? entry.installedAt,
    goneAt: null,
  };
}

function reasonFor(
  frontEnd: string,
  entry: EnvCertificate,
  state: CertificateState,
  held?: HostInstall,
): string {
  if (held?.goneAt) return `front-end ${frontEnd} is back in the inventory`;
  if (held) return `front-end ${frontEnd} holds an earlier certificate under ${entry.name}`;
  if (state.installTargets.some((t) => t.frontEnd === frontEnd))
    return `front-end ${frontEnd} was not installed by job ${entry.jobId}`;
  return `new front-end ${frontEnd}`;
}

/**
 * Pure: which front-ends of an environment lack which of its current certificates
 * (not expired at `nowMs`), and which records belong to front-ends that left the inventory.
 */
export function compareEnvironment(
  frontEnds: readonly string[],
  certificates: readonly CertificateState[],
  ledger: readonly HostInstall[],
  nowMs: number,
): EnvironmentComparison {
  const inInventory = new Set(frontEnds);
  const missing: MissingCertificate[] = [];
  const gone: HostInstall[] = [];
  for (const state of certificates) {
    const { entry } = state;
    const records = new Map<string, HostInstall>();
    for (const t of state.installTargets) {
      if (t.status === 'installed') records.set(t.frontEnd, recordOf(entry, t));
    }
    // the ledger is newer than a job's targets: a repair, or a later mark of gone
    for (const r of ledger) if (r.name === entry.name) records.set(r.frontEnd, r);
    for (const r of records.values()) {
      if (!inInventory.has(r.frontEnd) && r.goneAt === null) gone.push(r);
    }
    if (state.installing || !(Date.parse(entry.notAfter) > nowMs)) continue;
    const lacking = frontEnds.filter((fe) => {
      const r = records.get(fe);
      return !r || r.goneAt !== null || r.fingerprintSha256 !== entry.fingerprintSha256;
    });
    if (lacking.length > 0) {
      missing.push({
        name: entry.name,
        frontEnds: lacking,
        reasons: lacking.map((fe) => reasonFor(fe, entry, state, records.get(fe))),
      });
    }
  }
  return { missing, gone };
}
