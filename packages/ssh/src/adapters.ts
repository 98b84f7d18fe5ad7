import { linuxAdapter } from './linux-adapter.js';
import type { Platform, PlatformAdapter } from './platform.js';
import { windowsAdapter } from './windows-adapter.js';

const ADAPTERS: Record<Platform, PlatformAdapter> = { linux: linuxAdapter, windows: windowsAdapter };

/** The adapter for a platform: the only place that knows which platforms exist. */
export function adapterFor(platform: Platform): PlatformAdapter {
  const adapter = ADAPTERS[platform] as PlatformAdapter | undefined;
  if (adapter === undefined) throw new Error(`no install adapter for platform '${String(platform)}'`);
  return adapter;
}
