import { decode as libDecode, encode as libEncode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { CodecError, type DecodeFlags } from '../../../lib/wamp/codec-common.js';
import { JSON_BATCHED_FRAME_CODEC, MSGPACK_BATCHED_FRAME_CODEC } from '../../../lib/wamp/frame-codecs.js';
import { createJsonSerializer, createMsgpackSerializer } from '../../../lib/wamp/serializers.js';
import { decodeJson, encodeJson, floatLiteral, hasIntegralFloatLiteral } from '../../../lib/wamp/json-codec.js';
import { decodeMsgpack } from '../../../lib/wamp/msgpack-decoder.js';
import { encodeMsgpack } from '../../../lib/wamp/msgpack-encoder.js';
import { WampFloat } from '../../../lib/wamp/float.js';

describe('codec JSON', () => {
  it('decodes integral float literals as WampFloat and flags them', () => {
    const flags: DecodeFlags = { special: false };
    const v = decodeJson('[1.0, 2e3, -0.0, 1.5, 7, {"a": 3.00}]', flags);
    expect(flags.special).toBe(true);
    expect(v).toEqual([new WampFloat(1), new WampFloat(2000), new WampFloat(-0), 1.5, 7, { a: new WampFloat(3) }]);
  });

  it('keeps plain numbers and strings that look like floats when no float literal is present', () => {
    const flags: DecodeFlags = { special: true };
    expect(decodeJson('[1, 1.5, "1.0", "agent-1.feeds", "x\\"2.0"]', flags)).toEqual([1, 1.5, '1.0', 'agent-1.feeds', 'x"2.0']);
    expect(flags.special).toBe(false);
  });

  it('keeps integers exact up to 2^53', () => {
    expect(decodeJson('[9007199254740992, -9007199254740992, 9007199254740991]')).toEqual([2 ** 53, -(2 ** 53), 2 ** 53 - 1]);
    expect(decodeJson('[9007199254740992, 1.0]')).toEqual([2 ** 53, new WampFloat(1)]);
  });

  it('encodes WampFloat with a fraction and everything else as JSON.stringify does', () => {
    expect(encodeJson([new WampFloat(1), new WampFloat(2.5), 3, 'a', null, { b: new WampFloat(-4) }, [true]])).toBe('[1.0,2.5,3,"a",null,{"b":-4.0},[true]]');
    expect(floatLiteral(1e21)).toBe('1e+21');
    expect(floatLiteral(Number.NaN)).toBe('null');
    expect(encodeJson({ a: 1, b: undefined, c: [undefined] })).toBe(JSON.stringify({ a: 1, b: undefined, c: [undefined] }));
    expect(encodeJson({ a: 1, b: undefined, w: new WampFloat(1) })).toBe('{"a":1,"w":1.0}');
  });

  it('round-trips frames with float literals', () => {
    const text = '[36,1,2,{},[1.0,2,"a.1.0",{"x":2.5,"y":3.0,"z":[1e2]}]]';
    const flags: DecodeFlags = { special: false };
    const v = decodeJson(text, flags);
    expect(encodeJson(v, flags.special)).toBe('[36,1,2,{},[1.0,2,"a.1.0",{"x":2.5,"y":3.0,"z":[100.0]}]]');
  });

  it('decodes and encodes binary as a NUL-prefixed base64 string', () => {
    const flags: DecodeFlags = { special: false };
    const v = decodeJson('["\\u0000AQID", "\\u0000not base64!"]', flags) as unknown[];
    expect(flags.special).toBe(true);
    expect(v[0]).toEqual(new Uint8Array([1, 2, 3]));
    expect(v[1]).toBe('\u0000not base64!');
    expect(encodeJson([new Uint8Array([1, 2, 3])])).toBe('["\\u0000AQID"]');
    // with a float literal in the same frame (the slow parser)
    expect(decodeJson('[1.0, "\\u0000AQID"]')).toEqual([new WampFloat(1), new Uint8Array([1, 2, 3])]);
  });

  it('rejects invalid JSON with CodecError, on both paths', () => {
    expect(() => decodeJson('[1, 2')).toThrow(CodecError);
    expect(() => decodeJson('[1.0, 2')).toThrow(CodecError);
    expect(() => decodeJson('[1.0] x')).toThrow(CodecError);
    expect(() => decodeJson('{"a" 1.0}')).toThrow(CodecError);
    expect(() => decodeJson('[1.0, "abc]')).toThrow(CodecError);
  });

  it('finds integral float literals only outside strings', () => {
    expect(hasIntegralFloatLiteral('["1.0", 1.5, "x\\"", 2]')).toBe(false);
    expect(hasIntegralFloatLiteral('["1.0", 1.5, "x\\"", 2.0]')).toBe(true);
    expect(hasIntegralFloatLiteral('[1E2]')).toBe(true);
    expect(hasIntegralFloatLiteral('[-3.000]')).toBe(true);
  });
});

describe('codec msgpack', () => {
  const values: unknown[] = [
    0,
    1,
    127,
    128,
    255,
    256,
    65535,
    65536,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 53,
    -1,
    -32,
    -33,
    -128,
    -129,
    -32768,
    -32769,
    -(2 ** 31),
    -(2 ** 31) - 1,
    -(2 ** 53),
    1.5,
    -0.25,
    '',
    'a',
    'x'.repeat(31),
    'x'.repeat(32),
    'ü€😀',
    'y'.repeat(70_000),
    'ü'.repeat(40),
    null,
    true,
    false,
    [],
    [1, [2, [3]]],
    {},
    { a: 1, b: { c: [null, 'd'] } },
    Array.from({ length: 20 }, (_, i) => i),
    Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
  ];

  it('round-trips ints, floats, strings, arrays and maps', () => {
    for (const v of values) expect(decodeMsgpack(encodeMsgpack(v))).toEqual(v);
  });

  it('is byte-compatible with @msgpack/msgpack both ways', () => {
    for (const v of values) {
      // the library picks float32 where it can, and writes 2^53 as a float
      if (typeof v === 'number' && !Number.isSafeInteger(v)) continue;
      expect(decodeMsgpack(libEncode(v))).toEqual(v);
      expect(libDecode(encodeMsgpack(v))).toEqual(v);
    }
  });

  it('decodes integral float32/float64 as WampFloat and encodes WampFloat as float64', () => {
    const flags: DecodeFlags = { special: false };
    const f64 = Buffer.from([0x92, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xca, 0x40, 0x40, 0, 0]); // [1.0 (f64), 3.0 (f32)]
    expect(decodeMsgpack(f64, flags)).toEqual([new WampFloat(1), new WampFloat(3)]);
    expect(flags.special).toBe(true);
    const enc = encodeMsgpack([new WampFloat(1)]);
    expect([...enc]).toEqual([0x91, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
    expect(decodeMsgpack(encodeMsgpack([1.5, 2]), flags)).toEqual([1.5, 2]);
    expect(flags.special).toBe(false);
  });

  it('round-trips binary data', () => {
    const bin = new Uint8Array([0, 1, 2, 255]);
    const big = new Uint8Array(70_000).fill(7);
    const v = decodeMsgpack(encodeMsgpack([bin, { big }])) as [Uint8Array, { big: Uint8Array }];
    expect(v[0]).toBeInstanceOf(Uint8Array);
    expect([...v[0]]).toEqual([...bin]);
    expect(v[1].big.length).toBe(big.length);
    expect(v[1].big.every((b) => b === 7)).toBe(true);
    expect([...(libDecode(encodeMsgpack(bin)) as Uint8Array)]).toEqual([...bin]);
  });

  it('rejects truncated, trailing and unsupported input with CodecError', () => {
    expect(() => decodeMsgpack(Buffer.from([0x92, 0x01]))).toThrow(CodecError);
    expect(() => decodeMsgpack(Buffer.from([0x01, 0x02]))).toThrow(CodecError);
    expect(() => decodeMsgpack(Buffer.from([0xc1]))).toThrow(CodecError);
    expect(() => decodeMsgpack(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]))).toThrow(CodecError);
    expect(() => decodeMsgpack(Buffer.from([0xd9, 0x05, 0x61]))).toThrow(CodecError);
    expect(() => decodeMsgpack(Buffer.from(new Array(300).fill(0x91)))).toThrow(CodecError);
  });
});

describe('codec frame codecs and serializers', () => {
  it('splits and frames the batched variants', () => {
    const out: unknown[] = [];
    JSON_BATCHED_FRAME_CODEC.decode(Buffer.from('[1,"r",{}]\u001e[6,{},"x"]\u001e'), { special: false }, out);
    expect(out).toEqual([
      [1, 'r', {}],
      [6, {}, 'x'],
    ]);
    expect(JSON_BATCHED_FRAME_CODEC.encode([2, 1, {}]).toString()).toBe('[2,1,{}]\u001e');
    const frame = Buffer.concat([MSGPACK_BATCHED_FRAME_CODEC.encode([1, 'r', {}]), MSGPACK_BATCHED_FRAME_CODEC.encode([6, {}, 'x'])]);
    const out2: unknown[] = [];
    MSGPACK_BATCHED_FRAME_CODEC.decode(frame, { special: false }, out2);
    expect(out2).toEqual([
      [1, 'r', {}],
      [6, {}, 'x'],
    ]);
    expect(() => MSGPACK_BATCHED_FRAME_CODEC.decode(Buffer.from([0, 0, 0, 9, 1]), { special: false }, [])).toThrow(CodecError);
  });

  it('offers autobahn-js serializer objects that keep floats', () => {
    const json = createJsonSerializer();
    const msgpack = createMsgpackSerializer();
    expect(json.SERIALIZER_ID).toBe('json');
    expect(json.BINARY).toBe(false);
    expect(msgpack.SERIALIZER_ID).toBe('msgpack');
    expect(msgpack.BINARY).toBe(true);
    expect(json.serialize([16, 1, {}, 't', [new WampFloat(1)]])).toBe('[16,1,{},"t",[1.0]]');
    expect(json.unserialize('[36,1,2,{},[1.0]]')).toEqual([36, 1, 2, {}, [new WampFloat(1)]]);
    const bytes = msgpack.serialize([16, 1, {}, 't', [new WampFloat(1), 2]]) as Uint8Array;
    expect(msgpack.unserialize(new Uint8Array(bytes).buffer as unknown as Uint8Array)).toEqual([16, 1, {}, 't', [new WampFloat(1), 2]]);
  });
});

describe('codec JSON float detection', () => {
  it('finds integral floats the pre-check must not miss', () => {
    for (const t of ['[1.0]', '[1.000]', '[-2.0e0]', '[1.5e3]', '[1E2]', '[9007199254740993.5]', '{"a":[3.0]}']) {
      const flags: DecodeFlags = { special: false };
      decodeJson(t, flags);
      expect(flags.special, t).toBe(true);
    }
    for (const t of ['[1.05]', '[1795470501.123]', '["agent-1.feeds", "v1.0"]', '[1.50]', '[1e-3]']) {
      const flags: DecodeFlags = { special: true };
      decodeJson(t, flags);
      expect(flags.special, t).toBe(false);
    }
  });
});
