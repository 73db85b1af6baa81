import { encodeJson } from '../wamp/json-codec.js';
import type { FrameCodec } from '../wamp/frame-codecs.js';
import type { AuthIdentity } from './auth.js';
import type { Authorizer } from './authorizer.js';
import { SequentialIds } from './ids.js';
import type { Dict } from './messages.js';
import type { Realm } from './realm.js';
import type { Invocation, Registration } from './dealer.js';
import type { Subscription } from './broker.js';
import { typeOfText, type RouterCounters } from './router-metrics.js';

/** The transport end of a session: a WebSocket, or an in-process peer (the HTTP bridge). */
export interface Peer {
  /** The serializer; undefined for an in-process peer, which receives message arrays. */
  readonly codec: FrameCodec | undefined;
  /** Sends one encoded frame (WebSocket peers). */
  write(frame: Buffer): void;
  /** Sends one message given as its JSON text, framed for the peer's JSON codec (optional: else `write`). */
  writeJsonText?(text: string): void;
  /** Hands one message over unencoded (in-process peers). */
  deliver(msg: unknown[]): void;
  /** Closes the transport; `reason` is for the WebSocket close frame. */
  close(code: number, reason: string): void;
  /** `transport` in session details (type, protocol, peer address). */
  readonly transportDetails: Dict;
}

export type SessionState = 'new' | 'challenging' | 'established' | 'closing' | 'closed';

/** One WAMP session: its identity, its realm, and what it holds (for cleanup). */
export class Session {
  state: SessionState = 'new';
  realm: Realm | undefined;
  identity: AuthIdentity = { authid: '', authrole: '', authmethod: '', authprovider: '' };
  authorizer: Authorizer | undefined;
  /** whether the client announced `callee.features.call_canceling` (INTERRUPT is only sent then) */
  isInterruptible = false;
  /** whether this session is the router's own (not counted or listed by the meta API) */
  readonly isInternal: boolean;
  /** pending AUTHENTICATE check */
  verifyAuth: ((signature: string) => unknown) | undefined;
  /** timer for the handshake or the closing GOODBYE */
  stateTimer: ReturnType<typeof setTimeout> | undefined;
  readonly subscriptions = new Set<Subscription>();
  readonly registrations = new Set<Registration>();
  /** calls this session made that are still running, by its CALL request ID */
  readonly callsAsCaller = new Map<number, Invocation>();
  /** invocations this session must answer, by INVOCATION request ID */
  readonly invocations = new Map<number, Invocation>();
  readonly invocationIds = new SequentialIds();
  readonly createdAtMs = Date.now();

  constructor(
    readonly id: number,
    readonly peer: Peer,
    private readonly counters: RouterCounters,
    isInternal = false,
  ) {
    this.isInternal = isInternal;
  }

  get isOpen(): boolean {
    return this.state === 'established';
  }

  /** Encodes and sends one message. `special` is the codec hint (payload holds WampFloat/bytes). */
  send(msg: unknown[], special = false): void {
    this.counters.countOut(msg[0] as number);
    const peer = this.peer;
    const codec = peer.codec;
    if (codec === undefined) peer.deliver(msg);
    else if (codec.isJson && peer.writeJsonText !== undefined) peer.writeJsonText(encodeJson(msg, special));
    else peer.write(codec.encode(msg, special));
  }

  /**
   * Sends a relayed message. `jsonText`, when given, is the message as JSON text built from the
   * sender's own payload text: JSON receivers get it without re-encoding the payload; `msg`
   * may then be undefined (the caller only passes text to a JSON receiver).
   */
  sendRelay(msg: unknown[] | undefined, special: boolean, jsonText: string | undefined): void {
    this.counters.countOut(msg !== undefined ? (msg[0] as number) : typeOfText(jsonText!));
    const peer = this.peer;
    const codec = peer.codec;
    if (codec === undefined) peer.deliver(msg!);
    else if (codec.isJson) {
      const text = jsonText ?? encodeJson(msg!, special);
      if (peer.writeJsonText !== undefined) peer.writeJsonText(text);
      else peer.write(codec.frameFromJsonText(text));
    } else peer.write(codec.encode(msg!, special));
  }

  /**
   * Sends a message shared by many receivers: encoded at most once per serializer, the frame
   * (or for JSON codecs the text) kept in `frames` (indexed by codec.index) for the next
   * receiver. `jsonText` as in sendRelay; `msg` may be undefined only when a JSON receiver has
   * `jsonText`.
   */
  sendShared(msg: unknown[] | undefined, special: boolean, frames: (Buffer | string | undefined)[], jsonText?: string): void {
    this.counters.countOut(msg !== undefined ? (msg[0] as number) : typeOfText(jsonText!));
    const peer = this.peer;
    const codec = peer.codec;
    if (codec === undefined) {
      peer.deliver(msg!);
      return;
    }
    let frame = frames[codec.index];
    if (frame === undefined) {
      frame = codec.isJson ? (jsonText ?? encodeJson(msg!, special)) : codec.encode(msg!, special);
      frames[codec.index] = frame;
    }
    if (typeof frame !== 'string') peer.write(frame);
    else if (peer.writeJsonText !== undefined) peer.writeJsonText(frame);
    else peer.write(codec.frameFromJsonText(frame));
  }

  /** Session details as the meta API reports them. */
  details(): Dict {
    return {
      session: this.id,
      authid: this.identity.authid,
      authrole: this.identity.authrole,
      authmethod: this.identity.authmethod,
      authprovider: this.identity.authprovider,
      transport: this.peer.transportDetails,
    };
  }
}
