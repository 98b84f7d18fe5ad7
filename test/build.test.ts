/**
 * The compiled runtime: `npm run build` (made by the integration tests' global set-up) puts
 * every workspace's JavaScript in `<workspace>/dist/` with the layout of `src/`, and the API
 * and a worker started from there under plain Node.js, as `npm start` runs them, answer and
 * work against real Redis without loading one TypeScript file or tsx.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRedis } from '@certfleet/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  freePort,
  killAllServices,
  type OneHostDeployment,
  oneHostDeployment,
  REPO_ROOT,
  serviceEnv,
  spawnService,
} from './support/processes.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** Every workspace directory (packages/*, services/*). */
const WORKSPACES = ['packages', 'services'].flatMap((group) =>
  readdirSync(path.join(REPO_ROOT, group)).map((name) => path.join(group, name)),
);

/** The files under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

/**
 * A module preloaded with `--import` that appends the URL of every module the process loads
 * to $LOADED_MODULES (Node.js's in-thread module hooks see ES modules and require() alike).
 */
const RECORD_LOADS = `data:text/javascript,${encodeURIComponent(`
  import { registerHooks } from 'node:module';
  import { appendFileSync } from 'node:fs';
  registerHooks({ load(url, context, next) { appendFileSync(process.env.LOADED_MODULES, url + '\\n'); return next(url, context); } });
`)}`;

const ROOT_URL = `file://${REPO_ROOT}/`;

/** Checks that of certfleet's own code only dist/ was loaded, and no TypeScript or tsx at all. */
function expectCompiledOnly(urls: string[]): void {
  const ours = urls
    .filter((url) => url.startsWith(ROOT_URL) && !url.includes('/node_modules/'))
    .map((url) => url.slice(ROOT_URL.length));
  expect(ours.filter((file) => !/^(packages|services)\/[^/]+\/dist\//.test(file))).toEqual([]);
  expect(urls.filter((url) => url.endsWith('.ts') || url.includes('/node_modules/tsx/'))).toEqual([]);
}

describe('npm run build', () => {
  it.each(WORKSPACES)('compiles %s to dist/ with the layout of src/, tests left out', (workspace) => {
    const src = path.join(REPO_ROOT, workspace, 'src');
    const dist = path.join(REPO_ROOT, workspace, 'dist');
    const expected = filesUnder(src)
      .filter((file) => !file.endsWith('.test.ts'))
      .flatMap((file) =>
        file.endsWith('.ts') ? [file.replace(/\.ts$/, '.js'), file.replace(/\.ts$/, '.d.ts')] : [file],
      );
    const built = new Set(filesUnder(dist));
    expect(expected.filter((file) => !built.has(file))).toEqual([]);
    expect([...built].filter((file) => file.includes('.test.'))).toEqual([]);
  });

  it("declares in each workspace's package.json and tsconfig.build.json exactly what its sources import", () => {
    const check = spawnSync(process.execPath, [path.join(REPO_ROOT, 'tools/workspace-deps.js')], {
      encoding: 'utf8',
    });
    expect(check.stdout).toMatch(/^workspace dependencies: \d+ workspaces match their imports\n$/);
    expect(check.status).toBe(0);
  });
});

describe('the compiled services under plain Node.js', () => {
  let deployment: OneHostDeployment;
  let work: string;
  const prefix = `build-${randomBytes(5).toString('hex')}`;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'certfleet-build-'));
    deployment = await oneHostDeployment('acme-prd');
  });

  afterAll(async () => {
    await killAllServices();
    await deployment?.stop();
    await rm(work, { recursive: true, force: true });
    const redis = createRedis(REDIS_URL);
    const keys = await redis.keys(`{${prefix}}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  /** Starts `service` from dist/ and returns it with the file its loaded modules go to. */
  function startCompiled(service: 'api' | 'worker', extra: Record<string, string>) {
    const loaded = path.join(work, `${service}-modules.txt`);
    const env = serviceEnv(
      deployment.files,
      { redisUrl: REDIS_URL, prefix },
      { ...extra, LOADED_MODULES: loaded },
    );
    const proc = spawnService(service, env, { compiled: true, nodeArgs: [`--import=${RECORD_LOADS}`] });
    return { proc, modules: async () => (await readFile(loaded, 'utf8')).trim().split('\n') };
  }

  it('starts the API from services/api/dist/main.js: /healthz answers, the page is served, no TypeScript is loaded', async () => {
    const port = await freePort();
    const { proc, modules } = startCompiled('api', { PORT: String(port) });
    const api = apiClient(`http://127.0.0.1:${port}`, deployment.files.tokens);
    await api.waitUntilUp(30_000);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    // services/api/ui/ is found from the compiled app.js (../ui/ beside dist/)
    const page = await fetch(`http://127.0.0.1:${port}/ui/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');

    const urls = await modules();
    expect(urls).toContain(`file://${REPO_ROOT}/services/api/dist/main.js`);
    expect(urls).toContain(`file://${REPO_ROOT}/packages/jobs/dist/index.js`);
    expectCompiledOnly(urls);
    proc.kill('SIGTERM');
    expect((await proc.waitExit(30_000)).code).toBe(0);
  });

  it('starts a worker from services/worker/dist/main.js, with the Windows scripts found beside the compiled code', async () => {
    const { proc, modules } = startCompiled('worker', {});
    await proc.waitForOutput(/worker started/, 30_000);
    const urls = await modules();
    expect(urls).toContain(`file://${REPO_ROOT}/services/worker/dist/main.js`);
    // windows-script.js reads install.ps1 and bootstrap.ps1 from dist/windows/ when it loads
    expect(urls).toContain(`file://${REPO_ROOT}/packages/ssh/dist/windows-script.js`);
    expect(existsSync(path.join(REPO_ROOT, 'packages/ssh/dist/windows/install.ps1'))).toBe(true);
    expectCompiledOnly(urls);
    proc.kill('SIGTERM');
    expect((await proc.waitExit(30_000)).code).toBe(0);
  });
});
