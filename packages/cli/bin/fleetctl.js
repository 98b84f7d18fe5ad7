#!/usr/bin/env node
// fleetctl runs compiled, under plain Node.js: `npm run build` writes ../dist/main.js.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('fleetctl: not built yet: run `npm run build` in the certfleet checkout first\n');
  process.exit(1);
}
await import(main.href);
