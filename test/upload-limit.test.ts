/**
 * An upload larger than the body limit gets its 413 JSON answer, not a broken
 * pipe: the server reads and drops the rest before answering. Shown with real
 * clients against a listening server: fetch (with a length and chunked), curl,
 * and fleetctl, which also refuses an oversized --pfx before uploading.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { signBody } from '@certfleet/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from './support/api-server.js';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../packages/cli/bin/fleetctl.js');
const THREE_MIB = 3 * 1024 * 1024;
/** What a client sends for a 3 MiB file: its base64 in the JSON body (4 MiB). */
const PFX_OF_3_MIB = Buffer.alloc(THREE_MIB, 0x25).toString('base64');

describe('uploads larger than the body limit', () => {
  let api: ApiServer;
  let dir: string;
  let bigJson: string;
  let bigPdf: string;

  beforeAll(async () => {
    api = await startApiServer({ FLEET_WEBHOOK_SECRET: 'upload-secret' });
    dir = await mkdtemp(path.join(tmpdir(), 'certfleet-upload-'));
    bigPdf = path.join(dir, 'contract.pdf');
    await writeFile(bigPdf, Buffer.alloc(THREE_MIB, 0x25));
    bigJson = path.join(dir, 'big.json');
    await writeFile(bigJson, JSON.stringify({ ticket: 'CASE-1', pfx: PFX_OF_3_MIB }));
  });

  afterAll(async () => {
    await api?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const auth = (who = 'alice'): string => `Bearer ${api.tokens[who]!}`;
  const TOO_LARGE = {
    error: 'payload_too_large',
    message: expect.stringMatching(/^the request is larger than \d+ bytes/),
  };

  it('answers fetch sending 3 MiB with a Content-Length with 413 payload_too_large', async () => {
    const res = await fetch(`${api.url}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ pfx: PFX_OF_3_MIB }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual(TOO_LARGE);
  });

  it('answers fetch in another process (the client sends while the server answers) with 413', async () => {
    // In the server's own process the upload finishes before the answer; another process shows the race.
    const script = `
      const body = JSON.stringify({ pfx: Buffer.alloc(${THREE_MIB}, 0x25).toString('base64') });
      const res = await fetch(process.env.URL, { method: 'POST', headers: JSON.parse(process.env.HEADERS), body });
      console.log(JSON.stringify({ status: res.status, body: await res.json() }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        URL: `${api.url}/v1/jobs`,
        HEADERS: JSON.stringify({ authorization: auth(), 'content-type': 'application/json' }),
      },
    });
    expect(JSON.parse(stdout)).toEqual({ status: 413, body: TOO_LARGE });
  });

  it('answers fetch streaming 3 MiB chunked (no Content-Length) with 413 payload_too_large', async () => {
    const chunk = new Uint8Array(64 * 1024).fill(0x41);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= PFX_OF_3_MIB.length) controller.close();
        else {
          sent += chunk.length;
          controller.enqueue(chunk);
        }
      },
    });
    const res = await fetch(`${api.url}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: auth(), 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual(TOO_LARGE);
  });

  it('answers curl --data-binary of a 3 MiB file with 413 and the JSON message', async () => {
    const { stdout } = await run('curl', [
      '-sS',
      '--max-time',
      '60',
      '-X',
      'POST',
      '-H',
      `authorization: ${auth()}`,
      '-H',
      'content-type: application/json',
      '--data-binary',
      `@${bigJson}`,
      '-w',
      '\n%{http_code}',
      `${api.url}/v1/jobs`,
    ]);
    const [body, status] = stdout.split('\n');
    expect(status).toBe('413');
    expect(JSON.parse(body!)).toEqual(TOO_LARGE);
  });

  it('answers a 3 MiB upload without a token with 401, readable by the client', async () => {
    const res = await fetch(`${api.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pfx: PFX_OF_3_MIB }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('unauthorized');
  });

  it('answers a signed 3 MiB webhook with 413 (the body is read to check the signature, up to the limit)', async () => {
    const body = JSON.stringify({ pfx: PFX_OF_3_MIB });
    const res = await fetch(`${api.url}/v1/webhooks/ticket`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-certfleet-signature': signBody('upload-secret', body),
      },
      body,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe('payload_too_large');
  });

  describe('fleetctl submit, as a child process', () => {
    async function fleetctl(
      args: string[],
      env: Record<string, string> = {},
    ): Promise<{ code: number | null; stdout: string; stderr: string }> {
      await writeFile(path.join(dir, 'pw'), 'secret\n');
      const child = spawn(
        process.execPath,
        [
          BIN,
          'submit',
          '--pfx',
          bigPdf,
          '--env',
          'http-prd',
          '--name',
          'upload-client',
          '--ticket',
          'CASE-2',
          '--password-file',
          path.join(dir, 'pw'),
          ...args,
        ],
        {
          env: {
            PATH: process.env['PATH'] ?? '',
            CERTFLEET_URL: api.url,
            CERTFLEET_TOKEN: api.tokens['alice']!,
            ...env,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      return { code, stdout, stderr };
    }

    it('refuses a 3 MiB --pfx before uploading, in one line naming the file, its size and the limit', async () => {
      const result = await fleetctl([]);
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /^fleetctl: .*--pfx .*contract\.pdf: 3145728 bytes, more than the 1048576 a PFX may hold \(FLEET_MAX_PFX_BYTES\)/,
        ),
      ]);
    });

    it("shows the server's 413 message when its own limit lets the file through (FLEET_MAX_PFX_BYTES=8 MiB here)", async () => {
      const result = await fleetctl([], { FLEET_MAX_PFX_BYTES: String(8 * 1024 * 1024) });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/payload_too_large: the request is larger than \d+ bytes/);
      expect(result.stderr).not.toMatch(/fetch failed|EPIPE|ECONNRESET|socket/i);
    });
  });
});
