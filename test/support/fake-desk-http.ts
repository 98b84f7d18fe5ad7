/**
 * What the help desk fakes share: a desk host on 127.0.0.1 and a file host on
 * 127.0.0.2 (another origin, as a desk's file storage is), each request recorded with
 * the credentials it carried, and JSON in and out.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  host: 'desk' | 'files';
  method: string;
  /** Path and query, as sent. */
  path: string;
  authorization: string | undefined;
  status: number;
}

/** A handler answers the status it sent (for the record). */
export type FakeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<number> | number;

function listen(server: Server, host: string): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve(`http://${host}:${(server.address() as AddressInfo).port}`)),
  );
}

/** A request's JSON body (undefined when empty); rejects on bytes that are not JSON. */
export function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined);
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

/** Sends `body` as JSON (nothing when undefined); answers the status, for the record. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json',
): number {
  res.writeHead(status, {
    ...(body === undefined ? {} : { 'content-type': contentType }),
    ...headers,
  });
  res.end(body === undefined ? undefined : JSON.stringify(body));
  return status;
}

export interface DeskServers {
  url: string;
  filesUrl: string;
  close(): Promise<void>;
}

/** Starts the desk and its file host, each on a free port; every request lands in `requests`. */
export async function startDeskServers(
  desk: FakeHandler,
  files: FakeHandler,
  requests: RecordedRequest[],
  /** What a handler that threw answers (default an empty 500). */
  failed: (res: ServerResponse) => number = (res) => sendJson(res, 500),
): Promise<DeskServers> {
  const recorder =
    (host: 'desk' | 'files', handle: FakeHandler) =>
    (req: IncomingMessage, res: ServerResponse): void => {
      const record = (status: number): void => {
        requests.push({
          host,
          method: req.method ?? '',
          path: req.url ?? '',
          authorization: req.headers.authorization,
          status,
        });
      };
      Promise.resolve(handle(req, res)).then(record, () => record(failed(res)));
    };
  const deskServer = createServer(recorder('desk', desk));
  const filesServer = createServer(recorder('files', files));
  const url = await listen(deskServer, '127.0.0.1');
  const filesUrl = await listen(filesServer, '127.0.0.2');
  return {
    url,
    filesUrl,
    async close() {
      deskServer.closeAllConnections();
      filesServer.closeAllConnections();
      await Promise.all([new Promise((r) => deskServer.close(r)), new Promise((r) => filesServer.close(r))]);
    },
  };
}
