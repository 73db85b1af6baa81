/**
 * What the router's HTTP services (`/call`, `/publish`) share, as crossbar's HTTP bridge does it:
 * CORS for listed origins, JSON bodies only, the body size limit, the role a request runs as
 * (the configured one, or a ticket principal's with HTTP Basic credentials), and one internal
 * session per (authid, role) that carries the requests into the router. A refused request gets
 * crossbar's error shape `{"error": text, "args": [], "kwargs": {}}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJson, encodeJson } from '../wamp/json-codec.js';
import { WAMP_ERRORS } from '../errors.js';
import type { Logger } from '../log.js';
import { safeEqual } from './auth.js';
import type { RouterConfig } from './config.js';
import { SequentialIds } from './ids.js';
import { readMessage } from './inbound.js';
import { MSG, isDict, type Dict } from './messages.js';
import { Payload } from './payload.js';
import type { Router } from './router.js';
import type { Peer, Session } from './session.js';
import type { WebGuard } from './web-guard.js';

/** What a listed origin's preflight may ask for. */
const PREFLIGHT_HEADERS = {
  'access-control-allow-methods': 'POST, PUT, OPTIONS',
  'access-control-allow-headers': 'content-type, authorization, x-requested-with',
  'access-control-max-age': '86400',
};

/** A reply to a request: the message's head (RESULT, ERROR or PUBLISHED) and its payload. */
type Answer = (head: readonly unknown[], payload: Payload) => void;

/** The in-process peer of an HTTP service's session: answers (RESULT, ERROR, PUBLISHED) go to the waiting request. */
export class HttpPeer implements Peer {
  readonly codec = undefined;
  readonly transportDetails: Dict;
  readonly pending = new Map<number, Answer>();

  constructor(path: string) {
    this.transportDetails = { type: 'http', path };
  }

  write(): void {
    throw new Error('an HTTP service peer takes unencoded messages');
  }

  deliver(head: readonly unknown[], payload: Payload): void {
    const type = head[0];
    if (type !== MSG.RESULT && type !== MSG.ERROR && type !== MSG.PUBLISHED) return;
    const request = (type === MSG.ERROR ? head[2] : head[1]) as number;
    const answer = this.pending.get(request);
    if (answer === undefined) return;
    if (type === MSG.RESULT && isDict(head[2]) && head[2]['progress'] === true) return;
    this.pending.delete(request);
    answer(head, payload);
  }

  close(): void {
    const shutdown = Payload.of(['the router is shutting down']);
    for (const answer of this.pending.values()) answer([MSG.ERROR, MSG.CALL, 0, {}, 'wamp.close.system_shutdown'], shutdown);
    this.pending.clear();
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendJsonText(res, status, encodeJson(body));
}

/** A reply body that is already JSON text. */
export function sendJsonText(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A refused request, in crossbar's shape. */
export function refuse(res: ServerResponse, status: number, text: string): void {
  sendJson(res, status, { error: text, args: [], kwargs: {} });
}

/** `application/json`, with parameters (`; charset=utf-8`) or not: the only body type a page cannot send without a preflight. */
function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/** `Authorization: Basic base64(authid:ticket)` → [authid, ticket]; undefined when absent. */
function basicCredentials(header: string | undefined): [string, string] | undefined | 'malformed' {
  if (header === undefined) return undefined;
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (m === null) return 'malformed';
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return 'malformed';
  return [text.slice(0, colon), text.slice(colon + 1)];
}

/** A ticket principal that may use the HTTP services with HTTP Basic (`authid:ticket`). */
export interface HttpPrincipal {
  ticket: string;
  role: string;
}

export interface HttpEndpointOptions {
  realm: string;
  /** role of requests without credentials; undefined: they are refused (403) */
  role: string | undefined;
  /** authid of requests without credentials */
  authid: string;
  /** the config key that names the role, for the refusal text (e.g. `http_bridge.role`) */
  roleSetting: string;
  /** ticket principals of the realm, by authid */
  principals: ReadonlyMap<string, HttpPrincipal>;
  limits: RouterConfig['limits'];
  guard: WebGuard;
  logger: Logger;
}

interface HttpIdentity {
  authid: string;
  role: string;
  authmethod: 'anonymous' | 'ticket';
}

/** The session a request runs in, and its peer. */
export interface HttpCaller {
  peer: HttpPeer;
  session: Session;
}

/** One HTTP service: the shared intake; `process` does the service's work on a received body. */
export abstract class HttpEndpoint {
  /** one internal session per (authid, role) that has made a request */
  private readonly callers = new Map<string, HttpCaller>();
  protected readonly ids = new SequentialIds();
  protected readonly logger: Logger;

  constructor(
    protected readonly router: Router,
    protected readonly options: HttpEndpointOptions,
    private readonly path: string,
  ) {
    this.logger = options.logger;
  }

  /** The service's work: `body` is the whole request body (within the size limit). */
  protected abstract process(caller: HttpCaller, body: Buffer, req: IncomingMessage, res: ServerResponse): void;

  /** Host and Origin are checked by the server before this (web-guard.ts). */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers['origin'];
    const isListed = origin !== undefined && this.options.guard.isListedOrigin(origin);
    if (isListed) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'origin');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, isListed ? PREFLIGHT_HEADERS : {});
      res.end();
      return;
    }
    if (req.method !== 'POST' && req.method !== 'PUT') {
      res.setHeader('allow', 'POST, PUT, OPTIONS');
      refuse(res, 405, `method ${req.method ?? ''} not allowed on ${this.path}; POST a JSON body`);
      return;
    }
    if (!isJsonContentType(req.headers['content-type'])) {
      const given = req.headers['content-type'];
      refuse(res, 415, `request body must be sent as content-type: application/json (got ${given === undefined ? 'none' : `'${given}'`})`);
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
    const max = this.options.limits.http_max_body_bytes;
    req.on('data', (chunk: Buffer) => {
      if (isTooLarge) return;
      size += chunk.length;
      if (size > max) {
        isTooLarge = true;
        refuse(res, 413, `request body larger than ${max} bytes`);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!isTooLarge) this.process(this.callerFor(who), Buffer.concat(chunks), req, res);
    });
    req.on('error', () => {});
  }

  close(): void {
    for (const { peer } of this.callers.values()) peer.close();
  }

  /** The body as a JSON object, or undefined when the 400 is sent; `shape` says what was expected. */
  protected jsonObject(raw: Buffer, res: ServerResponse, shape: string): { body: Dict; special: boolean } | undefined {
    const flags = { special: false };
    let body: unknown;
    try {
      body = decodeJson(raw.toString('utf8'), flags);
    } catch (e) {
      refuse(res, 400, `request body is not valid JSON: ${(e as Error).message}`);
      return undefined;
    }
    if (!isDict(body)) {
      refuse(res, 400, `request body must be a JSON object ${shape}`);
      return undefined;
    }
    return { body, special: flags.special };
  }

  /** Hands one message of the request to the router; `answer` gets the reply (http-endpoint's HttpPeer). */
  protected dispatch({ peer, session }: HttpCaller, request: number, msg: unknown[], special: boolean, res: ServerResponse, answer: Answer): boolean {
    if (!session.isOpen) {
      sendJson(res, 500, { error: WAMP_ERRORS.RUNTIME_ERROR, args: ['the router is shutting down'], kwargs: {} });
      return false;
    }
    peer.pending.set(request, answer);
    try {
      this.router.handleMessage(session, readMessage(msg, special));
      return true;
    } catch (e) {
      this.logger.error({ err: e, path: this.path }, 'http service request failed');
      peer.pending.delete(request);
      sendJson(res, 500, { error: WAMP_ERRORS.RUNTIME_ERROR, args: [String(e)], kwargs: {} });
      return false;
    }
  }

  /** The session that carries requests of (authid, role), opened on first use. */
  private callerFor({ authid, role, authmethod }: HttpIdentity): HttpCaller {
    const key = `${authid}\u0000${role}`;
    let caller = this.callers.get(key);
    if (caller === undefined || !caller.session.isOpen) {
      const peer = new HttpPeer(this.path);
      const session = this.router.openInternalSession(this.options.realm, { authid, authrole: role, authmethod, authprovider: 'static' }, peer);
      caller = { peer, session };
      this.callers.set(key, caller);
    }
    return caller;
  }

  /** The identity a request runs as, or undefined when the refusal is already sent. */
  private identify(req: IncomingMessage, res: ServerResponse): HttpIdentity | undefined {
    const credentials = basicCredentials(req.headers['authorization']);
    if (credentials === 'malformed') {
      refuse(res, 401, "the Authorization header must be 'Basic base64(authid:ticket)'");
      return undefined;
    }
    if (credentials !== undefined) {
      const [authid, ticket] = credentials;
      const principal = this.options.principals.get(authid);
      if (principal === undefined || !safeEqual(ticket, principal.ticket)) {
        this.logger.warn({ authid, path: this.path, peer: req.socket.remoteAddress }, 'http service: invalid credentials');
        refuse(res, 401, `invalid credentials for '${authid}'`);
        return undefined;
      }
      return { authid, role: principal.role, authmethod: 'ticket' };
    }
    if (this.options.role === undefined) {
      refuse(
        res,
        403,
        `${this.path} takes no requests without credentials here: send Authorization: Basic base64(authid:ticket) of a ticket principal, or set ${this.options.roleSetting} in the router config`,
      );
      return undefined;
    }
    return { authid: this.options.authid, role: this.options.role, authmethod: 'anonymous' };
  }
}
