#!/usr/bin/env node
// fleetctl runs from its TypeScript source: tsx's ESM loader is registered in
// this same process (no second process, so signals and exit codes stay plain),
// then the CLI is loaded.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
