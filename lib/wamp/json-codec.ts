/**
 * The JSON codec of WAMP messages. Int/float fidelity: a number literal with a fraction or
 * exponent whose value is integral (`1.0`, `2e3`) decodes to a `WampFloat`, and a `WampFloat`
 * encodes as `1.0`. Binary data is a Uint8Array, travelling as a string `"\u0000" + base64` (the
 * WAMP convention).
 *
 * The common path stays fast: text that contains no integral float literal and no binary string
 * goes through JSON.parse, and a value known to hold no WampFloat or Uint8Array goes through
 * JSON.stringify. `DecodeFlags.special` tells the caller whether a decoded value holds one of
 * them, so a relay can pass the same hint to the encoder.
 */
import { CodecError, MAX_DEPTH, SCRATCH_FLAGS, type DecodeFlags } from './codec-common.js';
import { WampFloat } from './float.js';

const CH_QUOTE = 34;
const CH_BACKSLASH = 92;
const CH_MINUS = 45;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * True when `text` contains, outside strings, a number literal with a fraction or exponent whose
 * value is integral. Strings are skipped with indexOf, so the scan is cheap for WAMP frames.
 */
export function hasIntegralFloatLiteral(text: string): boolean {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === CH_QUOTE) {
      i = skipString(text, i);
      continue;
    }
    if (c === CH_MINUS || isDigit(c)) {
      const start = i;
      let isFloat = false;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (isDigit(d)) {
          i++;
        } else if (d === 46 /* . */ || d === 101 /* e */ || d === 69 /* E */ || d === 43 /* + */ || d === CH_MINUS) {
          isFloat = true;
          i++;
        } else break;
      }
      if (isFloat && Number.isInteger(Number(text.slice(start, i)))) return true;
      continue;
    }
    i++;
  }
  return false;
}

/** Index just past the string starting at `i` (which holds the opening quote). */
function skipString(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q < 0) return text.length;
    // count the backslashes before the quote
    let k = q - 1;
    let backslashes = 0;
    while (k > i && text.charCodeAt(k) === CH_BACKSLASH) {
      backslashes++;
      k--;
    }
    if ((backslashes & 1) === 0) return q + 1;
    j = q + 1;
  }
}

/** A full JSON parser used only for text that holds integral float literals. */
class JsonParser {
  private i = 0;
  special = false;
  constructor(private readonly s: string) {}

  parse(): unknown {
    const v = this.value(0);
    this.ws();
    if (this.i !== this.s.length) this.fail('trailing characters');
    return v;
  }

  private fail(what: string): never {
    throw new CodecError(`invalid JSON at offset ${this.i}: ${what}`);
  }

  private ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.i = i;
  }

  private value(depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    this.ws();
    const s = this.s;
    const c = s.charCodeAt(this.i);
    if (c === 123 /* { */) {
      this.i++;
      const obj: Record<string, unknown> = {};
      this.ws();
      if (s.charCodeAt(this.i) === 125) {
        this.i++;
        return obj;
      }
      for (;;) {
        this.ws();
        if (s.charCodeAt(this.i) !== CH_QUOTE) this.fail('expected a key');
        const key = this.rawString();
        this.ws();
        if (s.charCodeAt(this.i) !== 58 /* : */) this.fail("expected ':'");
        this.i++;
        const v = this.value(depth + 1);
        if (key === '__proto__') Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
        else obj[key] = v;
        this.ws();
        const d = s.charCodeAt(this.i++);
        if (d === 44) continue;
        if (d === 125) return obj;
        this.i--;
        this.fail("expected ',' or '}'");
      }
    }
    if (c === 91 /* [ */) {
      this.i++;
      const arr: unknown[] = [];
      this.ws();
      if (s.charCodeAt(this.i) === 93) {
        this.i++;
        return arr;
      }
      for (;;) {
        arr.push(this.value(depth + 1));
        this.ws();
        const d = s.charCodeAt(this.i++);
        if (d === 44) continue;
        if (d === 93) return arr;
        this.i--;
        this.fail("expected ',' or ']'");
      }
    }
    if (c === CH_QUOTE) {
      const str = this.rawString();
      if (str.charCodeAt(0) === 0) {
        const bin = binaryFromJsonString(str);
        if (bin) {
          this.special = true;
          return bin;
        }
      }
      return str;
    }
    if (c === CH_MINUS || isDigit(c)) return this.number();
    if (s.startsWith('true', this.i)) {
      this.i += 4;
      return true;
    }
    if (s.startsWith('false', this.i)) {
      this.i += 5;
      return false;
    }
    if (s.startsWith('null', this.i)) {
      this.i += 4;
      return null;
    }
    return this.fail('unexpected character');
  }

  private rawString(): string {
    const start = this.i;
    const end = skipString(this.s, start);
    if (end > this.s.length || this.s.charCodeAt(end - 1) !== CH_QUOTE || end === start + 1) this.fail('unterminated string');
    this.i = end;
    const body = this.s.slice(start + 1, end - 1);
    if (body.indexOf('\\') < 0) {
      for (let k = 0; k < body.length; k++) if (body.charCodeAt(k) < 32) this.fail('control character in string');
      return body;
    }
    try {
      return JSON.parse(this.s.slice(start, end)) as string;
    } catch {
      return this.fail('bad string');
    }
  }

  private number(): number | WampFloat {
    const s = this.s;
    const start = this.i;
    let i = start;
    if (s.charCodeAt(i) === CH_MINUS) i++;
    if (!isDigit(s.charCodeAt(i))) this.fail('bad number');
    if (s.charCodeAt(i) === 48) i++;
    else while (isDigit(s.charCodeAt(i))) i++;
    let isFloat = false;
    if (s.charCodeAt(i) === 46) {
      isFloat = true;
      i++;
      if (!isDigit(s.charCodeAt(i))) this.fail('bad fraction');
      while (isDigit(s.charCodeAt(i))) i++;
    }
    const e = s.charCodeAt(i);
    if (e === 101 || e === 69) {
      isFloat = true;
      i++;
      const sign = s.charCodeAt(i);
      if (sign === 43 || sign === CH_MINUS) i++;
      if (!isDigit(s.charCodeAt(i))) this.fail('bad exponent');
      while (isDigit(s.charCodeAt(i))) i++;
    }
    this.i = i;
    const v = Number(s.slice(start, i));
    if (isFloat && Number.isInteger(v)) {
      this.special = true;
      return new WampFloat(v);
    }
    return v;
  }
}

/** `"\u0000" + base64` → bytes, when the string is canonical base64 (else it stays a string). */
function binaryFromJsonString(s: string): Uint8Array | undefined {
  const b64 = s.slice(1);
  const buf = Buffer.from(b64, 'base64');
  if (buf.toString('base64') !== b64) return undefined;
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Replaces binary strings in a JSON.parse result, in place. Returns the (possibly new) value. */
function reviveBinary(v: unknown, flags: DecodeFlags, depth: number): unknown {
  if (typeof v === 'string') {
    if (v.charCodeAt(0) === 0) {
      const bin = binaryFromJsonString(v);
      if (bin) {
        flags.special = true;
        return bin;
      }
    }
    return v;
  }
  if (v === null || typeof v !== 'object' || depth > MAX_DEPTH) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = reviveBinary(v[i], flags, depth + 1);
  } else {
    const o = v as Record<string, unknown>;
    for (const k in o) o[k] = reviveBinary(o[k], flags, depth + 1);
  }
  return v;
}


const EXPONENT = /\d[eE][-+\d]/;

/**
 * Cheap pre-check: text that can hold an integral float literal has an exponent, or a `.`
 * after a digit whose fraction digits are all zeros (`1.0`, `2.000`), or with 16+ digits on
 * one side of it (a double with that many digits may round to an integer). Only then is the
 * exact scan needed.
 */
function mayHoldIntegralFloat(text: string): boolean {
  let i = text.indexOf('.');
  while (i >= 0) {
    let k = i - 1;
    while (isDigit(text.charCodeAt(k))) k--;
    const before = i - 1 - k;
    if (before === 0) {
      i = text.indexOf('.', i + 1);
      continue;
    }
    if (before >= 16) return true;
    let j = i + 1;
    let isZerosOnly = true;
    for (let c = text.charCodeAt(j); isDigit(c); c = text.charCodeAt(++j)) if (c !== 48) isZerosOnly = false;
    if (j > i + 1 && (isZerosOnly || j - i - 1 >= 16)) return true;
    i = text.indexOf('.', j);
  }
  return EXPONENT.test(text);
}

/** Decodes one JSON text. Sets `flags.special` when the result holds a WampFloat or Uint8Array. */
export function decodeJson(text: string, flags: DecodeFlags = SCRATCH_FLAGS): unknown {
  flags.special = false;
  if (mayHoldIntegralFloat(text) && hasIntegralFloatLiteral(text)) {
    const p = new JsonParser(text);
    const v = p.parse();
    flags.special = p.special;
    return v;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CodecError(`invalid JSON: ${(e as Error).message}`);
  }
  if (text.indexOf('\\u0000') >= 0) v = reviveBinary(v, flags, 0);
  return v;
}

/** True when `v` holds a WampFloat or a Uint8Array somewhere (depth-limited walk). */
export function hasSpecialValues(v: unknown, depth = 0): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (v instanceof WampFloat || v instanceof Uint8Array) return true;
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (hasSpecialValues(v[i], depth + 1)) return true;
    return false;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) if (hasSpecialValues(o[k], depth + 1)) return true;
  return false;
}

/** The JSON literal of a float: always with a fraction or exponent (`1.0`, `1e+21`). */
export function floatLiteral(x: number): string {
  if (!Number.isFinite(x)) return 'null';
  const s = String(x);
  return s.indexOf('.') >= 0 || s.indexOf('e') >= 0 ? s : s + '.0';
}

function stringifySpecial(v: unknown, depth: number): string | undefined {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      break;
    case 'bigint':
      return v.toString();
    default:
      return undefined;
  }
  if (depth > MAX_DEPTH) throw new CodecError('value nested too deep');
  if (v instanceof WampFloat) return floatLiteral(v.value);
  if (v instanceof Uint8Array) return JSON.stringify('\u0000' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'));
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out += ',';
      out += stringifySpecial(v[i], depth + 1) ?? 'null';
    }
    return out + ']';
  }
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return stringifySpecial((toJSON as () => unknown).call(v), depth + 1);
  const o = v as Record<string, unknown>;
  let out = '{';
  let first = true;
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
    const s = stringifySpecial(o[k], depth + 1);
    if (s === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += JSON.stringify(k) + ':' + s;
  }
  return out + '}';
}

/**
 * Encodes a value as JSON text. `special` says whether the value may hold a WampFloat or a
 * Uint8Array; when unknown (undefined) the value is walked to find out.
 */
export function encodeJson(v: unknown, special?: boolean): string {
  if (special === undefined) special = hasSpecialValues(v);
  if (!special) {
    const s = JSON.stringify(v);
    if (s === undefined) throw new CodecError('value cannot be encoded as JSON');
    return s;
  }
  const s = stringifySpecial(v, 0);
  if (s === undefined) throw new CodecError('value cannot be encoded as JSON');
  return s;
}

/**
 * A message's head as JSON text without its closing bracket (`[36,5,9,{}`), for a payload's own
 * text (`]`, `,[args]]`, `,[args],{kwargs}]`) to complete. A head holds numbers, strings and
 * dicts the router builds (no WampFloat, no binary data).
 */
export function encodeJsonHead(head: readonly unknown[]): string {
  let out = '[';
  for (let i = 0; i < head.length; i++) {
    const v = head[i];
    if (i > 0) out += ',';
    if (typeof v === 'number') out += Number.isFinite(v) ? String(v) : 'null';
    else if (typeof v === 'string') out += JSON.stringify(v);
    else if (isEmptyObject(v)) out += '{}';
    else out += encodeJson(v, false);
  }
  return out;
}

function isEmptyObject(v: unknown): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  for (const _ in v) return false;
  return true;
}
