import { createHash } from 'node:crypto';
import { caPath, installPath, type InstallRequest, type Platform } from './platform.js';

/** One file to put in place. */
export interface PlannedFile {
  /** Final name in installDir: `<name>.pfx` or `<name>.ca<N>.cer`. */
  base: string;
  /** Its full path on the host, in the platform's own form. */
  path: string;
  data: Buffer;
  sha256: string;
}

/** Hex SHA-256 of a file's bytes, as hosts report it back. */
export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The files of one install: the .pfx first, then the CA files in chain order. */
export function planFiles(platform: Platform, dir: string, req: InstallRequest): PlannedFile[] {
  const pfx = { base: `${req.name}.pfx`, path: installPath(platform, dir, req.name), data: req.pfx };
  const cas = req.caCertificates.map((data, i) => ({
    base: `${req.name}.ca${i + 1}.cer`,
    path: caPath(platform, dir, req.name, i + 1),
    data,
  }));
  return [pfx, ...cas].map((f) => ({ ...f, sha256: sha256(f.data) }));
}
