/**
 * The HTTP caller bridge at `/call`, as crossbar's `caller` path: POST
 * `{"procedure": uri, "args": [...], "kwargs": {...}}` → 200 `{"args": [...], "kwargs": {...}}`,
 * or 200 `{"error": uri, "args": [...], "kwargs": {...}}` for a WAMP error. Refused requests get
 * crossbar's `{"error": text, "args": [], "kwargs": {}}` with a 4xx status (http-endpoint.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeJson } from '../wamp/json-codec.js';
import { HttpEndpoint, refuse, sendJsonText, type HttpCaller, type HttpEndpointOptions } from './http-endpoint.js';
import { readMessage } from './inbound.js';
import { MSG, isDict, type Dict } from './messages.js';
import type { Payload } from './payload.js';
import type { Router } from './router.js';

/**
 * The reply body of a RESULT, as crossbar's caller shapes it: one plain value → `{"args": [v]}`;
 * several or keyword results → args/kwargs when non-empty. Written from the payload's own JSON
 * text when it has it (a JSON callee's YIELD is never decoded on the way), else encoded.
 */
function resultBody(payload: Payload): string {
  const texts = payload.texts();
  if (texts !== undefined) {
    if (texts.kwargs === undefined) return `{"args":${texts.args ?? '[null]'}}`;
    return texts.isArgsEmpty ? `{"kwargs":${texts.kwargs}}` : `{"args":${texts.args!},"kwargs":${texts.kwargs}}`;
  }
  const { args, kwargs } = payload;
  const hasKwargs = kwargs !== undefined && Object.keys(kwargs).length > 0;
  if (!hasKwargs && (args === undefined || args.length <= 1)) return encodeJson({ args: [args?.[0] ?? null] }, payload.special);
  const body: Dict = {};
  if (args !== undefined && args.length > 0) body['args'] = args;
  if (hasKwargs) body['kwargs'] = kwargs;
  return encodeJson(body, payload.special);
}

/** The reply body of an ERROR: `{"error": uri, "args": [...], "kwargs": {...}}`. */
function errorBody(error: string, payload: Payload): string {
  const texts = payload.texts();
  if (texts !== undefined) return `{"error":${JSON.stringify(error)},"args":${texts.args ?? '[]'},"kwargs":${texts.kwargs ?? '{}'}}`;
  return encodeJson({ error, args: payload.args ?? [], kwargs: payload.kwargs ?? {} }, payload.special);
}

export class HttpCallBridge extends HttpEndpoint {
  constructor(router: Router, options: HttpEndpointOptions) {
    super(router, options, '/call');
  }

  protected process(caller: HttpCaller, raw: Buffer, _req: IncomingMessage, res: ServerResponse): void {
    const parsed = this.jsonObject(raw, res, '{"procedure": uri, "args": [...], "kwargs": {...}}');
    if (parsed === undefined) return;
    const { body, special } = parsed;
    const procedure = body['procedure'];
    const args = body['args'] ?? [];
    const kwargs = body['kwargs'] ?? {};
    if (typeof procedure !== 'string' || procedure.length === 0) return refuse(res, 400, "missing or invalid 'procedure' (a URI string)");
    if (!Array.isArray(args)) return refuse(res, 400, "'args' must be a list");
    if (!isDict(kwargs)) return refuse(res, 400, "'kwargs' must be an object");
    const request = this.ids.next();
    let isAnswered = false;
    const msg: unknown[] = [MSG.CALL, request, {}, procedure];
    if (args.length > 0 || Object.keys(kwargs).length > 0) msg.push(args);
    if (Object.keys(kwargs).length > 0) msg.push(kwargs);
    // an HTTP client that goes away cancels its call
    res.on('close', () => {
      if (!isAnswered && caller.peer.pending.delete(request)) {
        this.router.handleMessage(caller.session, readMessage([MSG.CANCEL, request, { mode: 'killnowait' }], false));
      }
    });
    this.dispatch(caller, request, msg, special, res, (head, payload) => {
      isAnswered = true;
      sendJsonText(res, 200, head[0] === MSG.RESULT ? resultBody(payload) : errorBody(head[4] as string, payload));
    });
  }
}
