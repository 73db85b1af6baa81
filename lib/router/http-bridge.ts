/**
 * The HTTP caller bridge at `/call`, as crossbar's `caller` path: POST
 * `{"procedure": uri, "args": [...], "kwargs": {...}}` → 200 `{"args": [...], "kwargs": {...}}`,
 * or 200 `{"error": uri, "args": [...], "kwargs": {...}}` for a WAMP error. Bad requests get 400
 * with a JSON body saying why. Calls run through an internal session holding the configured role.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJson, encodeJson } from '../wamp/codec.js';
import type { Logger } from '../log.js';
import type { RouterConfig } from './config.js';
import { SequentialIds } from './ids.js';
import { MSG, isDict, type Dict } from './messages.js';
import type { Router } from './router.js';
import type { Peer, Session } from './session.js';

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, PUT, OPTIONS',
  'access-control-allow-headers': 'content-type, authorization, x-requested-with',
  'access-control-max-age': '86400',
};

type Answer = (msg: unknown[]) => void;

class BridgePeer implements Peer {
  readonly codec = undefined;
  readonly transportDetails: Dict = { type: 'http', path: '/call' };
  readonly pending = new Map<number, Answer>();
  write(): void {
    throw new Error('the HTTP bridge peer takes unencoded messages');
  }
  deliver(msg: unknown[]): void {
    const type = msg[0];
    if (type === MSG.RESULT || type === MSG.ERROR) {
      const request = (type === MSG.RESULT ? msg[1] : msg[2]) as number;
      const answer = this.pending.get(request);
      if (answer === undefined) return;
      if (type === MSG.RESULT && isDict(msg[2]) && msg[2]['progress'] === true) return;
      this.pending.delete(request);
      answer(msg);
    }
  }
  close(): void {
    for (const answer of this.pending.values()) answer([MSG.ERROR, MSG.CALL, 0, {}, 'wamp.close.system_shutdown', ['the router is shutting down']]);
    this.pending.clear();
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = encodeJson(body);
  res.writeHead(status, { ...CORS_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function badRequest(res: ServerResponse, message: string, status = 400): void {
  send(res, status, { error: 'bad_request', message });
}

/** crossbar's caller: one plain value → `{args: [v]}`; several or keyword results → args/kwargs when non-empty. */
function resultBody(args: unknown[] | undefined, kwargs: Dict | undefined): Dict {
  const hasKwargs = kwargs !== undefined && Object.keys(kwargs).length > 0;
  if (!hasKwargs && (args === undefined || args.length <= 1)) return { args: [args?.[0] ?? null] };
  const body: Dict = {};
  if (args !== undefined && args.length > 0) body['args'] = args;
  if (hasKwargs) body['kwargs'] = kwargs;
  return body;
}

export class HttpCallBridge {
  private readonly peer = new BridgePeer();
  private readonly session: Session;
  private readonly ids = new SequentialIds();

  constructor(
    private readonly router: Router,
    realm: string,
    role: string,
    authid: string,
    private readonly limits: RouterConfig['limits'],
    private readonly logger: Logger,
  ) {
    this.session = router.openInternalSession(realm, { authid, authrole: role, authmethod: 'anonymous', authprovider: 'static' }, this.peer);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, CORS_HEADERS);
      res.end();
      return;
    }
    if (req.method !== 'POST' && req.method !== 'PUT') {
      res.setHeader('allow', 'POST, PUT, OPTIONS');
      badRequest(res, `method ${req.method ?? ''} not allowed; POST a JSON body {"procedure": uri, "args": [...], "kwargs": {...}}`, 405);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let isTooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (isTooLarge) return;
      size += chunk.length;
      if (size > this.limits.http_max_body_bytes) {
        isTooLarge = true;
        badRequest(res, `request body larger than ${this.limits.http_max_body_bytes} bytes`, 413);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!isTooLarge) this.call(Buffer.concat(chunks).toString('utf8'), res);
    });
    req.on('error', () => {});
  }

  private call(text: string, res: ServerResponse): void {
    let body: unknown;
    const flags = { special: false };
    try {
      body = decodeJson(text, flags);
    } catch (e) {
      badRequest(res, `request body is not valid JSON: ${(e as Error).message}`);
      return;
    }
    if (!isDict(body)) {
      badRequest(res, 'request body must be a JSON object {"procedure": uri, "args": [...], "kwargs": {...}}');
      return;
    }
    const procedure = body['procedure'];
    if (typeof procedure !== 'string' || procedure.length === 0) {
      badRequest(res, "missing or invalid 'procedure' (a URI string)");
      return;
    }
    const args = body['args'] ?? [];
    const kwargs = body['kwargs'] ?? {};
    if (!Array.isArray(args)) {
      badRequest(res, "'args' must be a list");
      return;
    }
    if (!isDict(kwargs)) {
      badRequest(res, "'kwargs' must be an object");
      return;
    }
    if (!this.session.isOpen) {
      send(res, 500, { error: 'wamp.error.runtime_error', args: ['the router is shutting down'], kwargs: {} });
      return;
    }
    const request = this.ids.next();
    let isAnswered = false;
    this.peer.pending.set(request, (msg) => {
      isAnswered = true;
      if (msg[0] === MSG.RESULT) {
        send(res, 200, resultBody(msg[3] as unknown[] | undefined, msg[4] as Dict | undefined));
      } else {
        send(res, 200, { error: msg[4], args: (msg[5] as unknown[] | undefined) ?? [], kwargs: (msg[6] as Dict | undefined) ?? {} });
      }
    });
    // an HTTP client that goes away cancels its call
    res.on('close', () => {
      if (!isAnswered && this.peer.pending.delete(request)) {
        this.router.handleMessage(this.session, [MSG.CANCEL, request, { mode: 'killnowait' }], false);
      }
    });
    const msg: unknown[] = [MSG.CALL, request, {}, procedure];
    if (args.length > 0 || Object.keys(kwargs).length > 0) msg.push(args);
    if (Object.keys(kwargs).length > 0) msg.push(kwargs);
    try {
      this.router.handleMessage(this.session, msg, flags.special);
    } catch (e) {
      this.logger.error({ err: e }, 'http bridge call failed');
      this.peer.pending.delete(request);
      send(res, 500, { error: 'wamp.error.runtime_error', args: [String(e)], kwargs: {} });
    }
  }

  close(): void {
    this.peer.close();
  }
}
