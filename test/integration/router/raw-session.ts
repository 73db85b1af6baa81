import WebSocket from 'ws';
import { FRAME_CODECS, type FrameCodec, type WampSubprotocol } from '../../../lib/wamp/frame-codecs.js';
import { registerCleanup } from '../../helpers/router.js';

/**
 * A bare WAMP peer for conformance tests that need to see or send exact messages (INTERRUPT,
 * late YIELDs, omitted args, raw float literals), over JSON or msgpack. Every message received
 * is kept in `received`; `next()` waits for the first unread one that matches.
 */
export class RawSession {
  readonly received: unknown[][] = [];
  readonly frames: { data: Buffer; isBinary: boolean }[] = [];
  sessionId = 0;
  welcome: Record<string, unknown> = {};
  private nextRequest = 1;
  private readonly waiters: { match: (m: unknown[]) => boolean; resolve: (m: unknown[]) => void }[] = [];
  readonly closed: Promise<number>;

  private constructor(
    readonly ws: WebSocket,
    readonly codec: FrameCodec,
  ) {
    this.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.frames.push({ data, isBinary });
      const out: unknown[] = [];
      codec.decode(data, { special: false }, out);
      for (const m of out) {
        const msg = m as unknown[];
        const i = this.waiters.findIndex((w) => w.match(msg));
        if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(msg);
        else this.received.push(msg);
      }
    });
  }

  static async open(url: string, protocol: WampSubprotocol = 'wamp.2.json'): Promise<RawSession> {
    const ws = new WebSocket(url, protocol, { perMessageDeflate: false });
    ws.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const s = new RawSession(ws, FRAME_CODECS[protocol]);
    registerCleanup(() => s.terminate());
    return s;
  }

  /** Opens a socket and joins `realm` as a client that supports call canceling. */
  static async join(url: string, realm: string, protocol: WampSubprotocol = 'wamp.2.json', details: Record<string, unknown> = {}): Promise<RawSession> {
    const s = await RawSession.open(url, protocol);
    s.send([
      1,
      realm,
      {
        roles: {
          caller: { features: { call_canceling: true, progressive_call_results: true } },
          callee: { features: { call_canceling: true, progressive_call_results: true } },
          publisher: { features: {} },
          subscriber: { features: {} },
        },
        ...details,
      },
    ]);
    const w = await s.next((m) => m[0] === 2 || m[0] === 3);
    if (w[0] !== 2) throw new Error(`join refused: ${JSON.stringify(w)}`);
    s.sessionId = w[1] as number;
    s.welcome = w[2] as Record<string, unknown>;
    return s;
  }

  requestId(): number {
    return this.nextRequest++;
  }

  send(msg: unknown[]): void {
    this.ws.send(this.codec.encode(msg), { binary: this.codec.isBinary });
  }

  sendText(text: string): void {
    this.ws.send(text, { binary: false });
  }

  /** The first unread message matching `match` (waits up to `timeoutMs`). */
  next(match: (m: unknown[]) => boolean, timeoutMs = 5000): Promise<unknown[]> {
    const i = this.received.findIndex(match);
    if (i >= 0) return Promise.resolve(this.received.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const k = this.waiters.indexOf(waiter);
        if (k >= 0) this.waiters.splice(k, 1);
        reject(new Error(`no matching message within ${timeoutMs} ms; unread: ${JSON.stringify(this.received).slice(0, 400)}`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (m: unknown[]) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Sends a request built with a fresh request ID and waits for the reply of type `replyType` or an ERROR for it. */
  async request(build: (request: number) => unknown[], replyType: number): Promise<unknown[]> {
    const id = this.requestId();
    const msg = build(id);
    this.send(msg);
    return this.next((m) => (m[0] === replyType && m[1] === id) || (m[0] === 8 && m[1] === msg[0] && m[2] === id));
  }

  async register(procedure: string, options: Record<string, unknown> = {}): Promise<number> {
    const r = await this.request((id) => [64, id, options, procedure], 65);
    if (r[0] !== 65) throw new Error(`register failed: ${JSON.stringify(r)}`);
    return r[2] as number;
  }

  async subscribe(topic: string, options: Record<string, unknown> = {}): Promise<number> {
    const r = await this.request((id) => [32, id, options, topic], 33);
    if (r[0] !== 33) throw new Error(`subscribe failed: ${JSON.stringify(r)}`);
    return r[2] as number;
  }

  terminate(): void {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }
}
