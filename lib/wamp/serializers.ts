import type { AutobahnSerializer } from './autobahn.js';
import { decodeJson, encodeJson } from './json-codec.js';
import { decodeMsgpack } from './msgpack-decoder.js';
import { encodeMsgpack } from './msgpack-encoder.js';

/**
 * The JSON serializer our own WAMP clients offer. Encoding goes through the project codec so a
 * `WampFloat` travels as `1.0` (ocs-protocol §9.3); decoding is plain JSON.parse because inside
 * JavaScript a float and an int are the same number, and handlers (zod schemas included) expect
 * plain numbers.
 */
export const jsonSerializer: AutobahnSerializer = {
  SERIALIZER_ID: 'json',
  BINARY: false,
  serialize: (obj) => encodeJson(obj),
  unserialize: (payload) => JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8')) as unknown,
};

/** True when a JSON WAMP frame is an EVENT (`[36, ...`); only its first characters are looked at. */
function isEventFrame(text: string): boolean {
  return /^\s*\[\s*36\s*,/.test(text.slice(0, 16));
}

/**
 * JSON serializer for the one kind of client that must tell `20.0` from `20` in what it receives:
 * a recorder of feeds (the InfluxDB publisher writes a float field as a float and an integer as
 * `20i`, and InfluxDB refuses a field that changes type). EVENT frames are decoded with the
 * project codec, so an integral float literal arrives as a `WampFloat`; every other frame (call
 * results, invocations of the agent's own procedures) is decoded as `jsonSerializer` does, so op
 * parameters and replies stay plain numbers. Encoding is `jsonSerializer`'s.
 */
export const floatPreservingJsonSerializer: AutobahnSerializer = {
  SERIALIZER_ID: 'json',
  BINARY: false,
  serialize: (obj) => encodeJson(obj),
  unserialize: (payload) => {
    const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
    return isEventFrame(text) ? decodeJson(text) : (JSON.parse(text) as unknown);
  },
};

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
