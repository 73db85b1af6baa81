/**
 * The MessagePack encoder of WAMP messages: ints as the smallest int, non-integral numbers and
 * `WampFloat`s as float64, Uint8Array as bin. One pooled buffer, grown as needed, copied out per message.
 */
import { CodecError, MAX_DEPTH } from './codec-common.js';
import { WampFloat } from './float.js';

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

const ENCODER = new MsgpackEncoder();

/** Encodes a value as msgpack (ints as the smallest int, non-integral numbers and WampFloats as float64). */
export function encodeMsgpack(v: unknown): Buffer {
  return ENCODER.encode(v);
}
