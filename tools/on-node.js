// @ts-check
/**
 * Runs a tool of node_modules/.bin (vitest, tsc, …) under the Node.js that certfleet is built,
 * tested and shipped for, and says which one ran it:
 *
 *   node tools/on-node.js vitest run
 *
 * The Node.js is the `node24` devDependency (the official binary, from the npm registry) or
 * the binary named by CERTFLEET_NODE (CI's Node 22 pass). Child processes find the same
 * Node.js first on PATH, and tests start theirs with process.execPath, so nothing else runs on
 * whatever `node` the machine has. ssh2's native crypto binding is built by `npm ci` for the
 * Node.js npm itself runs on; when it does not load on the chosen Node.js it is rebuilt for it
 * first, against that binary's own headers.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/** One line on stderr, prefixed like every other line of this launcher. */
function say(line) {
  process.stderr.write(`on-node: ${line}\n`);
}

/** Ends the launcher with one line naming what is wrong. */
function fail(line) {
  say(line);
  process.exit(2);
}

const [tool, ...args] = process.argv.slice(2);
if (!tool) fail('usage: node tools/on-node.js <tool in node_modules/.bin> [args…]');

const node = process.env['CERTFLEET_NODE'] ?? path.join(root, 'node_modules/node24/bin/node');
if (!existsSync(node)) fail(`${node} is missing: run npm ci (the node24 devDependency holds Node.js 24)`);
const nodeHome = path.dirname(path.dirname(node));
/** The environment of every child: the chosen Node.js first on PATH. */
const childEnv = {
  ...process.env,
  PATH: `${path.dirname(node)}${path.delimiter}${process.env['PATH'] ?? ''}`,
};

/** Runs `script` (CommonJS, `-e`) on the chosen Node.js and returns its trimmed stdout. */
function evaluate(script) {
  const result = spawnSync(node, ['-e', script], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) fail(`${node} -e failed: ${result.stderr.trim()}`);
  return result.stdout.trim();
}

const version = evaluate('process.stdout.write(process.version)');
const bindingLoads = () =>
  evaluate("process.stdout.write(String(require('ssh2/lib/protocol/crypto.js').bindingAvailable))") ===
  'true';

if (!bindingLoads()) {
  say(`ssh2's native crypto binding does not load on Node.js ${version}: rebuilding it for that version`);
  const npm = process.env['npm_execpath'];
  const command = npm ? [node, npm] : ['npm'];
  const rebuilt = spawnSync(command[0], [...command.slice(1), 'rebuild', 'ssh2', 'cpu-features'], {
    cwd: root,
    stdio: 'inherit',
    // node-gyp builds against the chosen binary's own headers (it ships include/node)
    env: { ...childEnv, npm_config_nodedir: nodeHome },
  });
  if (rebuilt.status !== 0 || !bindingLoads())
    fail(`could not build ssh2's native crypto binding for Node.js ${version}`);
}

const bin = path.join(root, 'node_modules/.bin', tool);
if (!existsSync(bin)) fail(`no ${tool} in node_modules/.bin: run npm ci`);
const shown = path.relative(root, node);
say(`${tool} runs on Node.js ${version} (${shown.startsWith('..') ? node : shown})`);
const child = spawnSync(node, [realpathSync(bin), ...args], {
  cwd: process.cwd(),
  stdio: 'inherit',
  env: childEnv,
});
if (child.error) fail(`${tool}: ${child.error.message}`);
process.exit(child.status ?? 1);
