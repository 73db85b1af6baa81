/**
 * The MessagePack decoder of WAMP messages: a float32/float64 whose value is integral decodes to a
 * `WampFloat`, bin to a Uint8Array; truncated, trailing or too deeply nested input is a CodecError.
 */
import { CodecError, MAX_DEPTH, SCRATCH_FLAGS, type DecodeFlags } from './codec-common.js';
import { WampFloat } from './float.js';

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

const DECODER = new MsgpackDecoder();

/** Decodes one msgpack value spanning the whole of `data` (or `[start, end)`). */
export function decodeMsgpack(data: Uint8Array, flags: DecodeFlags = SCRATCH_FLAGS, start = 0, end = data.byteLength): unknown {
  const v = DECODER.decode(data, start, end);
  flags.special = DECODER.special;
  return v;
}
