// @ts-check
/**
 * The build's second step: every file under a workspace's `src/` that tsc does not compile
 * (the Windows `.ps1` scripts, …) is copied to the same place under `dist/`, so that
 * compiled code finds it beside itself exactly as the source does.
 */
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
let copied = 0;
for (const group of ['packages', 'services']) {
  for (const name of readdirSync(path.join(root, group))) {
    const src = path.join(root, group, name, 'src');
    if (!existsSync(src)) continue;
    cpSync(src, path.join(root, group, name, 'dist'), {
      recursive: true,
      filter: (file) => {
        if (statSync(file).isDirectory()) return true;
        const asset = !file.endsWith('.ts');
        if (asset) copied += 1;
        return asset;
      },
    });
  }
}
console.log(`build: ${copied} non-TypeScript files copied from src/ to dist/`);
