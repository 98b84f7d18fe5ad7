/**
 * The deployment files, checked as far as a machine without a Docker engine, a
 * cluster or a running systemd can: the Dockerfile by a real linter and
 * hadolint-style rules, its copies, commands and health check (run against a
 * real API); the compose file; the Kubernetes manifests against the Kubernetes
 * schemas and types; the systemd units by systemd-analyze.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, loadConfig, parseDuration } from '@certfleet/config';
import { parseInventory } from '@certfleet/inventory';
import { validate as lintDockerfile, ValidationSeverity } from 'dockerfile-utils';
import type { Copy, Instruction } from 'dockerfile-ast';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startApiServer, type ApiServer } from './support/api-server.js';
import {
  dockerStages,
  documentedCommands,
  jsonArgv,
  loadManifests,
  parseUnit,
  readmeSection,
  repoText,
  schemaErrors,
  serviceCommand,
  unitValues,
  unknownFieldErrors,
  type Manifest,
  type Stage,
} from './support/deploy-files.js';
import { freePort, REPO_ROOT } from './support/processes.js';

const run = promisify(execFile);
const SERVICES = ['all', 'api', 'worker', 'notifier'] as const;
/** run-main.ts: after SIGTERM the process waits FLEET_SHUTDOWN_TIMEOUT, then 5 s more, then exits. */
const SHUTDOWN_SLACK_S = 5;

let readme: string;
let deploying: string;
/** A real API on loopback: the health check and the probes are run against it. */
let api: ApiServer;

beforeAll(async () => {
  readme = await repoText('README.md');
  deploying = readmeSection(readme, 'Deploying');
  api = await startApiServer();
});

afterAll(async () => {
  await api?.stop();
});

describe('the README documents one command per service', () => {
  it('lists node services/<name>/dist/main.js for all, api, worker and notifier, each built from a main.ts', async () => {
    expect(documentedCommands(deploying)).toEqual(new Set(SERVICES.map((s) => serviceCommand(s).join(' '))));
    for (const service of SERVICES) {
      await expect(stat(path.join(REPO_ROOT, 'services', service, 'src', 'main.ts'))).resolves.toBeTruthy();
    }
  });

  it('names only deployment files that exist', async () => {
    const named = new Set([...deploying.matchAll(/`(deploy\/[^`\s]*[^`\s/])\/?`/g)].map((m) => m[1]!));
    expect(named.size).toBeGreaterThan(4);
    for (const file of named) await expect(stat(path.join(REPO_ROOT, file)), file).resolves.toBeTruthy();
  });
});

describe('deploy/Dockerfile', () => {
  let text: string;
  let stages: Stage[];
  const runtime = (): Stage => stages.at(-1)!;
  const keyword = (stage: Stage, word: string): Instruction[] =>
    stage.instructions.filter((i) => i.getKeyword() === word);

  beforeAll(async () => {
    text = await repoText('deploy/Dockerfile');
    stages = dockerStages(text);
  });

  it('passes the dockerfile-utils linter with every rule an error, and no finding', () => {
    const E = ValidationSeverity.ERROR;
    const findings = lintDockerfile(text, {
      deprecatedMaintainer: E,
      directiveCasing: E,
      emptyContinuationLine: E,
      instructionCasing: E,
      instructionCmdMultiple: E,
      instructionEntrypointMultiple: E,
      instructionHealthcheckMultiple: E,
      instructionJSONInSingleQuotes: E,
      instructionWorkdirRelative: E,
    });
    expect(findings.map((f) => `line ${f.range.start.line + 1}: ${f.message}`)).toEqual([]);
  });

  it('builds in a "build" stage and runs in a "runtime" stage, both pinned Node.js 24 slim images', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    for (const stage of stages) expect(stage.image).toMatch(/^node:24(\.\d+)*-[a-z]+-slim$/);
  });

  it('follows the hadolint rules that apply: no ADD, no cd, apt-get without recommends and with its lists removed', () => {
    const all = stages.flatMap((s) => s.instructions);
    expect(all.filter((i) => i.getKeyword() === 'ADD')).toEqual([]);
    for (const runLine of all
      .filter((i) => i.getKeyword() === 'RUN')
      .map((i) => i.getArgumentsContent() ?? '')) {
      expect(runLine).not.toMatch(/(^|&&|;)\s*cd\s/);
      expect(runLine).not.toMatch(/\bsudo\b/);
      if (runLine.includes('apt-get install')) {
        expect(runLine).toContain('apt-get update');
        expect(runLine).toContain('--no-install-recommends');
        expect(runLine).toContain('rm -rf /var/lib/apt/lists/*');
      }
    }
  });

  it('builds with npm ci, npm run build, npm prune --omit=dev, then assembles the release with deploy/release.sh', () => {
    const runs = keyword(stages[0]!, 'RUN').map((i) => i.getArgumentsContent() ?? '');
    const order = ['npm ci', 'npm run build', 'npm prune --omit=dev', 'sh deploy/release.sh /out'].map(
      (step) => runs.findIndex((r) => r.includes(step)),
    );
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(keyword(runtime(), 'RUN')).toEqual([]);
  });

  it('copies into the runtime stage only the release that the build stage assembled', () => {
    const copies = keyword(runtime(), 'COPY').map((i) => ({
      from: (i as Copy).getFromFlag()?.getValue(),
      paths: i.getArgumentsContent(),
    }));
    expect(copies).toEqual([{ from: 'build', paths: '/out/ ./' }]);
  });

  it('copies from the context only paths that exist and that .dockerignore lets through', async () => {
    const ignore = (await repoText('.dockerignore'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => l.replace(/^\//, ''));
    // local installs and builds never enter the context: the image makes its own
    for (const pattern of ['.git', '**/node_modules', '**/dist']) expect(ignore).toContain(pattern);
    const contextCopies = keyword(stages[0]!, 'COPY').filter(
      (i) => !/--from=/.test(i.getArgumentsContent() ?? ''),
    );
    expect(contextCopies.map((i) => i.getArgumentsContent())).toEqual(['. .']);
    // what the build reads: the manifests, every workspace, the TypeScript configuration, the release script
    const needed = [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.base.json',
      'deploy/release.sh',
    ];
    for (const dir of ['packages', 'services']) {
      for (const ws of await readdir(path.join(REPO_ROOT, dir))) needed.push(`${dir}/${ws}/package.json`);
    }
    for (const file of needed) {
      await expect(stat(path.join(REPO_ROOT, file)), file).resolves.toBeTruthy();
      const ancestors = file.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
      for (const pattern of ignore) {
        for (const p of ancestors)
          expect(path.matchesGlob(p, pattern), `${pattern} excludes ${file}`).toBe(false);
      }
    }
  });

  it('runs as a non-root numeric user and starts node itself with the all-in-one command the README documents', () => {
    const users = keyword(runtime(), 'USER').map((i) => i.getArgumentsContent() ?? '');
    expect(users).toHaveLength(1);
    expect(users[0]).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
    expect(keyword(runtime(), 'ENTRYPOINT')).toEqual([]);
    const cmds = keyword(runtime(), 'CMD');
    expect(cmds).toHaveLength(1);
    expect(jsonArgv(cmds[0]!)).toEqual(serviceCommand('all'));
    expect(documentedCommands(deploying)).toContain(serviceCommand('all').join(' '));
    const order = runtime().instructions.map((i) => i.getKeyword());
    expect(order.indexOf('USER')).toBeLessThan(order.indexOf('CMD'));
  });

  it('points FLEET_INVENTORY and FLEET_AUTH at the read-only mount the README documents', () => {
    const env = keyword(runtime(), 'ENV')
      .map((i) => i.getArgumentsContent() ?? '')
      .join(' ');
    for (const setting of [
      'FLEET_INVENTORY=/etc/certfleet/inventory.yaml',
      'FLEET_AUTH=/etc/certfleet/auth.yaml',
    ]) {
      expect(env).toContain(setting);
      expect(deploying).toContain(setting);
    }
  });

  describe('its HEALTHCHECK command, run here', () => {
    async function healthcheck(port: number): Promise<number> {
      const checks = keyword(runtime(), 'HEALTHCHECK');
      expect(checks).toHaveLength(1);
      const [command, ...args] = jsonArgv(checks[0]!);
      expect(command).toBe('node');
      expect(args.join(' ')).toContain('/healthz');
      try {
        await run(command!, args, { env: { ...process.env, PORT: String(port) }, timeout: 60_000 });
        return 0;
      } catch (err) {
        return (err as { code?: number }).code ?? -1;
      }
    }

    it('exits 0 against a real API on PORT', async () => {
      expect(await healthcheck(api.port)).toBe(0);
    });

    it('exits 1 when nothing answers on PORT', async () => {
      expect(await healthcheck(await freePort())).toBe(1);
    });
  });
});

describe('deploy/release.sh, on stand-in dist/ files', () => {
  let tree: string;
  let out: string;
  /** Every file a service reads at run time that is not TypeScript, as tracked by git. */
  let runtimeFiles: string[];

  beforeAll(async () => {
    const { stdout } = await run('git', ['ls-files', 'packages', 'services'], { cwd: REPO_ROOT });
    runtimeFiles = stdout
      .split('\n')
      .filter((f) => f !== '' && !/\.ts$|(^|\/)package\.json$|\.md$|(^|\/)tsconfig[^/]*\.json$/.test(f))
      // the test kit runs only in tests; fleetctl runs from a checkout, not from the release
      .filter((f) => !f.startsWith('packages/test-kit/') && !f.startsWith('packages/cli/bin/'));
    tree = await mkdtemp(path.join(tmpdir(), 'certfleet-release-'));
    out = path.join(tree, 'out');
    const copy = (file: string): Promise<void> =>
      cp(path.join(REPO_ROOT, file), path.join(tree, 'src', file), { recursive: true });
    await Promise.all(['package.json', 'package-lock.json', 'deploy/release.sh', ...runtimeFiles].map(copy));
    for (const dir of ['packages', 'services']) {
      for (const ws of await readdir(path.join(REPO_ROOT, dir))) {
        await copy(`${dir}/${ws}/package.json`);
        // stand-ins for what `npm run build` writes
        for (const [sub, file] of [
          ['dist', 'index.js'],
          ['src', 'index.ts'],
        ]) {
          await mkdir(path.join(tree, 'src', dir, ws, sub!), { recursive: true });
          await writeFile(path.join(tree, 'src', dir, ws, sub!, file!), 'export {};\n');
        }
      }
    }
    await mkdir(path.join(tree, 'src', 'node_modules', '@certfleet'), { recursive: true });
    await symlink('../../services/api', path.join(tree, 'src', 'node_modules', '@certfleet', 'api'));
  });

  afterAll(async () => {
    if (tree) await rm(tree, { recursive: true, force: true });
  });

  it('refuses, naming the file, while a service is not compiled', async () => {
    await expect(run('sh', [path.join(tree, 'src', 'deploy', 'release.sh'), out])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('services/all/dist/main.js is missing: run npm run build first'),
    });
  });

  it('puts every non-TypeScript file a service reads where the compiled code looks for it, and no source', async () => {
    expect(runtimeFiles).toEqual(
      expect.arrayContaining(['packages/ssh/src/windows/install.ps1', 'services/api/ui/index.html']),
    );
    for (const service of SERVICES) {
      await writeFile(path.join(tree, 'src', 'services', service, 'dist', 'main.js'), 'export {};\n');
    }
    await run('sh', [path.join(tree, 'src', 'deploy', 'release.sh'), out]);
    for (const file of runtimeFiles) {
      // read relative to the module: <workspace>/src/x is looked for as <workspace>/dist/x once compiled
      const placed = file.replace(/^((?:packages|services)\/[^/]+)\/src\//, '$1/dist/');
      expect(await readFile(path.join(out, placed), 'utf8'), placed).toBe(
        await readFile(path.join(REPO_ROOT, file), 'utf8'),
      );
    }
    for (const service of SERVICES)
      await expect(stat(path.join(out, 'services', service, 'dist', 'main.js'))).resolves.toBeTruthy();
    const { stdout } = await run('find', [out, '-name', 'src', '-o', '-name', '*.ts']);
    expect(stdout.trim()).toBe('');
    // the workspace links stay links inside the release
    expect(await realpath(path.join(out, 'node_modules', '@certfleet', 'api'))).toBe(
      await realpath(path.join(out, 'services', 'api')),
    );
  });
});

/** docker-compose.yml's services, with YAML merge keys applied. */
interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  stop_grace_period?: string;
}

describe('deploy/docker-compose.yml', () => {
  let services: Record<string, ComposeService>;
  const certfleet = ['api', 'worker', 'notifier'];

  beforeAll(async () => {
    const compose = parseYaml(await repoText('deploy/docker-compose.yml'), { merge: true }) as {
      services: Record<string, ComposeService>;
    };
    services = compose.services;
  });

  it('runs Redis, the api, two workers and the notifier', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'notifier', 'redis', 'worker']);
    expect(services['worker']!.deploy?.replicas).toBe(2);
  });

  it('runs Redis with AOF fsynced every second and noeviction, and waits for it to answer', () => {
    const command = services['redis']!.command!.join(' ');
    for (const setting of ['--appendonly yes', '--appendfsync everysec', '--maxmemory-policy noeviction']) {
      expect(command).toContain(setting);
    }
    expect(services['redis']!.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    for (const name of certfleet)
      expect(services[name]!.depends_on?.['redis']?.condition).toBe('service_healthy');
  });

  it('builds every certfleet service from deploy/Dockerfile at the repository root and runs the README’s command for it', () => {
    for (const name of certfleet) {
      const service = services[name]!;
      expect(service.build?.dockerfile).toBe('deploy/Dockerfile');
      expect(path.resolve(REPO_ROOT, 'deploy', service.build!.context)).toBe(REPO_ROOT);
      expect(service.command).toEqual(serviceCommand(name));
      expect(documentedCommands(deploying)).toContain(service.command!.join(' '));
    }
  });

  it('mounts the configuration read-only and runs each container read-only, without capabilities', () => {
    for (const name of certfleet) {
      const service = services[name]!;
      const mounts = service.volumes ?? [];
      expect(mounts.some((v) => v.endsWith(':/etc/certfleet:ro'))).toBe(true);
      expect(mounts.every((v) => v.endsWith(':ro'))).toBe(true);
      expect(service.read_only).toBe(true);
      expect(service.cap_drop).toEqual(['ALL']);
      expect(service.security_opt).toContain('no-new-privileges:true');
    }
  });

  it('keeps the image’s /healthz check for the api and turns it off where there is no HTTP port', () => {
    expect(services['api']!.healthcheck).toBeUndefined();
    expect(services['worker']!.healthcheck).toEqual({ disable: true });
    expect(services['notifier']!.healthcheck).toEqual({ disable: true });
  });

  it('gives each container longer to stop than the shutdown deadline, and sets only documented variables', () => {
    for (const name of certfleet) {
      const service = services[name]!;
      const timeout = Number(service.environment?.['FLEET_SHUTDOWN_TIMEOUT'] ?? '30');
      expect(parseDuration(service.stop_grace_period ?? '10s')! / 1000).toBeGreaterThan(
        timeout + SHUTDOWN_SLACK_S,
      );
      for (const variable of Object.keys(service.environment ?? {}))
        expect(readme).toContain(`\`${variable}\``);
    }
  });
});

/** A Deployment's pod template, as far as these checks read it. */
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: {
    terminationGracePeriodSeconds?: number;
    automountServiceAccountToken?: boolean;
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
    containers: Container[];
    volumes?: Volume[];
  };
}

interface Container {
  name: string;
  image: string;
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
  }[];
  envFrom?: { configMapRef?: { name: string } }[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: { httpGet?: { path: string; port: string | number } };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface Volume {
  name: string;
  projected?: {
    sources: {
      configMap?: { name: string; items: { key: string; path: string }[] };
      secret?: { name: string; items: { key: string; path: string }[] };
    }[];
  };
  emptyDir?: object;
}

describe('deploy/k8s', () => {
  let manifests: Manifest[];
  const byKind = (kind: string): Manifest['doc'][] =>
    manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc);
  const named = (kind: string, name: string): Record<string, unknown> => {
    const found = byKind(kind).find((d) => d.metadata.name === name);
    if (!found) throw new Error(`no ${kind} ${name}`);
    return found;
  };
  const deployment = (component: string): PodTemplate =>
    (named('Deployment', `certfleet-${component}`) as { spec: { template: PodTemplate } }).spec.template;
  const components = ['api', 'worker', 'notifier'];

  beforeAll(async () => {
    manifests = await loadManifests();
  });

  it('holds the api, worker and notifier Deployments, a Service, ConfigMaps, Secrets, a PodDisruptionBudget and NetworkPolicies', () => {
    const kinds = new Set(manifests.map((m) => m.doc.kind));
    expect([...kinds].sort()).toEqual(
      ['ConfigMap', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Service'].sort(),
    );
    expect(
      byKind('Deployment')
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(components.map((c) => `certfleet-${c}`).sort());
  });

  it('passes the Kubernetes OpenAPI schema of its kind, every document', async () => {
    for (const manifest of manifests) {
      expect(
        await schemaErrors(manifest),
        `${manifest.file} ${manifest.doc.kind}/${manifest.doc.metadata.name}`,
      ).toEqual([]);
    }
  });

  it('the schema check finds a port that is not a number', async () => {
    const broken = structuredClone(manifests.find((m) => m.doc.kind === 'Deployment')!);
    const template = (broken.doc as unknown as { spec: { template: PodTemplate } }).spec.template;
    (template.spec.containers[0]!.ports![0] as { containerPort: unknown }).containerPort = 'http';
    expect(await schemaErrors(broken)).toEqual([expect.stringContaining('containerPort must be integer')]);
  });

  it('has no field the Kubernetes types lack, at any depth (strict)', () => {
    expect(unknownFieldErrors(manifests)).toEqual([]);
  });

  it('the strict check finds a misspelt field deep in a pod template', () => {
    const api = manifests.find((m) => m.doc.kind === 'Deployment')!;
    const broken = structuredClone(api);
    const template = (broken.doc as unknown as { spec: { template: PodTemplate } }).spec.template;
    const container = template.spec.containers[0]! as Container & { readinesProbe?: unknown };
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;
    const errors = unknownFieldErrors([broken]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /api\.yaml Deployment\/certfleet-api: .*"readinesProbe"' does not exist in type 'IContainer'/,
    );
  });

  it('runs every pod as non-root, read-only, without capabilities, privilege escalation or a service-account token', () => {
    for (const component of components) {
      const { spec } = deployment(component);
      expect(spec.securityContext?.runAsNonRoot).toBe(true);
      expect(spec.securityContext?.runAsUser).toBeGreaterThan(0);
      expect(spec.automountServiceAccountToken).toBe(false);
      for (const container of spec.containers) {
        expect(container.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(container.resources?.requests?.['memory']).toBeTruthy();
        expect(container.resources?.limits?.['memory']).toBeTruthy();
        for (const mount of container.volumeMounts ?? []) {
          if (mount.mountPath !== '/tmp') expect(mount.readOnly, mount.mountPath).toBe(true);
        }
      }
    }
  });

  it('runs in each Deployment the README’s command for its component', () => {
    for (const component of components) {
      const [container] = deployment(component).spec.containers;
      expect(container!.command).toEqual(serviceCommand(component));
      expect(documentedCommands(deploying)).toContain(container!.command!.join(' '));
    }
  });

  it('gives every pod a grace period above FLEET_SHUTDOWN_TIMEOUT plus the process’s own 5 s', () => {
    const settings = (named('ConfigMap', 'certfleet-config') as { data: Record<string, string> }).data;
    const timeoutS =
      loadConfig({ ...settings, FLEET_MASTER_KEY: randomBytes(32).toString('base64') }).shutdownTimeoutMs /
      1000;
    expect(timeoutS).toBe(30);
    for (const component of components) {
      expect(deployment(component).spec.terminationGracePeriodSeconds).toBeGreaterThan(
        timeoutS + SHUTDOWN_SLACK_S,
      );
    }
  });

  describe('the api’s probes and Service', () => {
    it('probes readiness on /readyz and liveness on /healthz, on the port the api listens on', () => {
      const [container] = deployment('api').spec.containers;
      expect(container!.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(container!.livenessProbe?.httpGet?.path).toBe('/healthz');
      const http = container!.ports?.find((p) => p.name === 'http');
      expect(String(http?.containerPort)).toBe(container!.env?.find((e) => e.name === 'PORT')?.value);
      for (const probe of [container!.readinessProbe, container!.livenessProbe, container!.startupProbe]) {
        expect(probe?.httpGet?.port).toBe('http');
      }
    });

    it('probes paths that are API routes answering 200 on a real API', async () => {
      const [container] = deployment('api').spec.containers;
      const paths = [container!.readinessProbe, container!.livenessProbe, container!.startupProbe].map(
        (p) => p!.httpGet!.path,
      );
      for (const probePath of new Set(paths)) {
        const res = await fetch(`${api.url}${probePath}`);
        expect(res.status, probePath).toBe(200);
      }
    });

    it('routes the Service to the api pods’ named port', () => {
      const service = named('Service', 'certfleet-api') as {
        spec: { selector: Record<string, string>; ports: { targetPort: string }[] };
      };
      expect(deployment('api').metadata.labels).toMatchObject(service.spec.selector);
      expect(deployment('worker').metadata.labels).not.toMatchObject(service.spec.selector);
      expect(service.spec.ports.map((p) => p.targetPort)).toEqual(['http']);
    });
  });

  it('gives workers and the notifier no probe and no port: they listen on none', () => {
    for (const component of ['worker', 'notifier']) {
      const [container] = deployment(component).spec.containers;
      expect(
        container!.readinessProbe ?? container!.livenessProbe ?? container!.startupProbe,
      ).toBeUndefined();
      expect(container!.ports).toBeUndefined();
    }
  });

  /** The environment a Deployment's container gets, with Secret placeholders replaced or not. */
  function containerEnv(
    component: string,
    replace: Record<string, string> | undefined,
  ): Record<string, string> {
    const [container] = deployment(component).spec.containers;
    const env: Record<string, string> = {};
    for (const from of container!.envFrom ?? []) {
      Object.assign(
        env,
        (named('ConfigMap', from.configMapRef!.name) as { data: Record<string, string> }).data,
      );
    }
    for (const variable of container!.env ?? []) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (!ref) {
        env[variable.name] = variable.value ?? '';
        continue;
      }
      const value = (named('Secret', ref.name) as { stringData: Record<string, string> }).stringData[ref.key];
      if (value === undefined) {
        expect(ref.optional, `${component}: ${ref.name}/${ref.key} exists or is optional`).toBe(true);
        continue;
      }
      env[variable.name] = value.includes('REPLACE-ME') && replace ? replace[variable.name]! : value;
    }
    return env;
  }

  it('gives each Deployment an environment that loadConfig accepts once the placeholders are replaced, and refuses before', () => {
    const real = { FLEET_MASTER_KEY: randomBytes(32).toString('base64'), REDIS_URL: 'redis://redis:6379' };
    for (const component of components) {
      expect(() => loadConfig(containerEnv(component, real)), component).not.toThrow();
      expect(() => loadConfig(containerEnv(component, undefined)), component).toThrow(ConfigError);
      expect(() => loadConfig(containerEnv(component, undefined))).toThrow(/FLEET_MASTER_KEY/);
    }
  });

  it('keeps only marked placeholders or empty values in the Secrets', () => {
    for (const secret of byKind('Secret') as unknown as {
      data?: object;
      stringData: Record<string, string>;
    }[]) {
      expect(secret.data).toBeUndefined();
      for (const [key, value] of Object.entries(secret.stringData)) {
        expect(value === '' || value.includes('REPLACE-ME'), key).toBe(true);
      }
    }
  });

  it('mounts a valid inventory, and the SSH key it names, read-only where FLEET_INVENTORY and FLEET_AUTH point', () => {
    const settings = (named('ConfigMap', 'certfleet-config') as { data: Record<string, string> }).data;
    const inventoryText = (named('ConfigMap', 'certfleet-inventory') as { data: Record<string, string> })
      .data['inventory.yaml']!;
    const inventoryPath = settings['FLEET_INVENTORY']!;
    const inventory = parseInventory(inventoryText, inventoryPath);
    const keyPaths = new Set(inventory.environments.flatMap((e) => e.frontEnds.map((f) => f.privateKeyPath)));
    for (const component of ['api', 'worker']) {
      const { spec } = deployment(component);
      const mount = spec.containers[0]!.volumeMounts!.find(
        (m) => m.mountPath === path.dirname(inventoryPath),
      )!;
      expect(mount.readOnly).toBe(true);
      const sources = spec.volumes!.find((v) => v.name === mount.name)!.projected!.sources;
      const files = sources.flatMap((s) =>
        (s.configMap ?? s.secret)!.items.map((i) => path.join(mount.mountPath, i.path)),
      );
      expect(files).toContain(inventoryPath);
      for (const key of keyPaths) expect(files).toContain(key);
      if (component === 'api') expect(files).toContain(settings['FLEET_AUTH']);
    }
  });

  it('keeps one worker up through voluntary disruptions', () => {
    const pdb = named('PodDisruptionBudget', 'certfleet-worker') as {
      spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    };
    expect(deployment('worker').metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
    const replicas = (named('Deployment', 'certfleet-worker') as { spec: { replicas: number } }).spec
      .replicas;
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(pdb.spec.minAvailable).toBeLessThan(replicas);
  });

  it('lets only the api accept connections, and each component reach what it needs', () => {
    type Rule = { ports?: { port: number; protocol: string }[] };
    type Policy = {
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        policyTypes: string[];
        ingress?: Rule[];
        egress: Rule[];
      };
    };
    const ports = (rules: Rule[] | undefined): string[] =>
      (rules ?? []).flatMap((r) => (r.ports ?? []).map((p) => `${p.protocol}/${p.port}`)).sort();
    const base = ['TCP/26379', 'TCP/53', 'TCP/6379', 'UDP/53'];
    const expected: Record<string, { ingress: string[]; egress: string[] }> = {
      api: { ingress: ['TCP/8080'], egress: [...base, 'TCP/22'].sort() },
      worker: { ingress: [], egress: [...base, 'TCP/22'].sort() },
      notifier: { ingress: [], egress: [...base, 'TCP/443', 'TCP/465', 'TCP/587'].sort() },
    };
    for (const component of components) {
      const policy = named('NetworkPolicy', `certfleet-${component}`) as unknown as Policy;
      const selected = components.filter((c) =>
        Object.entries(policy.spec.podSelector.matchLabels).every(
          ([k, v]) => deployment(c).metadata.labels[k] === v,
        ),
      );
      expect(selected).toEqual([component]);
      expect(policy.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
      expect({ ingress: ports(policy.spec.ingress), egress: ports(policy.spec.egress) }).toEqual(
        expected[component],
      );
    }
    const apiPort = deployment('api').spec.containers[0]!.ports![0]!.containerPort;
    expect(expected['api']!.ingress).toEqual([`TCP/${apiPort}`]);
  });
});

describe('deploy/systemd', () => {
  const dir = path.join(REPO_ROOT, 'deploy', 'systemd');
  const dropIn = path.join(dir, 'certfleet-.service.d', 'hardening.conf');
  let units: string[];
  let work: string;

  beforeAll(async () => {
    units = (await readdir(dir)).filter((f) => f.endsWith('.service')).sort();
    // systemd-analyze reads drop-ins from the unit's own directory: a copy holds exactly ours
    work = await mkdtemp(path.join(tmpdir(), 'certfleet-units-'));
    await cp(dir, work, { recursive: true });
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('has a unit for the api, the worker, the notifier and all three in one', () => {
    expect(units).toEqual(SERVICES.map((s) => `certfleet-${s}.service`).sort());
  });

  it('passes systemd-analyze verify, every unit with its drop-in, without a warning', async () => {
    const { stderr } = await run('systemd-analyze', ['verify', ...units.map((u) => path.join(work, u))]);
    expect(stderr).toBe('');
  });

  it('systemd-analyze verify reports a misspelt key, as the check above relies on', async () => {
    const text = await readFile(path.join(work, 'certfleet-api.service'), 'utf8');
    const misspelt = path.join(work, 'certfleet-misspelt.service');
    await writeFile(misspelt, text.replace('[Service]', '[Service]\nNoNewPrivilege=yes'));
    const { stderr } = await run('systemd-analyze', ['verify', misspelt]).catch(
      (err: { stderr: string }) => err,
    );
    await rm(misspelt);
    expect(stderr).toContain("Unknown key 'NoNewPrivilege'");
  });

  it('rates OK (exposure at most 2.0) in systemd-analyze security, every unit', async () => {
    for (const unit of units) {
      const { stdout } = await run('systemd-analyze', ['security', '--offline=yes', path.join(work, unit)]);
      const exposure = /Overall exposure level for \S+: (\d+\.\d+)/.exec(stdout);
      expect(exposure, unit).not.toBeNull();
      expect(Number(exposure![1]), unit).toBeLessThanOrEqual(2);
    }
  });

  it('runs in each unit the README’s command with plain node; the notifier alone has no reload', async () => {
    for (const unit of units) {
      const service = /^certfleet-(\w+)\.service$/.exec(unit)![1]!;
      const parsed = parseUnit(await readFile(path.join(dir, unit), 'utf8'));
      expect(unitValues(parsed, 'Service', 'ExecStart')).toEqual([serviceCommand(service).join(' ')]);
      expect(documentedCommands(deploying)).toContain(serviceCommand(service).join(' '));
      expect(unitValues(parsed, 'Service', 'ExecReload')).toEqual(
        service === 'notifier' ? [] : ['/bin/kill -HUP $MAINPID'],
      );
      expect(unitValues(parsed, 'Install', 'WantedBy')).toEqual(['multi-user.target']);
    }
  });

  it('hardens every unit through the shared drop-in, which refuses to run without itself', async () => {
    const hardening = parseUnit(await readFile(dropIn, 'utf8'));
    const one = (key: string): string | undefined => unitValues(hardening, 'Service', key).at(-1);
    expect({
      NoNewPrivileges: one('NoNewPrivileges'),
      ProtectSystem: one('ProtectSystem'),
      ProtectHome: one('ProtectHome'),
      PrivateTmp: one('PrivateTmp'),
      PrivateDevices: one('PrivateDevices'),
      CapabilityBoundingSet: one('CapabilityBoundingSet'),
      User: one('User'),
    }).toEqual({
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      CapabilityBoundingSet: '',
      User: 'certfleet',
    });
    // certfleet writes no file; V8's JIT needs writable code pages
    expect(unitValues(hardening, 'Service', 'ReadWritePaths')).toEqual([]);
    expect(unitValues(hardening, 'Service', 'MemoryDenyWriteExecute')).toEqual([]);
    expect(unitValues(hardening, 'Unit', 'AssertPathExists')).toEqual([
      '/etc/systemd/system/certfleet-.service.d/hardening.conf',
    ]);
    expect(parseDuration(one('TimeoutStopSec')!)! / 1000).toBeGreaterThan(30 + SHUTDOWN_SLACK_S);
  });

  it('reads its secrets from the documented EnvironmentFile, then the unit’s own', async () => {
    const hardening = parseUnit(await readFile(dropIn, 'utf8'));
    expect(unitValues(hardening, 'Service', 'EnvironmentFile')).toEqual([
      '/etc/certfleet/certfleet.env',
      '-/etc/certfleet/%N.env',
    ]);
    const guide = await repoText('deploy/systemd/README.md');
    expect(guide).toContain('| `/etc/certfleet/certfleet.env` | `root:root 0600` |');
    expect(deploying).toContain('/etc/certfleet/certfleet.env');
    const example = await repoText('deploy/examples/certfleet.env');
    const keys = example
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.slice(0, l.indexOf('=')));
    for (const key of keys) expect(readme).toContain(`\`${key}\``);
  });
});
