import { linuxAdapter } from './linux-adapter.js';
import type { Platform, PlatformAdapter } from './platform.js';

const ADAPTERS: Partial<Record<Platform, PlatformAdapter>> = { linux: linuxAdapter };

/** The adapter for a platform; throws for one that has none yet (Windows, for now). */
export function adapterFor(platform: Platform): PlatformAdapter {
  const adapter = ADAPTERS[platform];
  if (adapter === undefined) throw new Error(`no install adapter for platform '${platform}' yet`);
  return adapter;
}
