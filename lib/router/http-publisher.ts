/**
 * The HTTP publisher at `/publish`, as crossbar's `publisher` path: POST `{"topic": uri, "args":
 * [...], "kwargs": {...}, "options": {...}}` → the event is published on the realm (acknowledged)
 * and the reply is 200 `{"id": publication id}`. A WAMP error answers with `{"error": uri, "args",
 * "kwargs"}`: 403 for `wamp.error.not_authorized`, 400 otherwise. The intake (role, origins,
 * JSON only, size limit) is `/call`'s (http-endpoint.ts).
 *
 * Signed requests, as crossbar's: with a `secret` configured, every request carries the query
 * parameters `key`, `timestamp` (UTC ISO-8601 with fraction, `2011-10-14T16:59:51.123Z`), `seq`
 * and `nonce` (integers) and `signature` = base64url(HMAC-SHA256(secret, key + timestamp + seq +
 * nonce + body)). A timestamp off by more than `timestamp_delta_limit` seconds is refused, and
 * so is a nonce seen before within that window (a replay), which crossbar leaves unchecked.
 */
import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { safeEqual } from './auth.js';
import { HttpEndpoint, refuse, sendJson, type HttpCaller, type HttpEndpointOptions } from './http-endpoint.js';
import { MSG, isDict, type Dict } from './messages.js';
import type { Router } from './router.js';
import { WAMP_ERRORS } from '../errors.js';

export interface PublisherSigning {
  key: string;
  secret: string;
  timestampDeltaLimitS: number;
}

/** PUBLISH options a request may set (crossbar's PublishOptions); `acknowledge` is always on. */
const PASSED_OPTIONS = ['exclude', 'exclude_authid', 'exclude_authrole', 'eligible', 'eligible_authid', 'eligible_authrole', 'retain'] as const;

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z$/;
const INTEGER = /^-?\d+$/;

/** base64url(HMAC-SHA256(secret, key | timestamp | seq | nonce | body)), with padding, as crossbar computes it. */
export function publisherSignature(secret: string, key: string, timestamp: string, seq: string, nonce: string, body: Buffer | string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(key).update(timestamp).update(seq).update(nonce).update(body).digest('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

export class HttpPublisher extends HttpEndpoint {
  /** nonces of signed requests within the timestamp window, with the time they may be forgotten */
  private readonly nonces = new Map<string, number>();

  constructor(
    router: Router,
    options: HttpEndpointOptions,
    private readonly signing: PublisherSigning | undefined,
  ) {
    super(router, options, '/publish');
  }

  protected process(caller: HttpCaller, raw: Buffer, req: IncomingMessage, res: ServerResponse): void {
    if (this.signing !== undefined && !this.checkSignature(this.signing, raw, req, res)) return;
    const parsed = this.jsonObject(raw, res, '{"topic": uri, "args": [...], "kwargs": {...}, "options": {...}}');
    if (parsed === undefined) return;
    const { body, special } = parsed;
    const topic = body['topic'];
    const args = body['args'] ?? [];
    const kwargs = body['kwargs'] ?? {};
    const given = body['options'] ?? {};
    if (typeof topic !== 'string' || topic.length === 0) return refuse(res, 400, "missing or invalid 'topic' (a URI string)");
    if (!Array.isArray(args)) return refuse(res, 400, "'args' must be a list");
    if (!isDict(kwargs)) return refuse(res, 400, "'kwargs' must be an object");
    if (!isDict(given)) return refuse(res, 400, "'options' must be an object");
    const options: Dict = { acknowledge: true };
    for (const k of PASSED_OPTIONS) if (given[k] !== undefined && given[k] !== null) options[k] = given[k];
    const request = this.ids.next();
    const msg: unknown[] = [MSG.PUBLISH, request, options, topic];
    if (args.length > 0 || Object.keys(kwargs).length > 0) msg.push(args);
    if (Object.keys(kwargs).length > 0) msg.push(kwargs);
    res.on('close', () => caller.peer.pending.delete(request));
    this.dispatch(caller, request, msg, special, res, (head, payload) => {
      if (head[0] === MSG.PUBLISHED) return sendJson(res, 200, { id: head[2] });
      const error = head[4] as string;
      sendJson(res, error === WAMP_ERRORS.NOT_AUTHORIZED ? 403 : 400, { error, args: payload.args ?? [], kwargs: payload.kwargs ?? {} });
    });
  }

  /** Checks a signed request's parameters and signature; false when the refusal is sent. */
  private checkSignature(signing: PublisherSigning, body: Buffer, req: IncomingMessage, res: ServerResponse): boolean {
    const query = new URL(req.url ?? '/', 'http://router').searchParams;
    const field = (name: string): string | undefined => query.get(name) ?? undefined;
    for (const name of ['key', 'timestamp', 'seq', 'nonce', 'signature']) {
      if (field(name) === undefined) {
        refuse(res, 400, `signed request required, but mandatory '${name}' field missing`);
        return false;
      }
    }
    const key = field('key')!;
    const timestamp = field('timestamp')!;
    const seq = field('seq')!;
    const nonce = field('nonce')!;
    if (key !== signing.key) return this.deny(res, 401, `unknown key '${key}' in signed request`);
    const at = TIMESTAMP.test(timestamp) ? Date.parse(timestamp) : NaN;
    if (Number.isNaN(at)) return this.deny(res, 400, `invalid timestamp '${timestamp}' (must be UTC/ISO-8601, e.g. '2011-10-14T16:59:51.123Z')`);
    if (!INTEGER.test(seq)) return this.deny(res, 400, `invalid sequence number '${seq}' (must be an integer)`);
    if (!INTEGER.test(nonce)) return this.deny(res, 400, `invalid nonce '${nonce}' (must be an integer)`);
    if (!safeEqual(field('signature')!, publisherSignature(signing.secret, key, timestamp, seq, nonce, body))) return this.deny(res, 401, 'invalid request signature');
    const now = Date.now();
    const windowMs = signing.timestampDeltaLimitS * 1000;
    if (Math.abs(now - at) > windowMs) return this.deny(res, 400, `request timestamp '${timestamp}' is more than ${signing.timestampDeltaLimitS} s off`);
    this.forgetOldNonces(now);
    const seenUntil = this.nonces.get(nonce);
    if (seenUntil !== undefined && seenUntil >= now) return this.deny(res, 401, `nonce ${nonce} was already used (a replayed request)`);
    this.nonces.set(nonce, at + windowMs);
    return true;
  }

  private deny(res: ServerResponse, status: number, text: string): false {
    this.logger.warn({ path: '/publish', status }, `http publisher refused a signed request: ${text}`);
    refuse(res, status, text);
    return false;
  }

  private forgetOldNonces(now: number): void {
    if (this.nonces.size < 1024) return;
    for (const [nonce, until] of this.nonces) if (until < now) this.nonces.delete(nonce);
  }
}
