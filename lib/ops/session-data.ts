/** How `OpSession.encoded()` makes `session.data` wire-safe (OCS `json_safe(data, check_ok=True)`). */

import { WampFloat } from '../wamp/float.js';

const MAX_DEPTH = 64;

/**
 * A wire-safe copy of an op's `session.data`: NaN becomes null (as OCS), typed arrays become
 * lists (as numpy's `tolist()`), Maps become objects, Sets lists, values with `toJSON` their
 * JSON form; object keys holding undefined, functions or symbols are dropped (as JSON does).
 * Throws on ±Infinity (OCS raises ValueError) and on nesting deeper than 64 (cycles). A fresh
 * copy each call, so a reply is a snapshot the op cannot change afterwards.
 */
export function encodeSessionData(data: unknown): Record<string, unknown> {
  // Ops normally keep an object here; OCS passes any other JSON value through, and so do we
  // (null/undefined become {} so clients can always index it).
  if (data === null || data === undefined) return {};
  return safe(data, 'data', 0) as Record<string, unknown>;
}

function safe(value: unknown, path: string, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      if (Number.isNaN(value)) return null;
      throw new RangeError(`Session.data cannot store inf/-inf; please convert to NaN (${path} is ${value}).`);
    case 'bigint':
      return Number(value);
    case 'object':
      break;
    default:
      return null;
  }
  if (value === null) return null;
  // a float marked for the wire (lib/wamp/float.ts) stays marked, so `1700000000.0` stays a float
  if (value instanceof WampFloat) return Number.isFinite(value.value) ? value : safe(value.value, path, depth);
  if (depth >= MAX_DEPTH) throw new RangeError(`Session.data is nested more than ${MAX_DEPTH} levels (a cycle?) at ${path}.`);
  if (Array.isArray(value)) return value.map((v, i) => safe(v, `${path}[${i}]`, depth + 1));
  if (ArrayBuffer.isView(value)) {
    const list = value instanceof DataView ? [] : Array.from(value as unknown as ArrayLike<number | bigint>);
    return list.map((v, i) => safe(v, `${path}[${i}]`, depth + 1));
  }
  if (value instanceof Set) return [...value].map((v, i) => safe(v, `${path}[${i}]`, depth + 1));
  if (value instanceof Map) return safeObject(Object.fromEntries(value), path, depth);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return safe(toJSON.call(value), path, depth + 1);
  return safeObject(value as Record<string, unknown>, path, depth);
}

function safeObject(obj: Record<string, unknown>, path: string, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    out[key] = safe(v, `${path}.${key}`, depth + 1);
  }
  return out;
}

/**
 * Time and duration fields that are floats in OCS's Python: `*_s`, `*_at`, `*_time`, `since`,
 * `at`, `time`, `*_until`, `*_since`, `timestamp`, `last_update`.
 */
export function isFloatKey(key: string): boolean {
  return /(_s|_at|_time|_until|_since)$/.test(key) || key === 'since' || key === 'at' || key === 'time' || key === 'timestamp' || key === 'last_update';
}

/**
 * A copy of `data` in which every number under a key `isFloat` accepts (at any depth) is marked
 * as a float for the wire (WampFloat), so a whole second goes out as `1700000000.0`, as Python
 * sends it. Counts and codes under other keys stay integers.
 */
export function markFloats<T>(data: T, isFloat: (key: string) => boolean = isFloatKey): T {
  const walk = (value: unknown, key: string | null, depth: number): unknown => {
    if (typeof value === 'number') return key !== null && isFloat(key) && Number.isFinite(value) ? new WampFloat(value) : value;
    if (value === null || typeof value !== 'object' || value instanceof WampFloat || depth > MAX_DEPTH) return value;
    if (Array.isArray(value)) return value.map((v) => walk(v, key, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = walk(v, k, depth + 1);
    return out;
  };
  return walk(data, null, 0) as T;
}
