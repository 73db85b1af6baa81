/**
 * The router's only use of `ws`'s private internals, isolated here, each measured worth it
 * (lib/router/README.md): the WebSocket peer writes its frames straight to the socket, coalesced
 * per tick (`_socket`, with `_sender.sendFrame` hooked so ws's own frames, pong and close, go out
 * after what is pending), and complete small frames are taken off the socket chunk before ws's
 * receiver (`_receiver.write` and its state fields).
 *
 * Used only when the installed ws is the version they were written against (package.json pins
 * it exactly) and each connection's objects have the expected shape; otherwise, or with the
 * router config's `ws_internals: off`, the transport uses ws's public API (`send`, the `message`
 * event), and says so once in the log. test/unit/router/ws-internals.test.ts fails when the
 * installed ws differs in any of this.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

const require = createRequire(import.meta.url);

/** The ws release these internals were read from (package.json's exact pin). */
export const WS_VERSION_TESTED = '8.23.0';

export interface ReceiverInternals {
  write(chunk: Buffer): boolean;
  _state: number;
  _bufferedBytes: number;
  _fragmented: number;
  _opcode: number;
  _errored: boolean;
  _maxPayload: number;
  _writableState?: { length: number };
}

interface SenderInternals {
  sendFrame(list: unknown[], cb?: unknown): void;
}

interface WsObjectInternals {
  _socket?: Socket;
  _sender?: SenderInternals;
  _receiver?: ReceiverInternals;
}

/** Whether the installed ws may be used through its internals, or why not (checked once). */
export function wsInternalsVerdict(): { ok: true; version: string } | { ok: false; reason: string } {
  let version: string;
  try {
    version = (require('ws/package.json') as { version: string }).version;
  } catch (e) {
    return { ok: false, reason: `cannot read ws's version: ${(e as Error).message}` };
  }
  if (version !== WS_VERSION_TESTED) return { ok: false, reason: `ws ${version} is installed; its internals are known for ${WS_VERSION_TESTED}` };
  try {
    const ws = require('ws') as { Receiver?: { prototype: { write?: unknown } }; Sender?: { prototype: { sendFrame?: unknown } } };
    const Receiver = ws.Receiver;
    const Sender = ws.Sender;
    if (Receiver === undefined || Sender === undefined) return { ok: false, reason: 'ws exports no Receiver or Sender' };
    if (typeof Receiver.prototype.write !== 'function') return { ok: false, reason: 'ws Receiver has no write()' };
    if (typeof Sender.prototype.sendFrame !== 'function') return { ok: false, reason: 'ws Sender has no sendFrame()' };
  } catch (e) {
    return { ok: false, reason: `cannot load ws's receiver or sender: ${(e as Error).message}` };
  }
  return { ok: true, version };
}

/** One connection's internals, when they have the shape this module uses; null otherwise. */
export interface WsConnectionInternals {
  socket: Socket;
  sender: SenderInternals;
  receiver: ReceiverInternals;
}

export function connectionInternals(ws: WebSocket): WsConnectionInternals | null {
  const o = ws as unknown as WsObjectInternals;
  const socket = o._socket;
  const sender = o._sender;
  const receiver = o._receiver;
  if (socket === undefined || typeof socket.write !== 'function' || typeof socket.cork !== 'function') return null;
  if (sender === undefined || typeof sender.sendFrame !== 'function') return null;
  if (receiver === undefined || typeof receiver.write !== 'function') return null;
  for (const field of ['_state', '_bufferedBytes', '_fragmented', '_opcode', '_maxPayload'] as const) {
    if (typeof receiver[field] !== 'number') return null;
  }
  if (typeof receiver._errored !== 'boolean') return null;
  return { socket, sender, receiver };
}

/** Calls `beforeOwnFrame` before ws writes a frame of its own (pong, close), so pending frames keep their order. */
export function hookOwnFrames(internals: WsConnectionInternals, beforeOwnFrame: () => void): void {
  const sender = internals.sender;
  const sendFrame = sender.sendFrame;
  sender.sendFrame = (list, cb) => {
    beforeOwnFrame();
    sendFrame.call(sender, list, cb);
  };
}

/** XORs `n` bytes of `buf` from `start` with the 4-byte mask at `maskAt` (in place). */
function unmaskInPlace(buf: Buffer, maskAt: number, start: number, n: number): void {
  const m0 = buf[maskAt]!;
  const m1 = buf[maskAt + 1]!;
  const m2 = buf[maskAt + 2]!;
  const m3 = buf[maskAt + 3]!;
  const end = start + n;
  let i = start;
  for (; i + 3 < end; i += 4) {
    buf[i] ^= m0;
    buf[i + 1] ^= m1;
    buf[i + 2] ^= m2;
    buf[i + 3] ^= m3;
  }
  if (i < end) buf[i++] ^= m0;
  if (i < end) buf[i++] ^= m1;
  if (i < end) buf[i] ^= m2;
}

/**
 * Receive fast path: ws hands every socket chunk to its receiver's `write`. While the
 * connection is open and the receiver holds nothing (no partial frame, no fragmented message),
 * complete single-frame text and binary messages at the start of the chunk (masked, no RSV
 * bits, 16-bit length at most, within maxPayload) are unmasked and handed to `onMessage`
 * directly; the first frame that is anything else, or incomplete, and all that follows it go to
 * ws's receiver as before, which keeps ws's handling of control frames, fragments, limits and
 * errors.
 */
export function installFastReceive(ws: WebSocket, internals: WsConnectionInternals, onMessage: (frame: Buffer) => void): void {
  const receiver = internals.receiver;
  const write = receiver.write;
  const maxPayload = receiver._maxPayload;
  receiver.write = (chunk: Buffer): boolean => {
    let off = 0;
    const end = chunk.length;
    while (
      off < end &&
      ws.readyState === 1 &&
      receiver._state === 0 &&
      receiver._bufferedBytes === 0 &&
      receiver._fragmented === 0 &&
      receiver._opcode !== 0x08 &&
      !receiver._errored &&
      (receiver._writableState === undefined || receiver._writableState.length === 0)
    ) {
      if (off + 2 > end) break;
      const b0 = chunk[off]!;
      if (b0 !== 0x81 && b0 !== 0x82) break;
      const b1 = chunk[off + 1]!;
      if ((b1 & 0x80) === 0) break;
      let n = b1 & 0x7f;
      let h = 2;
      if (n === 126) {
        if (off + 4 > end) break;
        n = (chunk[off + 2]! << 8) | chunk[off + 3]!;
        h = 4;
      } else if (n === 127) break;
      if (maxPayload > 0 && n > maxPayload) break;
      const start = off + h + 4;
      if (start + n > end) break;
      unmaskInPlace(chunk, off + h, start, n);
      off = start + n;
      onMessage(chunk.subarray(start, off));
    }
    if (off === 0) return write.call(receiver, chunk);
    if (off < end) return write.call(receiver, chunk.subarray(off));
    return true;
  };
}
