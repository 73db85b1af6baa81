/**
 * The HTTP caller bridge at `/call`, as crossbar's `caller` path: POST
 * `{"procedure": uri, "args": [...], "kwargs": {...}}` → 200 `{"args": [...], "kwargs": {...}}`,
 * or 200 `{"error": uri, "args": [...], "kwargs": {...}}` for a WAMP error. Refused requests get
 * crossbar's `{"error": text, "args": [], "kwargs": {}}` with a 4xx status (http-endpoint.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpEndpoint, refuse, sendJson, type HttpCaller, type HttpEndpointOptions } from './http-endpoint.js';
import { MSG, isDict, type Dict } from './messages.js';
import type { Router } from './router.js';

/** crossbar's caller: one plain value → `{args: [v]}`; several or keyword results → args/kwargs when non-empty. */
function resultBody(args: unknown[] | undefined, kwargs: Dict | undefined): Dict {
  const hasKwargs = kwargs !== undefined && Object.keys(kwargs).length > 0;
  if (!hasKwargs && (args === undefined || args.length <= 1)) return { args: [args?.[0] ?? null] };
  const body: Dict = {};
  if (args !== undefined && args.length > 0) body['args'] = args;
  if (hasKwargs) body['kwargs'] = kwargs;
  return body;
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
        this.router.handleMessage(caller.session, [MSG.CANCEL, request, { mode: 'killnowait' }], false);
      }
    });
    this.dispatch(caller, request, msg, special, res, (reply) => {
      isAnswered = true;
      if (reply[0] === MSG.RESULT) sendJson(res, 200, resultBody(reply[3] as unknown[] | undefined, reply[4] as Dict | undefined));
      else sendJson(res, 200, { error: reply[4], args: (reply[5] as unknown[] | undefined) ?? [], kwargs: (reply[6] as Dict | undefined) ?? {} });
    });
  }
}
