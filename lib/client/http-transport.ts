/**
 * Calls through the router's HTTP bridge (crossbar's "caller" path, ocs-protocol §5.2): POST
 * `{"procedure", "args", "kwargs"}` as JSON; HTTP 200 `{"args": [v]}` answers `v`, HTTP 200
 * `{"error", "args", "kwargs"}` is a WAMP error, anything else means the bridge is unusable.
 * The body is written with the project codec, so a `WampFloat` parameter stays a float (`1.0`).
 *
 * Requests go through node:http rather than fetch: fetch gives up on a response whose headers
 * take more than 300 s, and OCS's `wait` without a timeout legitimately holds the request open
 * until the operation ends. The only deadline is the caller's own `timeoutMs`. Connections are
 * kept alive between calls and closed by `close()`.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { z } from 'zod';
import { ConfigError, errorFromWamp, InternalError, OpTimeoutError, RouterUnavailableError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { encodeJson } from '../wamp/json-codec.js';
import type { ClientTransport, TransportCallOptions } from './client-transport.js';

export interface HttpResponse {
  status: number;
  body: string;
}

/** Sends one POST with a JSON body; rejects only when no HTTP response arrives. */
export type HttpPost = (url: string, body: string, signal: AbortSignal) => Promise<HttpResponse>;

export interface HttpTransportOptions {
  /** The bridge URL, e.g. `http://localhost:8001/call`. */
  url: string;
  logger?: Logger;
  /** Replaces the network request (tests). */
  post?: HttpPost;
}

const BridgeReplySchema = z.union([
  z.looseObject({
    error: z.string(),
    args: z.array(z.unknown()).nullish(),
    kwargs: z.record(z.string(), z.unknown()).nullish(),
  }),
  z.looseObject({ args: z.array(z.unknown()).nullish(), kwargs: z.record(z.string(), z.unknown()).nullish() }),
]);

export class HttpTransport implements ClientTransport {
  readonly kind = 'http' as const;
  readonly url: string;
  private readonly logger: Logger;
  private readonly post: HttpPost;
  private readonly agent: HttpAgent;

  constructor(options: HttpTransportOptions) {
    this.url = options.url;
    this.logger = (options.logger ?? silentLogger()).child({ component: 'http-bridge', url: options.url });
    this.agent = parseUrl(options.url).protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.post = options.post ?? ((url, body, signal) => postJson(url, body, signal, this.agent));
  }

  async call(procedure: string, args: unknown[], kwargs: Record<string, unknown>, options: TransportCallOptions = {}): Promise<unknown> {
    const controller = new AbortController();
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(), options.timeoutMs);
    let response: HttpResponse;
    try {
      this.logger.debug({ procedure }, 'call');
      response = await this.post(this.url, encodeJson({ procedure, args, kwargs }), controller.signal);
    } catch (e) {
      if (controller.signal.aborted) {
        throw new OpTimeoutError(`call to ${procedure} timed out after ${options.timeoutMs} ms`, {
          details: { procedure, timeoutMs: options.timeoutMs },
          cause: e,
        });
      }
      const code = (e as NodeJS.ErrnoException).code;
      throw new RouterUnavailableError(`cannot reach the HTTP bridge at ${this.url}: ${(e as Error).message}`, {
        details: { url: this.url, procedure, ...(code ? { errno: code } : {}) },
        cause: e,
      });
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
    return this.decode(procedure, response);
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  private decode(procedure: string, response: HttpResponse): unknown {
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      body = undefined;
    }
    const parsed = BridgeReplySchema.safeParse(body);
    if (response.status !== 200) {
      const uri = parsed.success && 'error' in parsed.data ? parsed.data.error : undefined;
      throw new RouterUnavailableError(`the HTTP bridge at ${this.url} replied with status ${response.status}${uri ? ` (${uri})` : ''}`, {
        details: { url: this.url, procedure, status: response.status, ...(uri ? { uri } : {}) },
      });
    }
    if (!parsed.success) {
      throw new InternalError(`the HTTP bridge at ${this.url} sent an unreadable reply to ${procedure}`, {
        details: { url: this.url, procedure, body: response.body.slice(0, 200) },
      });
    }
    const reply = parsed.data;
    if ('error' in reply && typeof reply.error === 'string') {
      throw errorFromWamp(reply.error, reply.args ?? [], reply.kwargs ?? {});
    }
    return reply.args?.[0] ?? null;
  }
}

function parseUrl(url: string): URL {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new ConfigError(`invalid HTTP bridge URL ${JSON.stringify(url)} (expected http://HOST:PORT/call)`, { details: { url } });
  }
  return parsed;
}

/** POSTs `body` as JSON with node:http(s); no deadline besides `signal`. */
export function postJson(url: string, body: string, signal: AbortSignal, agent?: HttpAgent): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      target,
      { method: 'POST', signal, ...(agent ? { agent } : {}), headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
