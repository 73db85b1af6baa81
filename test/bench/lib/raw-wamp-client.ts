import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { MSG } from '../../../lib/router/messages.js';

/**
 * A lean WAMP client straight on `ws`, JSON only: HELLO/WELCOME, then request/reply helpers for
 * setup and raw frame sending for load. Load loops send pre-encoded text frames and read replies
 * with `frameHead` instead of JSON.parse, so the client spends less CPU per message than
 * autobahn-js. With `shouldCoalesceWrites`, the frames sent during one event-loop turn leave in
 * one socket write (as the router does) and whole text frames are read straight from the socket
 * chunks, which roughly halves the client's CPU per message.
 * Also used by the fuzz tests to open sockets and send arbitrary frames.
 */

/** The WAMP message codes (the spec's numbers, shared with the router). */
export const WAMP = MSG;

export type WampMessage = unknown[];

const HELLO_ROLES = {
  caller: { features: { call_canceling: true, progressive_call_results: true } },
  callee: { features: { call_canceling: true, progressive_call_results: true } },
  publisher: { features: {} },
  subscriber: { features: {} },
};

const CONNECT_TIMEOUT_MS = 10_000;
/** Coalescing mode: frames queued in one turn are written at the latest when this many wait. */
const FLUSH_FRAMES = 64;

export interface OpenSocketOptions {
  protocol?: string | string[];
  maxPayload?: number;
}

/** Opens a WebSocket offering the given WAMP subprotocol(s); no WAMP traffic yet. */
export function openSocket(url: string, options: OpenSocketOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocol ?? 'wamp.2.json', {
      perMessageDeflate: false,
      maxPayload: options.maxPayload ?? 64 * 1024 * 1024,
      handshakeTimeout: CONNECT_TIMEOUT_MS,
    });
    const onError = (err: Error): void => {
      ws.off('open', onOpen);
      reject(err);
    };
    const onOpen = (): void => {
      ws.off('error', onError);
      ws.on('error', () => {}); // errors after open surface as 'close'
      resolve(ws);
    };
    ws.once('error', onError);
    ws.once('open', onOpen);
  });
}

/** The message type and the first id field of a JSON WAMP frame, read without parsing it all. */
export function frameHead(text: string): { type: number; id: number } {
  let i = 1;
  let type = 0;
  let c = text.charCodeAt(i);
  while (c >= 48 && c <= 57) {
    type = type * 10 + (c - 48);
    c = text.charCodeAt(++i);
  }
  i++; // the comma
  let id = 0;
  c = text.charCodeAt(i);
  while (c >= 48 && c <= 57) {
    id = id * 10 + (c - 48);
    c = text.charCodeAt(++i);
  }
  return { type, id };
}

/** The number that follows the first `"@` in a frame: the send timestamp load frames carry. */
export function stampIn(text: string): number {
  const i = text.indexOf('"@');
  return i < 0 ? NaN : parseFloat(text.slice(i + 2, i + 24));
}

export class WampRequestError extends Error {
  constructor(readonly reply: WampMessage) {
    super(`WAMP request failed: ${JSON.stringify(reply)}`);
  }
}

interface Pending {
  resolve: (m: WampMessage) => void;
  reject: (e: Error) => void;
}

/** Replies matched to requests by the request id in position 1 (ERROR: position 2). */
const REPLY_TYPES = new Set<number>([WAMP.PUBLISHED, WAMP.SUBSCRIBED, WAMP.UNSUBSCRIBED, WAMP.RESULT, WAMP.REGISTERED, WAMP.UNREGISTERED]);

export class RawWampClient {
  sessionId = 0;
  welcomeDetails: Record<string, unknown> = {};
  private nextId = 1;
  private hasSentGoodbye = false;
  private readonly pending = new Map<number, Pending>();
  /** Sees every text frame first; return true when it handled the frame (hot paths). */
  onFrame: ((text: string) => boolean) | undefined;
  /** Parsed messages that are not replies to `request()`: EVENT, INVOCATION, ... */
  onMessage: ((msg: WampMessage) => void) | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;

  private readonly socket: Socket | undefined;
  private isFlushScheduled = false;
  /** frames waiting for flushQueued (coalescing mode) */
  private readonly queued: string[] = [];
  private readonly maskKey = randomBytes(4);

  private constructor(
    readonly ws: WebSocket,
    private readonly shouldCoalesceWrites: boolean,
  ) {
    this.socket = (ws as unknown as { _socket?: Socket })._socket;
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        for (const p of this.pending.values()) p.reject(new Error(`connection closed (${code})`));
        this.pending.clear();
        resolve({ code, reason: reason.toString('utf8') });
      });
    });
    ws.on('message', (data: Buffer) => this.dispatch(data.toString('utf8')));
    if (shouldCoalesceWrites) this.installFastReceive();
  }

  /**
   * Coalescing mode reads lean too: whole unfragmented text frames at the start of each socket
   * chunk are dispatched straight from it; anything else (control frames, a frame split across
   * chunks) and all that follows it go to ws's receiver as usual.
   */
  private installFastReceive(): void {
    const receiver = (this.ws as unknown as { _receiver?: { write(chunk: Buffer): boolean; _state: number; _bufferedBytes: number; _fragmented: number } })._receiver;
    if (receiver === undefined) return;
    const write = receiver.write;
    receiver.write = (chunk: Buffer): boolean => {
      let off = 0;
      const end = chunk.length;
      while (off + 2 <= end && receiver._state === 0 && receiver._bufferedBytes === 0 && receiver._fragmented === 0) {
        if (chunk[off] !== 0x81) break;
        let n = chunk[off + 1]!;
        let h = 2;
        if (n & 0x80) break;
        if (n === 126) {
          if (off + 4 > end) break;
          n = chunk.readUInt16BE(off + 2);
          h = 4;
        } else if (n === 127) break;
        if (off + h + n > end) break;
        const start = off + h;
        off = start + n;
        this.dispatch(chunk.toString('utf8', start, off));
      }
      if (off === 0) return write.call(receiver, chunk);
      if (off < end) return write.call(receiver, chunk.subarray(off));
      return true;
    };
  }

  /** Connects and joins `realm` anonymously; rejects with the ABORT when the router refuses. */
  static async connect(url: string, realm = 'test_realm', options: { shouldCoalesceWrites?: boolean } = {}): Promise<RawWampClient> {
    const client = new RawWampClient(await openSocket(url), options.shouldCoalesceWrites ?? false);
    const welcome = await client.exchange(JSON.stringify([WAMP.HELLO, realm, { roles: HELLO_ROLES }]), (m) => m[0] === WAMP.WELCOME || m[0] === WAMP.ABORT);
    if (welcome[0] !== WAMP.WELCOME) {
      client.ws.terminate();
      throw new WampRequestError(welcome);
    }
    client.sessionId = welcome[1] as number;
    client.welcomeDetails = welcome[2] as Record<string, unknown>;
    return client;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  requestId(): number {
    return this.nextId++;
  }

  send(frame: string): void {
    if (this.shouldCoalesceWrites && this.socket && this.ws.readyState === WebSocket.OPEN) {
      this.queued.push(frame);
      // a long queue goes at once, so the router starts on it while this turn goes on
      if (this.queued.length >= FLUSH_FRAMES) {
        this.flushQueued();
        return;
      }
      if (!this.isFlushScheduled) {
        this.isFlushScheduled = true;
        setImmediate(this.onTurnEnd);
      }
      return;
    }
    this.ws.send(frame);
  }

  /**
   * Writes the frames queued during one turn as one buffer: masked text frames built here (the
   * mask is this connection's random key), one syscall for all of them.
   */
  private readonly onTurnEnd = (): void => {
    this.isFlushScheduled = false;
    this.flushQueued();
  };

  private flushQueued(): void {
    const frames = this.queued;
    if (frames.length === 0 || this.socket === undefined || this.socket.destroyed) {
      frames.length = 0;
      return;
    }
    const lengths = new Array<number>(frames.length);
    let total = 0;
    for (let i = 0; i < frames.length; i++) {
      const n = Buffer.byteLength(frames[i]!, 'utf8');
      lengths[i] = n;
      total += (n < 126 ? 2 : n < 65536 ? 4 : 10) + 4 + n;
    }
    const out = Buffer.allocUnsafe(total);
    const key = this.maskKey;
    let o = 0;
    for (let i = 0; i < frames.length; i++) {
      const n = lengths[i]!;
      out[o++] = 0x81;
      if (n < 126) out[o++] = 0x80 | n;
      else if (n < 65536) {
        out[o++] = 0x80 | 126;
        out.writeUInt16BE(n, o);
        o += 2;
      } else {
        out[o++] = 0x80 | 127;
        out.writeUInt32BE(Math.floor(n / 0x100000000), o);
        out.writeUInt32BE(n >>> 0, o + 4);
        o += 8;
      }
      key.copy(out, o);
      o += 4;
      out.write(frames[i]!, o, n, 'utf8');
      for (let k = 0; k < n; k++) out[o + k] ^= key[k & 3]!;
      o += n;
    }
    frames.length = 0;
    this.socket.write(out);
  }

  /** Sends `frame` built with a fresh request id and resolves with the reply (rejects on ERROR). */
  request(build: (requestId: number) => WampMessage): Promise<WampMessage> {
    const id = this.requestId();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send(JSON.stringify(build(id)));
    });
  }

  async subscribe(topic: string, options: Record<string, unknown> = {}): Promise<number> {
    const reply = await this.request((id) => [WAMP.SUBSCRIBE, id, options, topic]);
    return reply[2] as number;
  }

  async register(procedure: string, options: Record<string, unknown> = {}): Promise<number> {
    const reply = await this.request((id) => [WAMP.REGISTER, id, options, procedure]);
    return reply[2] as number;
  }

  async call(procedure: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}): Promise<unknown[]> {
    const reply = await this.request((id) => [WAMP.CALL, id, {}, procedure, args, kwargs]);
    return (reply[3] as unknown[] | undefined) ?? [];
  }

  /** Answers every INVOCATION of this client with `handler`'s return value as the only result. */
  serve(handler: (args: unknown[], kwargs: Record<string, unknown>) => unknown): void {
    this.onMessage = (msg) => {
      if (msg[0] !== WAMP.INVOCATION) return;
      const result = handler((msg[4] as unknown[] | undefined) ?? [], (msg[5] as Record<string, unknown> | undefined) ?? {});
      this.send(JSON.stringify([WAMP.YIELD, msg[1], {}, [result]]));
    };
  }

  /** Sends GOODBYE and waits for the close (terminates the socket if the router does not). */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) {
      this.hasSentGoodbye = true;
      this.send(JSON.stringify([WAMP.GOODBYE, {}, 'wamp.close.close_realm']));
      const timer = setTimeout(() => this.ws.terminate(), timeoutMs);
      await this.closed;
      clearTimeout(timer);
    } else if (this.ws.readyState !== WebSocket.CLOSED) {
      this.ws.terminate();
      await this.closed;
    }
  }

  private exchange(frame: string, isReply: (m: WampMessage) => boolean): Promise<WampMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to HELLO')), CONNECT_TIMEOUT_MS);
      const previous = this.onMessage;
      this.onMessage = (m) => {
        if (!isReply(m)) return;
        clearTimeout(timer);
        this.onMessage = previous;
        resolve(m);
      };
      void this.closed.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`closed (${code}) before WELCOME`));
      });
      this.send(frame);
    });
  }

  private dispatch(text: string): void {
    if (this.onFrame?.(text)) return;
    const msg = JSON.parse(text) as WampMessage;
    const type = msg[0] as number;
    if (REPLY_TYPES.has(type) || type === WAMP.ERROR) {
      const id = (type === WAMP.ERROR ? msg[2] : msg[1]) as number;
      const p = this.pending.get(id);
      if (p) {
        this.pending.delete(id);
        if (type === WAMP.ERROR) p.reject(new WampRequestError(msg));
        else p.resolve(msg);
        return;
      }
    }
    if (type === WAMP.GOODBYE) {
      if (!this.hasSentGoodbye) this.send(JSON.stringify([WAMP.GOODBYE, {}, 'wamp.close.goodbye_and_out']));
      return;
    }
    this.onMessage?.(msg);
  }
}
