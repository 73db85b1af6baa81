/**
 * InfluxDB 1.8's InfluxDB 2.x write API in front of the test influxd, which is Debian's 1.6 and
 * lacks it. Like 1.8, it takes `POST /api/v2/write?org=&bucket=<database>[/<retention policy>]&precision=`
 * with `Authorization: Token <token>` and writes the body to `/write?db=&rp=&precision=`,
 * passing `Content-Encoding` on and influxd's answer back. The org is required and otherwise
 * ignored (as 1.8 does). A wrong or missing token gets 401, any other path 404, so a client
 * that does not speak the 2.x API writes nothing. Every request is kept in `requests`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface V2WriteRequest {
  method: string;
  path: string;
  org: string | null;
  bucket: string | null;
  precision: string | null;
  authorization: string | null;
  contentEncoding: string | null;
}

export interface V2WriteShim {
  /** `http://127.0.0.1:PORT` */
  url: string;
  requests: V2WriteRequest[];
  close(): Promise<void>;
}

export async function startV2WriteShim(influxUrl: string, options: { token: string }): Promise<V2WriteShim> {
  const requests: V2WriteRequest[] = [];
  const reply = (res: ServerResponse, status: number, code: string, message: string): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ code, message }));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://shim');
    const header = (name: string): string | null => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : null);
    const seen: V2WriteRequest = {
      method: req.method ?? '',
      path: url.pathname,
      org: url.searchParams.get('org'),
      bucket: url.searchParams.get('bucket'),
      precision: url.searchParams.get('precision'),
      authorization: header('authorization'),
      contentEncoding: header('content-encoding'),
    };
    requests.push(seen);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (seen.method !== 'POST' || seen.path !== '/api/v2/write') return reply(res, 404, 'not found', 'page not found');
    if (seen.authorization !== `Token ${options.token}`) return reply(res, 401, 'unauthorized', 'authorization failed');
    if (!seen.org || !seen.bucket) return reply(res, 400, 'invalid', 'org and bucket are required');
    const [db, rp] = seen.bucket.split('/', 2) as [string, string | undefined];
    const params = new URLSearchParams({ db, precision: seen.precision ?? 'ns' });
    if (rp) params.set('rp', rp);
    const upstream = await fetch(`${influxUrl}/write?${params}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8', ...(seen.contentEncoding ? { 'content-encoding': seen.contentEncoding } : {}) },
      body: Buffer.concat(chunks),
    });
    const text = await upstream.text();
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' }).end(text);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => reply(res, 503, 'unavailable', String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
