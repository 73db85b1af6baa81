/**
 * Head-only decoding of the JSON messages the router relays: PUBLISH, CALL, YIELD, and ERROR for
 * an INVOCATION. The router reads only the head (type, request ID, options, URI) and relays the
 * payload text (`,[args],{kwargs}]`) as it came. The payload is still checked to be strict JSON
 * (RFC 8259, the grammar JSON.parse accepts) with Arguments a list and ArgumentsKw a dict, so a
 * receiver never gets a frame it cannot parse; it is just not turned into objects.
 *
 * Anything unusual (another message type, an ID that is not a plain integer, an empty args list
 * or kwargs dict the router must drop, invalid JSON anywhere) returns undefined and the message
 * takes the full decoding path, which produces the exact protocol error.
 */
import { deepFreeze } from '../site-config/deep-freeze.js';
import { decodeJson } from '../wamp/json-codec.js';
import { MAX_ID } from './ids.js';
import { MSG, isCanonicalPayload, payloadTail, type Dict } from './messages.js';

const MAX_DEPTH = 200;

/** The payload of a head-decoded message: its text for JSON receivers, its values on demand. */
export class RelayPayload {
  private values: { args: unknown[] | undefined; kwargs: Dict | undefined; special: boolean } | undefined;

  constructor(
    /** the whole message text */
    readonly text: string,
    /** the text after the head: `]`, `,[args]]` or `,[args],{kwargs}]`, never an empty args or kwargs */
    readonly tail: string,
    /** index of Arguments in the message */
    private readonly at: number,
  ) {}

  /** The decoded args and kwargs (for receivers that are not JSON, and for the router's own procedures). */
  decode(): { args: unknown[] | undefined; kwargs: Dict | undefined; special: boolean } {
    if (this.values === undefined) {
      const flags = { special: false };
      const m = decodeJson(this.text, flags) as unknown[];
      this.values = { args: m[this.at] as unknown[] | undefined, kwargs: m[this.at + 1] as Dict | undefined, special: flags.special };
    }
    return this.values;
  }
}

export interface RelayHead {
  /** the head: `[type, request, options, uri]` (PUBLISH, CALL), `[70, request, options]`, `[8, 68, request, details, uri]` */
  m: unknown[];
  payload: RelayPayload;
}

function ws(t: string, i: number): number {
  for (;;) {
    const c = t.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else return i;
  }
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Index past the JSON string at `i` (its opening quote), or -1 if it is not a valid one. */
function skipString(t: string, i: number): number {
  const n = t.length;
  let j = i + 1;
  while (j < n) {
    const c = t.charCodeAt(j);
    if (c === 34) return j + 1;
    if (c < 32) return -1;
    if (c === 92) {
      const d = t.charCodeAt(j + 1);
      if (d === 34 || d === 92 || d === 47 || d === 98 || d === 102 || d === 110 || d === 114 || d === 116) j += 2;
      else if (d === 117 && isHex(t.charCodeAt(j + 2)) && isHex(t.charCodeAt(j + 3)) && isHex(t.charCodeAt(j + 4)) && isHex(t.charCodeAt(j + 5))) j += 6;
      else return -1;
    } else j++;
  }
  return -1;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Index past the JSON number at `i`, or -1. */
function skipNumber(t: string, i: number): number {
  let j = i;
  if (t.charCodeAt(j) === 45) j++;
  const c = t.charCodeAt(j);
  if (c === 48) j++;
  else if (c >= 49 && c <= 57) {
    j++;
    while (isDigit(t.charCodeAt(j))) j++;
  } else return -1;
  if (t.charCodeAt(j) === 46) {
    j++;
    if (!isDigit(t.charCodeAt(j))) return -1;
    while (isDigit(t.charCodeAt(j))) j++;
  }
  const e = t.charCodeAt(j);
  if (e === 101 || e === 69) {
    j++;
    const s = t.charCodeAt(j);
    if (s === 43 || s === 45) j++;
    if (!isDigit(t.charCodeAt(j))) return -1;
    while (isDigit(t.charCodeAt(j))) j++;
  }
  return j;
}

/** Index past the JSON value at `i` (no leading whitespace), or -1 if it is not valid JSON. */
export function skipJsonValue(t: string, i: number, depth = 0): number {
  const c = t.charCodeAt(i);
  if (c === 34) return skipString(t, i);
  if (c === 91) {
    if (depth >= MAX_DEPTH) return -1;
    i = ws(t, i + 1);
    if (t.charCodeAt(i) === 93) return i + 1;
    for (;;) {
      i = skipJsonValue(t, i, depth + 1);
      if (i < 0) return -1;
      i = ws(t, i);
      const d = t.charCodeAt(i);
      if (d === 93) return i + 1;
      if (d !== 44) return -1;
      i = ws(t, i + 1);
    }
  }
  if (c === 123) {
    if (depth >= MAX_DEPTH) return -1;
    i = ws(t, i + 1);
    if (t.charCodeAt(i) === 125) return i + 1;
    for (;;) {
      if (t.charCodeAt(i) !== 34) return -1;
      i = skipString(t, i);
      if (i < 0) return -1;
      i = ws(t, i);
      if (t.charCodeAt(i) !== 58) return -1;
      i = skipJsonValue(t, ws(t, i + 1), depth + 1);
      if (i < 0) return -1;
      i = ws(t, i);
      const d = t.charCodeAt(i);
      if (d === 125) return i + 1;
      if (d !== 44) return -1;
      i = ws(t, i + 1);
    }
  }
  if (c === 116) return t.startsWith('true', i) ? i + 4 : -1;
  if (c === 102) return t.startsWith('false', i) ? i + 5 : -1;
  if (c === 110) return t.startsWith('null', i) ? i + 4 : -1;
  if (c === 45 || isDigit(c)) return skipNumber(t, i);
  return -1;
}

/** Parse position shared by the steps of one decode (single-threaded, never re-entered). */
let pos = 0;

/** A plain positive integer (an ID or a type code) at `pos`, or -1. */
function readInt(t: string): number {
  let i = pos;
  const first = t.charCodeAt(i);
  if (first < 49 || first > 57) return -1;
  let v = 0;
  let digits = 0;
  for (let c = first; isDigit(c); c = t.charCodeAt(++i)) {
    v = v * 10 + (c - 48);
    if (++digits > 16) return -1;
  }
  const c = t.charCodeAt(i);
  if (c === 46 || c === 101 || c === 69) return -1;
  // below 2^53 every integer is exact; the rest (rounded by JSON.parse) takes the full path
  if (v >= 9007199254740992) return -1;
  pos = i;
  return v;
}

/** `,` with whitespace around it at `pos`. */
function comma(t: string): boolean {
  const i = ws(t, pos);
  if (t.charCodeAt(i) !== 44) return false;
  pos = ws(t, i + 1);
  return true;
}

/**
 * Options and details texts seen before (`{"acknowledge":true}`, `{"receive_progress":true}`),
 * parsed once: a client sends the same few over and over. The dicts are frozen (handlers only
 * read them); the cache is bounded and short texts only.
 */
const DICT_CACHE = new Map<string, Dict>();
const DICT_CACHE_MAX = 512;
const DICT_CACHE_TEXT_MAX = 96;

/** A dict at `pos` (`{}` without parsing), or undefined. */
function readDict(t: string): Dict | undefined {
  const i = pos;
  if (t.charCodeAt(i) !== 123) return undefined;
  const j = ws(t, i + 1);
  if (t.charCodeAt(j) === 125) {
    pos = j + 1;
    return {};
  }
  const end = skipJsonValue(t, i);
  if (end < 0) return undefined;
  pos = end;
  if (end - i > DICT_CACHE_TEXT_MAX) return JSON.parse(t.slice(i, end)) as Dict;
  const text = t.slice(i, end);
  let d = DICT_CACHE.get(text);
  if (d === undefined) {
    d = JSON.parse(text) as Dict;
    deepFreeze(d);
    if (DICT_CACHE.size >= DICT_CACHE_MAX) DICT_CACHE.clear();
    DICT_CACHE.set(text, d);
  }
  return d;
}

/** A string at `pos`, or undefined. */
function readString(t: string): string | undefined {
  const i = pos;
  if (t.charCodeAt(i) !== 34) return undefined;
  const q = t.indexOf('"', i + 1);
  if (q < 0) return undefined;
  const s = t.slice(i + 1, q);
  if (s.indexOf('\\') < 0) {
    for (let k = 0; k < s.length; k++) if (s.charCodeAt(k) < 32) return undefined;
    pos = q + 1;
    return s;
  }
  const end = skipString(t, i);
  if (end < 0) return undefined;
  pos = end;
  return JSON.parse(t.slice(i, end)) as string;
}

/** Checks the payload at `pos` through the end: `]`, `,[args]]`, `,[args],{kwargs}]`, none of them empty. */
function isCanonicalPayloadText(t: string): boolean {
  let i = ws(t, pos);
  if (t.charCodeAt(i) === 44) {
    i = ws(t, i + 1);
    if (t.charCodeAt(i) !== 91) return false;
    const argsEnd = skipJsonValue(t, i);
    if (argsEnd < 0) return false;
    const isArgsEmpty = ws(t, i + 1) === argsEnd - 1;
    i = ws(t, argsEnd);
    if (t.charCodeAt(i) === 44) {
      i = ws(t, i + 1);
      if (t.charCodeAt(i) !== 123) return false;
      const kwEnd = skipJsonValue(t, i);
      if (kwEnd < 0 || ws(t, i + 1) === kwEnd - 1) return false;
      i = ws(t, kwEnd);
    } else if (isArgsEmpty) return false;
  }
  if (t.charCodeAt(i) !== 93) return false;
  return ws(t, i + 1) === t.length;
}

/** The head of a relayed JSON message, or undefined when it must take the full decoding path. */
export function decodeRelayHead(t: string): RelayHead | undefined {
  pos = ws(t, 0);
  if (t.charCodeAt(pos) !== 91) return undefined;
  pos = ws(t, pos + 1);
  const type = readInt(t);
  if (type !== MSG.PUBLISH && type !== MSG.CALL && type !== MSG.YIELD && type !== MSG.ERROR) return undefined;
  if (!comma(t)) return undefined;
  let m: unknown[];
  let at: number;
  if (type === MSG.ERROR) {
    if (readInt(t) !== MSG.INVOCATION || !comma(t)) return undefined;
    const request = readInt(t);
    if (request < 1 || request > MAX_ID || !comma(t)) return undefined;
    const details = readDict(t);
    if (details === undefined || !comma(t)) return undefined;
    const uri = readString(t);
    if (uri === undefined) return undefined;
    m = [type, MSG.INVOCATION, request, details, uri];
    at = 5;
  } else {
    const request = readInt(t);
    if (request < 1 || request > MAX_ID || !comma(t)) return undefined;
    const options = readDict(t);
    if (options === undefined) return undefined;
    if (type === MSG.YIELD) {
      m = [type, request, options];
      at = 3;
    } else {
      if (!comma(t)) return undefined;
      const uri = readString(t);
      if (uri === undefined) return undefined;
      m = [type, request, options, uri];
      at = 4;
    }
  }
  const tailAt = pos;
  if (!isCanonicalPayloadText(t)) return undefined;
  return { m, payload: new RelayPayload(t, t.slice(tailAt), at) };
}

/**
 * The payload text to send a JSON receiver after the head the router writes: the head-decoded
 * message's own, else (fully decoded JSON, `rawText`) the text after element `afterElement` when
 * the payload needs no change; undefined when the payload must be encoded from its values.
 */
export function relayTail(relay: RelayPayload | undefined, rawText: string | undefined, args: unknown[] | undefined, kwargs: Dict | undefined, afterElement: number): string | undefined {
  if (relay !== undefined) return relay.tail;
  return rawText !== undefined && isCanonicalPayload(args, kwargs) ? payloadTail(rawText, afterElement) : undefined;
}
