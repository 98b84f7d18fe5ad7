import { isLeftoverTemp } from './linux-adapter.js';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Pure: the files of one certificate name in a directory listing, in the order an
 * uninstall removes them: `<name>.pfx` first (from then on the certificate is gone), then
 * its `<name>.ca<N>.cer` files, a kept `<name>.pfx.previous`, backups and temporaries an
 * interrupted install left. Nothing else: not another name that starts the same.
 */
export function filesOfName(name: string, listing: readonly string[]): string[] {
  const n = escapeRegExp(name);
  const own = new RegExp(`^${n}\\.(?:pfx|ca[1-9][0-9]*\\.cer)(?:\\.previous|\\.certfleet-backup)?$`);
  const pfx = `${name}.pfx`;
  const rest = listing.filter((f) => f !== pfx && (own.test(f) || isLeftoverTemp(name, f))).sort();
  return [...(listing.includes(pfx) ? [pfx] : []), ...rest];
}

/** `<name>.ca<N>.cer` among files: the CA files whose certificates an uninstall looks at. */
export function caFilesOf(name: string, files: readonly string[]): string[] {
  const pattern = new RegExp(`^${escapeRegExp(name)}\\.ca[1-9][0-9]*\\.cer$`);
  return files.filter((f) => pattern.test(f));
}
