import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeskHttp } from './desk-http.js';

describe('DeskHttp', () => {
  let server: Server;
  let url = '';

  beforeAll(async () => {
    // a desk behind a proxy whose maintenance page answers 200 with HTML
    server = createServer((req, res) => {
      if (req.url === '/api/ok') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      } else {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance secret-ish text</html>');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it("reads the desk's JSON, and answers an HTML page as a desk that is not answering (retried), without its text", async () => {
    const http = new DeskHttp({ baseUrl: url, authorization: 'Bearer t' });
    expect(await http.json('GET', '/api/ok')).toEqual({ ok: true });
    const err = await http.json('GET', '/api/maintenance').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'desk_unreachable', permanent: false, status: 200 });
    expect((err as Error).message).not.toContain('maintenance secret');
  });

  it("refuses a URL off the desk's origin before sending anything", async () => {
    const http = new DeskHttp({ baseUrl: url, authorization: 'Bearer t' });
    await expect(http.json('GET', 'http://127.0.0.2:1/api/ok')).rejects.toMatchObject({
      code: 'desk_refused',
      permanent: true,
    });
  });
});
