/**
 * The WAMP WebSocket subprotocols as the router uses them: one `FrameCodec` per subprotocol
 * (JSON, MessagePack and their batched variants), frames in, messages out, one frame per message out.
 */
import { CodecError, type DecodeFlags } from './codec-common.js';
import { decodeJson, encodeJson } from './json-codec.js';
import { decodeMsgpack } from './msgpack-decoder.js';
import { encodeMsgpack } from './msgpack-encoder.js';

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
