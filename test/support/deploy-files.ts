/**
 * Reading the deployment files for test/deploy.test.ts: the README's documented
 * commands, the Kubernetes manifests (with the Kubernetes schemas and a strict
 * unknown-field check by the TypeScript compiler), systemd unit files and the
 * Dockerfile's stages.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './processes.js';

/** A file of the repository, as text. */
export function repoText(file: string): Promise<string> {
  return readFile(path.join(REPO_ROOT, file), 'utf8');
}

/** The README's section `## <title>`, up to the next `## ` heading. */
export function readmeSection(readme: string, title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no section "## ${title}"`);
  const end = readme.indexOf('\n## ', start + 4);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The `node services/<name>/dist/main.js` commands a README text documents. */
export function documentedCommands(text: string): Set<string> {
  return new Set([...text.matchAll(/`(node services\/[a-z]+\/dist\/main\.js)`/g)].map((m) => m[1]!));
}

/** The command that runs a service, in the form the README documents. */
export function serviceCommand(service: string): string[] {
  return ['node', `services/${service}/dist/main.js`];
}

/** One document of a manifest file. */
export interface Manifest {
  file: string;
  doc: { apiVersion: string; kind: string; metadata: { name: string } } & Record<string, unknown>;
}

/** Every document of every `deploy/k8s/*.yaml`. */
export async function loadManifests(): Promise<Manifest[]> {
  const dir = path.join(REPO_ROOT, 'deploy', 'k8s');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  const manifests: Manifest[] = [];
  for (const file of files) {
    for (const document of parseAllDocuments(await readFile(path.join(dir, file), 'utf8'))) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]!.message}`);
      manifests.push({ file, doc: document.toJS() as Manifest['doc'] });
    }
  }
  return manifests;
}

/** `kubernetes-models/<group>/<version>/<Kind>`: the module of a kind's model and type. */
function modelModule(apiVersion: string, kind: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? `kubernetes-models/${apiVersion}/${kind}`
    : `kubernetes-models/${apiVersion.slice(0, slash)}/${apiVersion.slice(slash + 1)}/${kind}`;
}

/**
 * Validates a manifest against its kind's Kubernetes OpenAPI schema (the ajv
 * validators kubernetes-models generates from it); the answer lists the errors.
 */
export async function schemaErrors(manifest: Manifest): Promise<string[]> {
  const { apiVersion, kind } = manifest.doc;
  const module = (await import(modelModule(apiVersion, kind))) as Record<
    string,
    new (data: unknown) => { validate(): void }
  >;
  const Model = module[kind];
  if (!Model) return [`no model for ${apiVersion} ${kind}`];
  try {
    new Model(manifest.doc).validate();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

const parsedDeclarations = new Map<string, ts.SourceFile>();

/**
 * The strict check the schemas cannot make (they allow unknown fields, as the
 * API server does with a warning): each manifest is type-checked as an object
 * literal of its kind's TypeScript type, so a field the type lacks, at any
 * depth, is an excess-property error. One line per manifest, named in the answer.
 */
export function unknownFieldErrors(manifests: Manifest[]): string[] {
  const file = path.join(REPO_ROOT, 'test', '__k8s-strict-check__.ts');
  const source = manifests
    .map(({ doc }, i) => {
      const type = `import('${modelModule(doc.apiVersion, doc.kind)}').I${doc.kind}`;
      return `export const m${i}: ${type} = ${JSON.stringify(doc)};`;
    })
    .join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    // object literals need no more than ES5's globals; the smaller library checks faster
    lib: ['lib.es5.d.ts'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile: hostReadFile } = host;
  host.getSourceFile = (name, language, ...rest) => {
    if (name === file) return ts.createSourceFile(name, source, language, true);
    // the declaration files do not change between checks: parse each once
    let parsed = parsedDeclarations.get(name);
    if (!parsed) {
      parsed = getSourceFile.call(host, name, language, ...rest);
      if (parsed) parsedDeclarations.set(name, parsed);
    }
    return parsed;
  };
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : hostReadFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    const m = manifests[line]?.doc;
    const where = m ? `${manifests[line]!.file} ${m.kind}/${m.metadata.name}` : 'check';
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

/** A systemd unit file: per section, its `Key=Value` lines in order (comments dropped). */
export function parseUnit(text: string): Map<string, [string, string][]> {
  const sections = new Map<string, [string, string][]>();
  let current: [string, string][] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = sections.get(section[1]!) ?? [];
      sections.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) throw new Error(`not a unit line: ${line}`);
    current.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return sections;
}

/** The values a key has in a unit's section. */
export function unitValues(unit: Map<string, [string, string][]>, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

/** One build stage of a Dockerfile: its name, its image (ARG defaults resolved) and instructions. */
export interface Stage {
  name: string | null;
  image: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into its stages, resolving `${ARG}` in each FROM from the ARG defaults. */
export function dockerStages(text: string): Stage[] {
  const dockerfile = DockerfileParser.parse(text);
  const args = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    const property = arg.getProperty();
    if (property) args.set(property.getName(), property.getValue() ?? '');
  }
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const from = dockerfile.getFROMs().find((f) => f === instruction);
    if (from) {
      const image = (from.getImage() ?? '').replace(
        /\$\{(\w+)\}/g,
        (_, name: string) => args.get(name) ?? '',
      );
      stages.push({ name: from.getBuildStage(), image, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** The argument vector of a JSON-form instruction (`CMD ["node", "x.js"]`, `HEALTHCHECK … CMD [...]`). */
export function jsonArgv(instruction: Instruction): string[] {
  const content = instruction.getArgumentsContent() ?? '';
  const json = content.slice(content.indexOf('['));
  return JSON.parse(json) as string[];
}
