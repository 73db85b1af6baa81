/**
 * WAMP message codes, URIs the router emits, and the checks that turn a decoded frame into a
 * message the handlers can trust (type, arity, field types, IDs). A failed check throws a
 * ProtocolViolation; the session turns it into ABORT `wamp.error.protocol_violation`.
 */
import { WampFloat } from '../wamp/float.js';
import { MAX_ID } from './ids.js';

export const MSG = {
  HELLO: 1,
  WELCOME: 2,
  ABORT: 3,
  CHALLENGE: 4,
  AUTHENTICATE: 5,
  GOODBYE: 6,
  ERROR: 8,
  PUBLISH: 16,
  PUBLISHED: 17,
  SUBSCRIBE: 32,
  SUBSCRIBED: 33,
  UNSUBSCRIBE: 34,
  UNSUBSCRIBED: 35,
  EVENT: 36,
  CALL: 48,
  CANCEL: 49,
  RESULT: 50,
  REGISTER: 64,
  REGISTERED: 65,
  UNREGISTER: 66,
  UNREGISTERED: 67,
  INVOCATION: 68,
  INTERRUPT: 69,
  YIELD: 70,
} as const;

export const CLOSE = {
  GOODBYE_AND_OUT: 'wamp.close.goodbye_and_out',
  NORMAL: 'wamp.close.normal',
  SYSTEM_SHUTDOWN: 'wamp.close.system_shutdown',
  CLOSE_REALM: 'wamp.close.close_realm',
  KILLED: 'wamp.close.killed',
} as const;

export type Dict = Record<string, unknown>;
export type MatchPolicy = 'exact' | 'prefix' | 'wildcard';

export class ProtocolViolation extends Error {
  override name = 'ProtocolViolation';
}

export function isDict(v: unknown): v is Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof WampFloat);
}

export function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_ID;
}

// crossbar's loose URI rules: components may hold anything but whitespace, '.' and '#'
const URI_NON_EMPTY = /^([^\s.#]+\.)*[^\s.#]+$/;
const URI_LAST_EMPTY = /^([^\s.#]+\.)*[^\s.#]*$/;
const URI_EMPTY = /^(([^\s.#]+\.)|\.)*[^\s.#]*$/;

/** A URI usable for an exact subscription, a publication, a registration or a call. */
export function isValidUri(uri: string): boolean {
  return URI_NON_EMPTY.test(uri);
}

/** A URI valid for the given match policy (prefix: last component may be empty; wildcard: any may be). */
export function isValidPatternUri(uri: string, match: MatchPolicy): boolean {
  if (match === 'exact') return URI_NON_EMPTY.test(uri);
  if (match === 'prefix') return URI_LAST_EMPTY.test(uri);
  return URI_EMPTY.test(uri);
}

export function parseMatch(options: Dict): MatchPolicy | undefined {
  const m = options['match'];
  if (m === undefined || m === 'exact') return 'exact';
  if (m === 'prefix' || m === 'wildcard') return m;
  return undefined;
}

function fail(what: string): never {
  throw new ProtocolViolation(what);
}

/** Message names for error messages. */
const NAMES: Record<number, string> = Object.fromEntries(Object.entries(MSG).map(([k, v]) => [v, k]));

export function messageName(type: number): string {
  return NAMES[type] ?? `type ${type}`;
}

/** Checks optional Arguments|list and ArgumentsKw|dict at `at` and `at + 1`, and the total length. */
function checkPayload(m: unknown[], at: number, name: string): void {
  if (m.length > at + 2) fail(`${name} has ${m.length} elements (at most ${at + 2})`);
  if (m.length > at && !Array.isArray(m[at])) fail(`${name}: Arguments must be a list`);
  if (m.length > at + 1 && !isDict(m[at + 1])) fail(`${name}: ArgumentsKw must be a dict`);
}

function checkLength(m: unknown[], n: number, name: string): void {
  if (m.length !== n) fail(`${name} must have ${n} elements, got ${m.length}`);
}

function checkId(v: unknown, what: string): void {
  if (!isId(v)) fail(`${what} must be an integer ID in [1, 2^53]`);
}

function checkDict(v: unknown, what: string): void {
  if (!isDict(v)) fail(`${what} must be a dict`);
}

function checkString(v: unknown, what: string): void {
  if (typeof v !== 'string') fail(`${what} must be a string`);
}

/**
 * Validates a decoded frame as a WAMP message the router accepts from a client. Returns its type
 * code; the array is then read by index. Throws ProtocolViolation otherwise.
 */
export function validateMessage(m: unknown): number {
  if (!Array.isArray(m) || m.length === 0) fail('a WAMP message must be a non-empty list');
  const type = m[0];
  if (typeof type !== 'number') fail('message type must be an integer');
  switch (type) {
    case MSG.PUBLISH:
      if (m.length < 4) fail('PUBLISH too short');
      checkId(m[1], 'PUBLISH.Request');
      checkDict(m[2], 'PUBLISH.Options');
      checkString(m[3], 'PUBLISH.Topic');
      checkPayload(m, 4, 'PUBLISH');
      return type;
    case MSG.CALL:
      if (m.length < 4) fail('CALL too short');
      checkId(m[1], 'CALL.Request');
      checkDict(m[2], 'CALL.Options');
      checkString(m[3], 'CALL.Procedure');
      checkPayload(m, 4, 'CALL');
      return type;
    case MSG.YIELD:
      if (m.length < 3) fail('YIELD too short');
      checkId(m[1], 'YIELD.INVOCATION.Request');
      checkDict(m[2], 'YIELD.Options');
      checkPayload(m, 3, 'YIELD');
      return type;
    case MSG.ERROR:
      if (m.length < 5) fail('ERROR too short');
      if (typeof m[1] !== 'number') fail('ERROR.REQUEST.Type must be an integer');
      checkId(m[2], 'ERROR.REQUEST.Request');
      checkDict(m[3], 'ERROR.Details');
      checkString(m[4], 'ERROR.Error');
      checkPayload(m, 5, 'ERROR');
      return type;
    case MSG.SUBSCRIBE:
    case MSG.REGISTER:
      checkLength(m, 4, messageName(type));
      checkId(m[1], `${messageName(type)}.Request`);
      checkDict(m[2], `${messageName(type)}.Options`);
      checkString(m[3], `${messageName(type)} URI`);
      return type;
    case MSG.UNSUBSCRIBE:
    case MSG.UNREGISTER:
      checkLength(m, 3, messageName(type));
      checkId(m[1], `${messageName(type)}.Request`);
      checkId(m[2], `${messageName(type)} ID`);
      return type;
    case MSG.CANCEL:
      checkLength(m, 3, 'CANCEL');
      checkId(m[1], 'CANCEL.CALL.Request');
      checkDict(m[2], 'CANCEL.Options');
      return type;
    case MSG.HELLO:
      checkLength(m, 3, 'HELLO');
      checkString(m[1], 'HELLO.Realm');
      checkDict(m[2], 'HELLO.Details');
      return type;
    case MSG.AUTHENTICATE:
      checkLength(m, 3, 'AUTHENTICATE');
      checkString(m[1], 'AUTHENTICATE.Signature');
      checkDict(m[2], 'AUTHENTICATE.Extra');
      return type;
    case MSG.GOODBYE:
    case MSG.ABORT:
      checkLength(m, 3, messageName(type));
      checkDict(m[1], `${messageName(type)}.Details`);
      checkString(m[2], `${messageName(type)}.Reason`);
      return type;
    default:
      return fail(`unexpected message ${messageName(type)} from a client`);
  }
}

/** Appends args and kwargs to `msg`, omitting empty ones (never null). */
export function withPayload(msg: unknown[], args: unknown[] | undefined, kwargs: Dict | undefined): unknown[] {
  const hasKwargs = kwargs !== undefined && !isEmptyDict(kwargs);
  if (hasKwargs) {
    msg.push(args ?? [], kwargs);
  } else if (args !== undefined && args.length > 0) {
    msg.push(args);
  }
  return msg;
}

export function isEmptyDict(d: Dict): boolean {
  for (const _ in d) return false;
  return true;
}

/** Whether args/kwargs as received are already in the form the router sends (empty ones omitted). */
export function isCanonicalPayload(args: unknown[] | undefined, kwargs: Dict | undefined): boolean {
  if (kwargs !== undefined) return !isEmptyDict(kwargs);
  return args === undefined || args.length > 0;
}
