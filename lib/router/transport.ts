/**
 * The WebSocket transport: `ws` on the router's http.Server at `/ws`, subprotocol negotiation,
 * frame size limit, per-connection backpressure, and frames in → messages (inbound.ts) to the router.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createRequire } from 'node:module';
import type { WebSocket } from 'ws';
import { FRAME_CODECS, JSON_FRAME_CODEC, WAMP_SUBPROTOCOLS, type FrameCodec, type WampSubprotocol } from '../wamp/frame-codecs.js';
import type { DecodeFlags } from '../wamp/codec-common.js';
import type { Logger } from '../log.js';
import type { RouterConfig } from './config.js';
import type { Dict } from './messages.js';
import { readMessage, type Inbound } from './inbound.js';
import { decodeRelayHead } from './relay-head.js';
import type { Router } from './router.js';
import type { Peer } from './session.js';
import type { RouterCounters } from './router-metrics.js';
import { connectionInternals, hookOwnFrames, installFastReceive, wsInternalsVerdict, type WsConnectionInternals } from './ws-internals.js';

// ws is CommonJS: loaded with require, not through the ESM translator, it costs the router
// process about 5 MB less resident memory.
const { WebSocketServer } = createRequire(import.meta.url)('ws') as typeof import('ws');
const PRESSURE_POLL_MS = 20;

/**
 * Write coalescing: the frames a peer is sent during one tick are queued (payload buffers or
 * JSON texts) and written after the I/O phase (setImmediate) as one buffer with their
 * WebSocket headers, so the frames one poll of input produces for a peer leave in one write
 * instead of one syscall each, without a Buffer per frame on the way.
 */
const queued: WebSocketPeer[] = [];
let isFlushScheduled = false;

function flushQueued(): void {
  isFlushScheduled = false;
  for (let i = 0; i < queued.length; i++) queued[i]!.flush();
  queued.length = 0;
}

/** A peer's queue is written at once when it grows past this (and frames this large go uncopied). */
const COALESCE_MAX_BYTES = 64 * 1024;

function headerSize(n: number): number {
  return n < 126 ? 2 : n < 65536 ? 4 : 10;
}

function writeFrameHeader(out: Buffer, o: number, first: number, n: number): number {
  out[o] = first;
  if (n < 126) {
    out[o + 1] = n;
    return o + 2;
  }
  if (n < 65536) {
    out[o + 1] = 126;
    out[o + 2] = n >>> 8;
    out[o + 3] = n & 0xff;
    return o + 4;
  }
  out[o + 1] = 127;
  out.writeUInt32BE(Math.floor(n / 0x100000000), o + 2);
  out.writeUInt32BE(n >>> 0, o + 6);
  return o + 10;
}

type Utf8Writer = Buffer & { utf8Write(s: string, offset: number, length: number): number };

class WebSocketPeer implements Peer {
  private pressureTimer: ReturnType<typeof setInterval> | undefined;
  /** frames waiting for the flush: payload buffers or JSON texts, with their payload byte lengths */
  private readonly pending: (Buffer | string)[] = [];
  private readonly pendingLengths: number[] = [];
  /** bytes of the pending frames, headers included */
  private pendingBytes = 0;
  private isQueued = false;
  /** null: ws's public API (`send`) instead of the socket (ws-internals.ts) */
  private readonly socket: Socket | null;
  private readonly first: number;
  private readonly jsonSuffix: string;
  /** a frame or pong arrived since the last liveness check */
  hasActivity = true;
  isPingOutstanding = false;

  constructor(
    private readonly ws: WebSocket,
    readonly codec: FrameCodec,
    readonly transportDetails: Dict,
    private readonly limits: RouterConfig['limits'],
    private readonly logger: Logger,
    private readonly counters: RouterCounters,
    internals: WsConnectionInternals | null,
  ) {
    this.socket = internals?.socket ?? null;
    this.first = codec.isBinary ? 0x82 : 0x81;
    this.jsonSuffix = codec.subprotocol === 'wamp.2.json.batched' ? '\u001e' : '';
    // ws's own frames (pong, close) go out after the pending ones: the order on the wire is the order of the calls
    if (internals !== null) hookOwnFrames(internals, () => this.pending.length > 0 && this.flush());
  }

  write(frame: Buffer): void {
    this.enqueue(frame, frame.length);
  }

  /** One message as its JSON text (JSON codecs only). */
  writeJsonText(text: string): void {
    if (this.jsonSuffix !== '') text += this.jsonSuffix;
    this.enqueue(text, Buffer.byteLength(text, 'utf8'));
  }

  private enqueue(frame: Buffer | string, n: number): void {
    if (this.ws.readyState !== 1) return;
    const socket = this.socket;
    if (socket === null) {
      // ws's public API: one send per frame, ws writes the header
      this.counters.bytesOut += headerSize(n) + n;
      this.ws.send(frame, { binary: this.codec.isBinary });
      if (this.ws.bufferedAmount > this.limits.outbound_high_water_bytes) this.onPressure();
      return;
    }
    if (socket.destroyed) return;
    this.pending.push(frame);
    this.pendingLengths.push(n);
    this.pendingBytes += headerSize(n) + n;
    if (!this.isQueued) {
      this.isQueued = true;
      queued.push(this);
      if (!isFlushScheduled) {
        isFlushScheduled = true;
        setImmediate(flushQueued);
      }
    }
    if (this.pendingBytes >= COALESCE_MAX_BYTES) this.flush();
    if (this.ws.bufferedAmount + this.pendingBytes > this.limits.outbound_high_water_bytes) this.onPressure();
  }

  /** Writes the pending frames (flushQueued, a large queue, or before ws writes a frame of its own). */
  flush(): void {
    this.isQueued = false;
    const frames = this.pending;
    const count = frames.length;
    if (count === 0) return;
    const lengths = this.pendingLengths;
    const total = this.pendingBytes;
    this.pendingBytes = 0;
    this.counters.bytesOut += total;
    const socket = this.socket;
    if (socket === null || socket.destroyed) {
      frames.length = 0;
      lengths.length = 0;
      return;
    }
    const first = this.first;
    if (total <= COALESCE_MAX_BYTES) {
      const out = Buffer.allocUnsafe(total) as Utf8Writer;
      let o = 0;
      for (let i = 0; i < count; i++) {
        const f = frames[i]!;
        const n = lengths[i]!;
        o = writeFrameHeader(out, o, first, n);
        if (typeof f === 'string') out.utf8Write(f, o, n);
        else f.copy(out, o);
        o += n;
      }
      socket.write(out);
    } else {
      // large frames go without a copy, the small ones between them in one buffer each
      socket.cork();
      for (let i = 0; i < count; i++) {
        const f = frames[i]!;
        const n = lengths[i]!;
        const h = headerSize(n);
        if (n <= 16384) {
          const out = Buffer.allocUnsafe(h + n) as Utf8Writer;
          writeFrameHeader(out, 0, first, n);
          if (typeof f === 'string') out.utf8Write(f, h, n);
          else f.copy(out, h);
          socket.write(out);
        } else {
          const header = Buffer.allocUnsafe(h);
          writeFrameHeader(header, 0, first, n);
          socket.write(header);
          socket.write(typeof f === 'string' ? Buffer.from(f, 'utf8') : f);
        }
      }
      socket.uncork();
    }
    frames.length = 0;
    lengths.length = 0;
  }

  deliver(): void {
    throw new Error('a WebSocket peer takes encoded frames');
  }

  close(code: number, reason: string): void {
    this.stopPressureTimer();
    if (this.pending.length > 0) this.flush();
    const ws = this.ws;
    if (ws.readyState === 0 || ws.readyState === 1) ws.close(code, reason);
  }

  /** Outbound buffer above the high-water mark: stop reading this client until it drains; drop it past the maximum. */
  private onPressure(): void {
    const ws = this.ws;
    const buffered = ws.bufferedAmount;
    if (buffered > this.limits.outbound_max_bytes) {
      this.logger.warn({ peer: this.transportDetails['peer'], buffered }, 'dropping a client that does not read its messages');
      this.counters.slowConsumersDropped++;
      this.stopPressureTimer();
      ws.terminate();
      return;
    }
    if (this.pressureTimer !== undefined) return;
    ws.pause();
    this.pressureTimer = setInterval(() => {
      if (ws.readyState !== 1) {
        this.stopPressureTimer();
        return;
      }
      if (ws.bufferedAmount <= this.limits.outbound_high_water_bytes / 2) {
        this.stopPressureTimer();
        ws.resume();
      }
    }, PRESSURE_POLL_MS);
  }

  /** Liveness check, once per auto-ping interval: silent once → ping; silent after the ping → drop. */
  checkAlive(): void {
    const ws = this.ws;
    if (ws.readyState !== 1) return;
    if (this.hasActivity) {
      this.hasActivity = false;
      this.isPingOutstanding = false;
    } else if (this.isPingOutstanding) {
      this.logger.debug({ peer: this.transportDetails['peer'] }, 'dropping a connection that answers no ping');
      ws.terminate();
    } else {
      this.isPingOutstanding = true;
      ws.ping();
    }
  }

  private stopPressureTimer(): void {
    if (this.pressureTimer !== undefined) {
      clearInterval(this.pressureTimer);
      this.pressureTimer = undefined;
    }
  }
}

function offeredProtocols(req: IncomingMessage): string[] {
  const h = req.headers['sec-websocket-protocol'];
  if (h === undefined) return [];
  return h
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

export function rejectUpgrade(socket: Duplex, status: number, text: string, message: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`);
}

export interface WebSocketTransport {
  /** Handles an HTTP upgrade request (the http server's 'upgrade' event). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every connection at once. */
  terminateAll(): void;
  close(): Promise<void>;
}

export function createWebSocketTransport(router: Router, config: RouterConfig, logger: Logger, path = '/ws'): WebSocketTransport {
  const supported = new Set<string>(WAMP_SUBPROTOCOLS);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.max_message_bytes,
    perMessageDeflate: false,
    skipUTF8Validation: true,
    // the client's order of preference decides among the protocols we support
    handleProtocols: (protocols) => {
      for (const p of protocols) if (supported.has(p)) return p;
      return false;
    },
  });

  const verdict = config.ws_internals === 'off' ? { ok: false as const, reason: 'ws_internals: off in the router config' } : wsInternalsVerdict();
  if (!verdict.ok) logger.info({ reason: verdict.reason }, 'ws used through its public API');
  let isShapeWarned = false;
  const peers = new Set<WebSocketPeer>();
  const pingMs = config.limits.auto_ping_interval_ms;
  const pingTimer =
    pingMs > 0
      ? setInterval(() => {
          // judged after this turn's I/O phase: a pong (or frame) that arrived while the event
          // loop was busy is read before its connection is counted as silent
          setImmediate(() => {
            for (const p of peers) p.checkAlive();
          });
        }, pingMs)
      : undefined;
  pingTimer?.unref();

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const codec = ws.protocol ? FRAME_CODECS[ws.protocol as WampSubprotocol] : JSON_FRAME_CODEC;
    const address = req.socket.remoteAddress ?? '';
    const family = address.includes(':') && !address.startsWith('::ffff:') ? 'tcp6' : 'tcp4';
    const details: Dict = {
      type: 'websocket',
      protocol: ws.protocol || codec.subprotocol,
      serializer: codec.subprotocol.split('.')[2],
      peer: `${family}:${address.replace(/^::ffff:/, '')}:${req.socket.remotePort ?? 0}`,
    };
    const counters = router.counters;
    const internals = verdict.ok ? connectionInternals(ws) : null;
    if (verdict.ok && internals === null && !isShapeWarned) {
      isShapeWarned = true;
      logger.warn({ ws: verdict.version }, 'a ws connection does not have the internals the router knows; using the public API for such connections');
    }
    const peer = new WebSocketPeer(ws, codec, details, config.limits, logger, counters, internals);
    const session = router.openSession(peer);
    const flags: DecodeFlags = { special: false };
    peers.add(peer);

    ws.on('pong', () => {
      peer.hasActivity = true;
    });
    // plain JSON: the messages the router relays are decoded head-only (relay-head.ts)
    const isPlainJson = codec === JSON_FRAME_CODEC;
    const maxMessages = config.limits.max_messages_per_frame;
    const onMessage = (frame: Buffer): void => {
      peer.hasActivity = true;
      counters.bytesIn += frame.length;
      if (isPlainJson && session.state === 'established') {
        const msg = decodeRelayHead(frame.toString('utf8'));
        if (msg !== undefined) {
          router.handleMessage(session, msg);
          return;
        }
        // anything else: the full decoding below
      }
      const messages: unknown[] = [];
      const texts: string[] | undefined = codec.isJson ? [] : undefined;
      try {
        codec.decode(frame, flags, messages, texts, maxMessages);
      } catch (e) {
        router.protocolViolation(session, `cannot decode the frame: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      for (let i = 0; i < messages.length; i++) {
        if (session.state === 'closed') return;
        let msg: Inbound;
        try {
          msg = readMessage(messages[i], flags.special, texts?.[i]);
        } catch (e) {
          router.protocolViolation(session, (e as Error).message);
          return;
        }
        router.handleMessage(session, msg);
      }
    };
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      onMessage(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));
    });
    if (internals !== null) installFastReceive(ws, internals, onMessage);
    ws.on('close', () => {
      peers.delete(peer);
      router.transportClosed(session);
    });
    ws.on('error', (err) => {
      // e.g. a frame above maxPayload: ws closes the connection (1009) by itself
      logger.debug({ session: session.id, err }, 'websocket error');
    });
  });

  return {
    handleUpgrade(req, socket, head) {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const p = q >= 0 ? url.slice(0, q) : url;
      if (p !== path && p !== `${path}/`) {
        rejectUpgrade(socket, 404, 'Not Found', `no WebSocket endpoint at ${p}; use ${path}\n`);
        return;
      }
      const offered = offeredProtocols(req);
      if (offered.length > 0 && !offered.some((o) => supported.has(o))) {
        rejectUpgrade(socket, 400, 'Bad Request', `none of the offered subprotocols is supported (${offered.join(', ')}); supported: ${WAMP_SUBPROTOCOLS.join(', ')}\n`);
        return;
      }
      socket.on('error', () => {});
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
    terminateAll() {
      for (const ws of wss.clients) ws.terminate();
    },
    close() {
      if (pingTimer !== undefined) clearInterval(pingTimer);
      return new Promise((resolve) => wss.close(() => resolve()));
    },
  };
}
