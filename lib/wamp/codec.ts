/**
 * JSON and MessagePack codecs for WAMP, shared by the router and our autobahn-js clients.
 *
 * Int/float fidelity: a JSON number literal with a fraction or exponent whose value is integral
 * (`1.0`, `2e3`), or a msgpack float32/float64 whose value is integral, decodes to a `WampFloat`;
 * a `WampFloat` encodes as `1.0` in JSON and as float64 in msgpack. Binary data is a Uint8Array;
 * in JSON it travels as a string `"\u0000" + base64` (the WAMP convention), in msgpack as bin.
 *
 * The common path stays fast: JSON text that contains no integral float literal and no binary
 * string goes through JSON.parse, and a value known to hold no WampFloat or Uint8Array goes
 * through JSON.stringify. `DecodeFlags.special` tells the caller whether a decoded value holds
 * one of them, so a relay can pass the same hint to the encoder.
 */
import { WampFloat } from './float.js';
import type { AutobahnSerializer } from './autobahn.js';

/** Set by the decoders: true when the value holds a WampFloat or a Uint8Array. */
export interface DecodeFlags {
  special: boolean;
}

export class CodecError extends Error {
  override name = 'CodecError';
}

const MAX_DEPTH = 200;

// ---------------------------------------------------------------------------------------------
// JSON

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

const SCRATCH_FLAGS: DecodeFlags = { special: false };

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

// ---------------------------------------------------------------------------------------------
// MessagePack

const INITIAL_POOL = 64 * 1024;

class MsgpackEncoder {
  private buf = Buffer.allocUnsafe(INITIAL_POOL);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private pos = 0;

  encode(v: unknown): Buffer {
    this.pos = 0;
    try {
      this.write(v, 0);
    } catch (e) {
      // a failed encode may have grown the pool; keep the larger pool, drop the partial bytes
      this.pos = 0;
      throw e;
    }
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    if (this.buf.length > 16 * INITIAL_POOL && this.pos < INITIAL_POOL) this.resetPool();
    return out;
  }

  private resetPool(): void {
    this.buf = Buffer.allocUnsafe(INITIAL_POOL);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  private write(v: unknown, depth: number): void {
    if (depth > MAX_DEPTH) throw new CodecError('value nested too deep');
    switch (typeof v) {
      case 'string':
        this.writeString(v);
        return;
      case 'number':
        // integers up to the int64/uint64 range stay integers (2^53 included), the rest are float64
        if (Number.isInteger(v) && v >= -9223372036854775808 && v < 18446744073709551616) this.writeInt(v);
        else this.writeFloat(v);
        return;
      case 'boolean':
        this.ensure(1);
        this.buf[this.pos++] = v ? 0xc3 : 0xc2;
        return;
      case 'undefined':
        this.ensure(1);
        this.buf[this.pos++] = 0xc0;
        return;
      case 'bigint':
        this.writeBigInt(v);
        return;
      case 'object':
        break;
      default:
        throw new CodecError(`cannot encode a ${typeof v} as msgpack`);
    }
    if (v === null) {
      this.ensure(1);
      this.buf[this.pos++] = 0xc0;
      return;
    }
    if (Array.isArray(v)) {
      const n = v.length;
      this.writeHeader(n, 0x90, 0xdc, 0xdd);
      for (let i = 0; i < n; i++) this.write(v[i], depth + 1);
      return;
    }
    if (v instanceof WampFloat) {
      this.writeFloat(v.value);
      return;
    }
    if (v instanceof Uint8Array) {
      this.writeBinary(v);
      return;
    }
    if (v instanceof ArrayBuffer) {
      this.writeBinary(new Uint8Array(v));
      return;
    }
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function' && !(v instanceof Map)) {
      this.write((toJSON as () => unknown).call(v), depth + 1);
      return;
    }
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    let count = 0;
    for (let i = 0; i < keys.length; i++) if (o[keys[i]!] !== undefined) count++;
    this.writeHeader(count, 0x80, 0xde, 0xdf);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const val = o[k];
      if (val === undefined) continue;
      this.writeString(k);
      this.write(val, depth + 1);
    }
  }

  /** fix/16/32 headers for arrays (0x90) and maps (0x80). */
  private writeHeader(n: number, fix: number, h16: number, h32: number): void {
    this.ensure(5);
    const b = this.buf;
    if (n < 16) b[this.pos++] = fix | n;
    else if (n < 0x10000) {
      b[this.pos++] = h16;
      b[this.pos++] = n >> 8;
      b[this.pos++] = n & 0xff;
    } else {
      b[this.pos++] = h32;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
  }

  private writeInt(v: number): void {
    this.ensure(9);
    const b = this.buf;
    if (v >= 0) {
      if (v < 128) b[this.pos++] = v;
      else if (v < 0x100) {
        b[this.pos++] = 0xcc;
        b[this.pos++] = v;
      } else if (v < 0x10000) {
        b[this.pos++] = 0xcd;
        b[this.pos++] = v >> 8;
        b[this.pos++] = v & 0xff;
      } else if (v < 0x100000000) {
        b[this.pos++] = 0xce;
        this.view.setUint32(this.pos, v);
        this.pos += 4;
      } else {
        b[this.pos++] = 0xcf;
        this.view.setUint32(this.pos, Math.floor(v / 0x100000000));
        this.view.setUint32(this.pos + 4, v >>> 0);
        this.pos += 8;
      }
    } else {
      if (v >= -32) b[this.pos++] = v & 0xff;
      else if (v >= -128) {
        b[this.pos++] = 0xd0;
        this.view.setInt8(this.pos++, v);
      } else if (v >= -32768) {
        b[this.pos++] = 0xd1;
        this.view.setInt16(this.pos, v);
        this.pos += 2;
      } else if (v >= -2147483648) {
        b[this.pos++] = 0xd2;
        this.view.setInt32(this.pos, v);
        this.pos += 4;
      } else {
        b[this.pos++] = 0xd3;
        this.view.setBigInt64(this.pos, BigInt(v));
        this.pos += 8;
      }
    }
  }

  private writeBigInt(v: bigint): void {
    this.ensure(9);
    if (v >= 0n) {
      this.buf[this.pos++] = 0xcf;
      this.view.setBigUint64(this.pos, v);
    } else {
      this.buf[this.pos++] = 0xd3;
      this.view.setBigInt64(this.pos, v);
    }
    this.pos += 8;
  }

  private writeFloat(v: number): void {
    this.ensure(9);
    this.buf[this.pos++] = 0xcb;
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  private writeBinary(v: Uint8Array): void {
    const n = v.byteLength;
    this.ensure(n + 5);
    const b = this.buf;
    if (n < 0x100) {
      b[this.pos++] = 0xc4;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = 0xc5;
      b[this.pos++] = n >> 8;
      b[this.pos++] = n & 0xff;
    } else {
      b[this.pos++] = 0xc6;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
    b.set(v, this.pos);
    this.pos += n;
  }

  private writeString(s: string): void {
    const len = s.length;
    if (len < 64) {
      // short strings: compute the UTF-8 length and write the bytes by hand (no native call)
      let bytes = 0;
      for (let i = 0; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c < 0x80) bytes += 1;
        else if (c < 0x800) bytes += 2;
        else if (c >= 0xd800 && c <= 0xdbff && i + 1 < len && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
          bytes += 4;
          i++;
        } else bytes += 3;
      }
      this.ensure(bytes + 2);
      const b = this.buf;
      if (bytes < 32) b[this.pos++] = 0xa0 | bytes;
      else {
        b[this.pos++] = 0xd9;
        b[this.pos++] = bytes;
      }
      let p = this.pos;
      for (let i = 0; i < len; i++) {
        let c = s.charCodeAt(i);
        if (c < 0x80) b[p++] = c;
        else if (c < 0x800) {
          b[p++] = 0xc0 | (c >> 6);
          b[p++] = 0x80 | (c & 0x3f);
        } else {
          if (c >= 0xd800 && c <= 0xdbff && i + 1 < len && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
            c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
            b[p++] = 0xf0 | (c >> 18);
            b[p++] = 0x80 | ((c >> 12) & 0x3f);
            b[p++] = 0x80 | ((c >> 6) & 0x3f);
            b[p++] = 0x80 | (c & 0x3f);
          } else {
            // lone surrogates become U+FFFD, as Buffer.write does
            if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
            b[p++] = 0xe0 | (c >> 12);
            b[p++] = 0x80 | ((c >> 6) & 0x3f);
            b[p++] = 0x80 | (c & 0x3f);
          }
        }
      }
      this.pos = p;
      return;
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    this.ensure(bytes + 5);
    const b = this.buf;
    if (bytes < 0x100) {
      b[this.pos++] = 0xd9;
      b[this.pos++] = bytes;
    } else if (bytes < 0x10000) {
      b[this.pos++] = 0xda;
      b[this.pos++] = bytes >> 8;
      b[this.pos++] = bytes & 0xff;
    } else {
      b[this.pos++] = 0xdb;
      this.view.setUint32(this.pos, bytes);
      this.pos += 4;
    }
    this.pos += b.write(s, this.pos, 'utf8');
  }
}

class MsgpackDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private view: DataView = new DataView(new ArrayBuffer(0));
  private pos = 0;
  private end = 0;
  special = false;

  decode(data: Uint8Array, start = 0, end = data.byteLength): unknown {
    this.buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.pos = start;
    this.end = end;
    this.special = false;
    const v = this.read(0);
    if (this.pos !== end) throw new CodecError('trailing bytes after msgpack value');
    return v;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new CodecError('truncated msgpack value');
  }

  private read(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new CodecError('msgpack value nested too deep');
    this.need(1);
    const b = this.buf;
    const t = b[this.pos++]!;
    if (t < 0x80) return t;
    if (t >= 0xe0) return t - 0x100;
    if (t >= 0xa0 && t < 0xc0) return this.str(t & 0x1f);
    if (t >= 0x90 && t < 0xa0) return this.array(t & 0x0f, depth);
    if (t >= 0x80 && t < 0x90) return this.map(t & 0x0f, depth);
    const v = this.view;
    let p: number;
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        this.need(1);
        return this.bin(b[this.pos++]!);
      case 0xc5:
        this.need(2);
        p = this.pos;
        this.pos += 2;
        return this.bin(v.getUint16(p));
      case 0xc6:
        this.need(4);
        p = this.pos;
        this.pos += 4;
        return this.bin(v.getUint32(p));
      case 0xca: {
        this.need(4);
        const f = v.getFloat32(this.pos);
        this.pos += 4;
        return this.float(f);
      }
      case 0xcb: {
        this.need(8);
        const f = v.getFloat64(this.pos);
        this.pos += 8;
        return this.float(f);
      }
      case 0xcc:
        this.need(1);
        return b[this.pos++]!;
      case 0xcd:
        this.need(2);
        p = this.pos;
        this.pos += 2;
        return v.getUint16(p);
      case 0xce:
        this.need(4);
        p = this.pos;
        this.pos += 4;
        return v.getUint32(p);
      case 0xcf:
        this.need(8);
        p = this.pos;
        this.pos += 8;
        return v.getUint32(p) * 0x100000000 + v.getUint32(p + 4);
      case 0xd0:
        this.need(1);
        return v.getInt8(this.pos++);
      case 0xd1:
        this.need(2);
        p = this.pos;
        this.pos += 2;
        return v.getInt16(p);
      case 0xd2:
        this.need(4);
        p = this.pos;
        this.pos += 4;
        return v.getInt32(p);
      case 0xd3:
        this.need(8);
        p = this.pos;
        this.pos += 8;
        return v.getInt32(p) * 0x100000000 + v.getUint32(p + 4);
      case 0xd9:
        this.need(1);
        return this.str(b[this.pos++]!);
      case 0xda:
        this.need(2);
        p = this.pos;
        this.pos += 2;
        return this.str(v.getUint16(p));
      case 0xdb:
        this.need(4);
        p = this.pos;
        this.pos += 4;
        return this.str(v.getUint32(p));
      case 0xdc:
        this.need(2);
        p = this.pos;
        this.pos += 2;
        return this.array(v.getUint16(p), depth);
      case 0xdd:
        this.need(4);
        p = this.pos;
        this.pos += 4;
        return this.array(v.getUint32(p), depth);
      case 0xde:
        this.need(2);
        p = this.pos;
        this.pos += 2;
        return this.map(v.getUint16(p), depth);
      case 0xdf:
        this.need(4);
        p = this.pos;
        this.pos += 4;
        return this.map(v.getUint32(p), depth);
      default:
        throw new CodecError(`unsupported msgpack type 0x${t.toString(16)}`);
    }
  }

  private float(f: number): number | WampFloat {
    if (Number.isInteger(f)) {
      this.special = true;
      return new WampFloat(f);
    }
    return f;
  }

  private str(n: number): string {
    this.need(n);
    const b = this.buf;
    const start = this.pos;
    const end = start + n;
    this.pos = end;
    if (n < 24) {
      let out = '';
      for (let i = start; i < end; i++) {
        const c = b[i]!;
        if (c >= 0x80) return b.toString('utf8', start, end);
        out += String.fromCharCode(c);
      }
      return out;
    }
    return b.toString('utf8', start, end);
  }

  private bin(n: number): Uint8Array {
    this.need(n);
    const out = new Uint8Array(n);
    out.set(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    this.special = true;
    return out;
  }

  private array(n: number, depth: number): unknown[] {
    // every element takes at least one byte: refuse counts the frame cannot hold
    if (n > this.end - this.pos) throw new CodecError('truncated msgpack array');
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = this.read(depth + 1);
    return out;
  }

  private map(n: number, depth: number): Record<string, unknown> {
    if (n * 2 > this.end - this.pos) throw new CodecError('truncated msgpack map');
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const k = this.read(depth + 1);
      const key = typeof k === 'string' ? k : String(k);
      const val = this.read(depth + 1);
      if (key === '__proto__') Object.defineProperty(out, key, { value: val, enumerable: true, writable: true, configurable: true });
      else out[key] = val;
    }
    return out;
  }
}

const ENCODER = new MsgpackEncoder();
const DECODER = new MsgpackDecoder();

/** Encodes a value as msgpack (ints as the smallest int, non-integral numbers and WampFloats as float64). */
export function encodeMsgpack(v: unknown): Buffer {
  return ENCODER.encode(v);
}

/** Decodes one msgpack value spanning the whole of `data` (or `[start, end)`). */
export function decodeMsgpack(data: Uint8Array, flags: DecodeFlags = SCRATCH_FLAGS, start = 0, end = data.byteLength): unknown {
  const v = DECODER.decode(data, start, end);
  flags.special = DECODER.special;
  return v;
}

// ---------------------------------------------------------------------------------------------
// WebSocket subprotocols (router side)

/** The WAMP WebSocket subprotocols, in the router's order of preference. */
export const WAMP_SUBPROTOCOLS = ['wamp.2.json', 'wamp.2.msgpack', 'wamp.2.json.batched', 'wamp.2.msgpack.batched'] as const;
export type WampSubprotocol = (typeof WAMP_SUBPROTOCOLS)[number];

/** One serializer as the router uses it: frames in, messages out, and one frame per message out. */
export interface FrameCodec {
  readonly subprotocol: WampSubprotocol;
  /** Index into per-serializer caches (0..3). */
  readonly index: number;
  /** WebSocket frame type: binary for msgpack, text for JSON. */
  readonly isBinary: boolean;
  /** Encodes one message as one frame. `special` is the hint passed to the JSON encoder. */
  encode(msg: unknown, special?: boolean): Buffer;
  /** Whether frames are JSON text (a relay may then reuse a sender's JSON payload text). */
  readonly isJson: boolean;
  /** One frame from one message's JSON text (JSON codecs only). */
  frameFromJsonText(text: string): Buffer;
  /**
   * Decodes one frame into its messages (several for the batched variants). JSON codecs also
   * push each message's text onto `texts` when given. A batched frame with more than
   * `maxMessages` messages is refused (CodecError) before the rest is decoded.
   */
  decode(frame: Buffer, flags: DecodeFlags, out: unknown[], texts?: string[], maxMessages?: number): void;
}

function notJson(): never {
  throw new CodecError('not a JSON codec');
}

const RS = 0x1e;

function tooManyMessages(max: number): CodecError {
  return new CodecError(`a batched frame may carry at most ${max} messages`);
}

export const JSON_FRAME_CODEC: FrameCodec = {
  subprotocol: 'wamp.2.json',
  index: 0,
  isBinary: false,
  isJson: true,
  encode: (msg, special) => Buffer.from(encodeJson(msg, special), 'utf8'),
  frameFromJsonText: (text) => Buffer.from(text, 'utf8'),
  decode: (frame, flags, out, texts) => {
    const text = frame.toString('utf8');
    out.push(decodeJson(text, flags));
    texts?.push(text);
  },
};

export const MSGPACK_FRAME_CODEC: FrameCodec = {
  subprotocol: 'wamp.2.msgpack',
  index: 1,
  isBinary: true,
  isJson: false,
  frameFromJsonText: notJson,
  encode: (msg) => encodeMsgpack(msg),
  decode: (frame, flags, out) => {
    out.push(decodeMsgpack(frame, flags));
  },
};

export const JSON_BATCHED_FRAME_CODEC: FrameCodec = {
  subprotocol: 'wamp.2.json.batched',
  index: 2,
  isBinary: false,
  isJson: true,
  encode: (msg, special) => Buffer.from(encodeJson(msg, special) + '\u001e', 'utf8'),
  frameFromJsonText: (text) => Buffer.from(text + '\u001e', 'utf8'),
  decode: (frame, flags, out, texts, maxMessages = Infinity) => {
    let start = 0;
    let special = false;
    let count = 0;
    while (start < frame.length) {
      let end = frame.indexOf(RS, start);
      if (end < 0) end = frame.length;
      if (end > start) {
        if (++count > maxMessages) throw tooManyMessages(maxMessages);
        const text = frame.toString('utf8', start, end);
        out.push(decodeJson(text, flags));
        texts?.push(text);
        special ||= flags.special;
      }
      start = end + 1;
    }
    flags.special = special;
  },
};

export const MSGPACK_BATCHED_FRAME_CODEC: FrameCodec = {
  subprotocol: 'wamp.2.msgpack.batched',
  index: 3,
  isBinary: true,
  isJson: false,
  frameFromJsonText: notJson,
  encode: (msg) => {
    const body = encodeMsgpack(msg);
    const out = Buffer.allocUnsafe(body.length + 4);
    out.writeUInt32BE(body.length, 0);
    body.copy(out, 4);
    return out;
  },
  decode: (frame, flags, out, _texts, maxMessages = Infinity) => {
    let pos = 0;
    let special = false;
    let count = 0;
    while (pos < frame.length) {
      if (++count > maxMessages) throw tooManyMessages(maxMessages);
      if (pos + 4 > frame.length) throw new CodecError('truncated batched msgpack length prefix');
      const n = frame.readUInt32BE(pos);
      pos += 4;
      if (pos + n > frame.length) throw new CodecError('truncated batched msgpack message');
      out.push(decodeMsgpack(frame, flags, pos, pos + n));
      special ||= flags.special;
      pos += n;
    }
    flags.special = special;
  },
};

export const FRAME_CODECS: Record<WampSubprotocol, FrameCodec> = {
  'wamp.2.json': JSON_FRAME_CODEC,
  'wamp.2.msgpack': MSGPACK_FRAME_CODEC,
  'wamp.2.json.batched': JSON_BATCHED_FRAME_CODEC,
  'wamp.2.msgpack.batched': MSGPACK_BATCHED_FRAME_CODEC,
};

// ---------------------------------------------------------------------------------------------
// autobahn-js serializer objects (client side)

function toBuffer(payload: string | Uint8Array | ArrayBuffer): Buffer {
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  if (payload instanceof ArrayBuffer) return Buffer.from(payload);
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

/** autobahn-js serializer for `wamp.2.json` that keeps WampFloat and binary values. */
export function createJsonSerializer(): AutobahnSerializer {
  return {
    SERIALIZER_ID: 'json',
    BINARY: false,
    serialize: (obj) => encodeJson(obj),
    unserialize: (payload) => decodeJson(typeof payload === 'string' ? payload : toBuffer(payload).toString('utf8')),
  };
}

/** autobahn-js serializer for `wamp.2.msgpack` that keeps WampFloat and binary values. */
export function createMsgpackSerializer(): AutobahnSerializer {
  return {
    SERIALIZER_ID: 'msgpack',
    BINARY: true,
    serialize: (obj) => encodeMsgpack(obj),
    unserialize: (payload) => decodeMsgpack(toBuffer(payload as Uint8Array)),
  };
}
