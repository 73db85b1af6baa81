/**
 * Head-only decoding of the JSON messages the router relays: PUBLISH, CALL, YIELD, and ERROR for
 * an INVOCATION. The head (type, request ID, options, URI) is read into values; the payload text
 * (`,[args],{kwargs}]`) is checked to be strict JSON (json-scan.ts) with Arguments a list and
 * ArgumentsKw a dict, and kept as text in the message's Payload, so a receiver never gets a
 * frame it cannot parse and the arguments are not turned into objects on the way through.
 *
 * Anything unusual (another message type, an ID that is not a plain integer, an empty args list
 * or kwargs dict the router must drop, invalid JSON anywhere) returns undefined and the message
 * takes the full decoding path, which produces the exact protocol error.
 */
import { deepFreeze } from '../site-config/deep-freeze.js';
import { isDigit, isEmptyContainer, skipJsonValue, skipString, skipWs as ws } from '../wamp/json-scan.js';
import { MAX_ID } from './ids.js';
import type { Inbound } from './inbound.js';
import { MSG, type Dict } from './messages.js';
import { Payload } from './payload.js';

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
    const isArgsEmpty = isEmptyContainer(t, i, argsEnd);
    i = ws(t, argsEnd);
    if (t.charCodeAt(i) === 44) {
      i = ws(t, i + 1);
      if (t.charCodeAt(i) !== 123) return false;
      const kwEnd = skipJsonValue(t, i);
      if (kwEnd < 0 || isEmptyContainer(t, i, kwEnd)) return false;
      i = ws(t, kwEnd);
    } else if (isArgsEmpty) return false;
  }
  if (t.charCodeAt(i) !== 93) return false;
  return ws(t, i + 1) === t.length;
}

/** The head of a relayed JSON message, or undefined when it must take the full decoding path. */
export function decodeRelayHead(t: string): Inbound | undefined {
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
  return { type, m, payload: Payload.ofRelayed(t, t.slice(tailAt), at) };
}

