/**
 * The HTTP caller bridge at `/call`, as crossbar's `caller` path: POST
 * `{"procedure": uri, "args": [...], "kwargs": {...}}` → 200 `{"args": [...], "kwargs": {...}}`,
 * or 200 `{"error": uri, "args": [...], "kwargs": {...}}` for a WAMP error. Bad requests get 400
 * with a JSON body saying why. Calls run through an internal session holding the configured role.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJson, encodeJson } from '../wamp/codec.js';
import type { Logger } from '../log.js';
import { safeEqual } from './auth.js';
import type { RouterConfig } from './config.js';
import { SequentialIds } from './ids.js';
import { MSG, isDict, type Dict } from './messages.js';
import type { Router } from './router.js';
import type { Peer, Session } from './session.js';
import type { WebGuard } from './web-guard.js';

/** What a listed origin's preflight may ask for. */
const PREFLIGHT_HEADERS = {
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
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const ERROR_CODES: Readonly<Record<number, string>> = { 401: 'unauthorized', 403: 'forbidden', 415: 'unsupported_media_type' };

function badRequest(res: ServerResponse, message: string, status = 400): void {
  send(res, status, { error: ERROR_CODES[status] ?? 'bad_request', message });
}

/** `application/json`, with parameters (`; charset=utf-8`) or not: the only body type a page cannot send without a preflight. */
function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const type = header.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json';
}

/** A ticket principal that may sign /call requests with HTTP Basic (`authid:ticket`). */
export interface BridgePrincipal {
  ticket: string;
  role: string;
}

export interface HttpCallBridgeOptions {
  realm: string;
  /** role of requests without credentials; undefined: they are refused (403) */
  role: string | undefined;
  /** authid of requests without credentials */
  authid: string;
  /** ticket principals of the realm, by authid */
  principals: ReadonlyMap<string, BridgePrincipal>;
  limits: RouterConfig['limits'];
  guard: WebGuard;
  logger: Logger;
}

/** `Authorization: Basic base64(authid:ticket)` → [authid, ticket]; undefined when absent or another scheme. */
function basicCredentials(header: string | undefined): [string, string] | undefined | 'malformed' {
  if (header === undefined) return undefined;
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (m === null) return 'malformed';
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return 'malformed';
  return [text.slice(0, colon), text.slice(colon + 1)];
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

interface BridgeIdentity {
  authid: string;
  role: string;
  authmethod: 'anonymous' | 'ticket';
}

interface BridgeCaller {
  peer: BridgePeer;
  session: Session;
}

export class HttpCallBridge {
  /** one internal session per (authid, role) that has made a request */
  private readonly callers = new Map<string, BridgeCaller>();
  private readonly ids = new SequentialIds();
  private readonly limits: RouterConfig['limits'];
  private readonly logger: Logger;

  constructor(
    private readonly router: Router,
    private readonly options: HttpCallBridgeOptions,
  ) {
    this.limits = options.limits;
    this.logger = options.logger;
  }

  /** The session that calls for (authid, role), opened on first use. */
  private callerFor({ authid, role, authmethod }: BridgeIdentity): BridgeCaller {
    const key = `${authid}\u0000${role}`;
    let caller = this.callers.get(key);
    if (caller === undefined || !caller.session.isOpen) {
      const peer = new BridgePeer();
      const session = this.router.openInternalSession(this.options.realm, { authid, authrole: role, authmethod, authprovider: 'static' }, peer);
      caller = { peer, session };
      this.callers.set(key, caller);
    }
    return caller;
  }

  /** The (authid, role) a request runs as, or the refusal already sent. */
  private identify(req: IncomingMessage, res: ServerResponse): BridgeIdentity | undefined {
    const credentials = basicCredentials(req.headers['authorization']);
    if (credentials === 'malformed') {
      badRequest(res, "the Authorization header must be 'Basic base64(authid:ticket)'", 401);
      return undefined;
    }
    if (credentials !== undefined) {
      const [authid, ticket] = credentials;
      const principal = this.options.principals.get(authid);
      if (principal === undefined || !safeEqual(ticket, principal.ticket)) {
        this.logger.warn({ authid, peer: req.socket.remoteAddress }, 'http bridge: invalid credentials');
        badRequest(res, `invalid credentials for '${authid}'`, 401);
        return undefined;
      }
      return { authid, role: principal.role, authmethod: 'ticket' };
    }
    if (this.options.role === undefined) {
      badRequest(res, 'the HTTP bridge takes no requests without credentials here: send Authorization: Basic base64(authid:ticket) of a ticket principal, or set http_bridge.role in the router config', 403);
      return undefined;
    }
    return { authid: this.options.authid, role: this.options.role, authmethod: 'anonymous' };
  }

  /** Host and Origin are checked by the server before this (web-guard.ts). */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers['origin'];
    if (origin !== undefined && this.options.guard.isListedOrigin(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'origin');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, origin !== undefined && this.options.guard.isListedOrigin(origin) ? PREFLIGHT_HEADERS : {});
      res.end();
      return;
    }
    if (req.method !== 'POST' && req.method !== 'PUT') {
      res.setHeader('allow', 'POST, PUT, OPTIONS');
      badRequest(res, `method ${req.method ?? ''} not allowed; POST a JSON body {"procedure": uri, "args": [...], "kwargs": {...}}`, 405);
      return;
    }
    if (!isJsonContentType(req.headers['content-type'])) {
      badRequest(res, `request body must be sent as content-type: application/json (got ${req.headers['content-type'] === undefined ? 'none' : `'${req.headers['content-type']}'`})`, 415);
      req.resume();
      return;
    }
    const who = this.identify(req, res);
    if (who === undefined) {
      req.resume();
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
      if (!isTooLarge) this.call(this.callerFor(who), Buffer.concat(chunks).toString('utf8'), res);
    });
    req.on('error', () => {});
  }

  private call({ peer, session }: BridgeCaller, text: string, res: ServerResponse): void {
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
    if (!session.isOpen) {
      send(res, 500, { error: 'wamp.error.runtime_error', args: ['the router is shutting down'], kwargs: {} });
      return;
    }
    const request = this.ids.next();
    let isAnswered = false;
    peer.pending.set(request, (msg) => {
      isAnswered = true;
      if (msg[0] === MSG.RESULT) {
        send(res, 200, resultBody(msg[3] as unknown[] | undefined, msg[4] as Dict | undefined));
      } else {
        send(res, 200, { error: msg[4], args: (msg[5] as unknown[] | undefined) ?? [], kwargs: (msg[6] as Dict | undefined) ?? {} });
      }
    });
    // an HTTP client that goes away cancels its call
    res.on('close', () => {
      if (!isAnswered && peer.pending.delete(request)) {
        this.router.handleMessage(session, [MSG.CANCEL, request, { mode: 'killnowait' }], false);
      }
    });
    const msg: unknown[] = [MSG.CALL, request, {}, procedure];
    if (args.length > 0 || Object.keys(kwargs).length > 0) msg.push(args);
    if (Object.keys(kwargs).length > 0) msg.push(kwargs);
    try {
      this.router.handleMessage(session, msg, flags.special);
    } catch (e) {
      this.logger.error({ err: e }, 'http bridge call failed');
      peer.pending.delete(request);
      send(res, 500, { error: 'wamp.error.runtime_error', args: [String(e)], kwargs: {} });
    }
  }

  close(): void {
    for (const { peer } of this.callers.values()) peer.close();
  }
}
