// @ts-check
/**
 * Every workspace declares what its compiled code imports, and nothing else: the
 * `dependencies` of its package.json and the `references` of its tsconfig.build.json are
 * derived from the import statements of its non-test sources.
 *
 *   node tools/workspace-deps.js          report what differs (exit 1 when anything does)
 *   node tools/workspace-deps.js --write  rewrite package.json and tsconfig.build.json
 *
 * A version for an outside package is taken from wherever the repository already names it
 * (another workspace, then the root package.json); a package named nowhere is an error.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const builtins = new Set(builtinModules);

/** @param {string} file */
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
/** @param {string} file @param {unknown} value */
const writeJson = (file, value) => writeFileSync(file, JSON.stringify(value, null, 2) + '\n');

/** @returns {{ dir: string, name: string, pkg: any }[]} */
function workspaces() {
  const found = [];
  for (const group of ['packages', 'services']) {
    for (const entry of readdirSync(path.join(root, group)).sort()) {
      const dir = path.join(group, entry);
      const file = path.join(root, dir, 'package.json');
      if (existsSync(file)) found.push({ dir, name: readJson(file).name, pkg: readJson(file) });
    }
  }
  return found;
}

/** @param {string} dir @returns {string[]} */
function sources(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|js)$/.test(e.name) && !/\.test\.ts$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name));
}

// `import … from 'x'`, `export … from 'x'`, `import 'x'` and `import('x')`, at the start of a statement
const importPattern =
  /^(?:import|export)\s[^;]*?\sfrom\s*['"]([^'"\n]+)['"]|^import\s*['"]([^'"\n]+)['"]|\bimport\(\s*['"]([^'"\n]+)['"]\s*\)/gm;

/** The package names a workspace's sources import (bare specifiers, no builtins, not itself). */
function importsOf(/** @type {{ dir: string, name: string }} */ ws) {
  const names = new Set();
  for (const file of [
    ...sources(path.join(root, ws.dir, 'src')),
    ...sources(path.join(root, ws.dir, 'bin')),
  ]) {
    for (const match of readFileSync(file, 'utf8').matchAll(importPattern)) {
      const spec = match[1] ?? match[2] ?? match[3];
      if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec.split('/')[0])) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      if (name !== ws.name) names.add(name);
    }
  }
  return [...names].sort();
}

const all = workspaces();
const byName = new Map(all.map((ws) => [ws.name, ws]));
const rootPkg = readJson(path.join(root, 'package.json'));

/** @param {string} name */
function versionOf(name) {
  for (const ws of all) {
    const v = ws.pkg.dependencies?.[name];
    if (v) return v;
  }
  return rootPkg.dependencies?.[name] ?? rootPkg.devDependencies?.[name];
}

const write = process.argv.includes('--write');
const problems = [];
for (const ws of all) {
  const wanted = {};
  const references = [];
  for (const name of importsOf(ws)) {
    const local = byName.get(name);
    if (local) {
      wanted[name] = local.pkg.version;
      references.push({
        path: path.relative(path.join(root, ws.dir), path.join(root, local.dir, 'tsconfig.build.json')),
      });
      continue;
    }
    const version = versionOf(name);
    if (!version) problems.push(`${ws.dir}: imports ${name}, which no package.json names`);
    else wanted[name] = version;
  }
  const pkgFile = path.join(root, ws.dir, 'package.json');
  const have = ws.pkg.dependencies ?? {};
  if (JSON.stringify(have) !== JSON.stringify(wanted)) {
    const missing = Object.keys(wanted).filter((n) => !(n in have));
    const extra = Object.keys(have).filter((n) => !(n in wanted));
    problems.push(
      `${ws.dir}/package.json dependencies: ` +
        [
          missing.length ? `missing ${missing.join(', ')}` : '',
          extra.length ? `not imported ${extra.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; ') || `${ws.dir}/package.json dependencies: order or versions differ`,
    );
    if (write) {
      const pkg = { ...ws.pkg };
      if (Object.keys(wanted).length) pkg.dependencies = wanted;
      else delete pkg.dependencies;
      writeJson(pkgFile, pkg);
    }
  }
  const buildFile = path.join(root, ws.dir, 'tsconfig.build.json');
  if (!existsSync(buildFile)) {
    problems.push(`${ws.dir}: no tsconfig.build.json`);
    continue;
  }
  const build = readJson(buildFile);
  if (JSON.stringify(build.references ?? []) !== JSON.stringify(references)) {
    problems.push(`${ws.dir}/tsconfig.build.json references differ from its imports`);
    if (write) {
      if (references.length) build.references = references;
      else delete build.references;
      writeJson(buildFile, build);
    }
  }
}

const top = readJson(path.join(root, 'tsconfig.build.json'));
const topRefs = all.map((ws) => ({ path: `./${ws.dir}/tsconfig.build.json` }));
if (JSON.stringify(top.references) !== JSON.stringify(topRefs)) {
  problems.push('tsconfig.build.json does not reference every workspace');
  if (write) writeJson(path.join(root, 'tsconfig.build.json'), { ...top, references: topRefs });
}

for (const line of problems) console.log(line);
if (!write && problems.length) process.exitCode = 1;
if (!problems.length) console.log(`workspace dependencies: ${all.length} workspaces match their imports`);
