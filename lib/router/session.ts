import { encodeJson, encodeJsonHead } from '../wamp/json-codec.js';
import type { FrameCodec } from '../wamp/frame-codecs.js';
import type { AuthIdentity } from './auth.js';
import type { Authorizer } from './authorizer.js';
import { SequentialIds } from './ids.js';
import { MSG, type Dict } from './messages.js';
import type { Realm } from './realm.js';
import type { Invocation, Registration } from './dealer.js';
import type { Subscription } from './broker.js';
import { Payload } from './payload.js';
import type { RouterCounters } from './router-metrics.js';

/** The transport end of a session: a WebSocket, or an in-process peer (the HTTP bridge). */
export interface Peer {
  /** The serializer; undefined for an in-process peer, which receives message arrays. */
  readonly codec: FrameCodec | undefined;
  /** Sends one encoded frame (WebSocket peers). */
  write(frame: Buffer): void;
  /** Sends one message given as its JSON text, framed for the peer's JSON codec (optional: else `write`). */
  writeJsonText?(text: string): void;
  /** Hands one message over unencoded (in-process peers): its head and its payload. */
  deliver(head: readonly unknown[], payload: Payload): void;
  /** Closes the transport; `reason` is for the WebSocket close frame. */
  close(code: number, reason: string): void;
  /** `transport` in session details (type, protocol, peer address). */
  readonly transportDetails: Dict;
}

/** One message's frames for its many receivers: by serializer (FrameCodec.index), and the message as values. */
export class SharedFrames {
  readonly frames: (Buffer | string | undefined)[] = [undefined, undefined, undefined, undefined];
  message: unknown[] | undefined;
}

/** The frame of `head` + `payload` for `codec`: JSON text (for the peer to frame) or an encoded frame. */
function encodeFrame(codec: FrameCodec, head: unknown[], payload: Payload, shared: SharedFrames | undefined): Buffer | string {
  if (codec.isJson) {
    const tail = payload.jsonTail;
    if (tail !== undefined) return encodeJsonHead(head) + tail;
  }
  let msg = shared?.message;
  if (msg === undefined) {
    msg = payload.message(head);
    if (shared !== undefined) shared.message = msg;
  }
  return codec.isJson ? encodeJson(msg, payload.special) : codec.encode(msg, payload.special);
}

/** Sends ERROR for a request of type `requestType`, with `text` as its one argument. */
export function sendError(session: Session, requestType: number, request: number, error: string, text?: string): void {
  session.send([MSG.ERROR, requestType, request, {}, error], text === undefined ? Payload.NONE : Payload.of([text]));
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
  // what a session holds is made on first use: most sessions (agents beating) never call or
  // register, and 10,000 of them then carry no empty tables
  private subscriptionSet: Set<Subscription> | undefined;
  private registrationSet: Set<Registration> | undefined;
  private callerCalls: Map<number, Invocation> | undefined;
  private calleeInvocations: Map<number, Invocation> | undefined;
  private invocationIdSource: SequentialIds | undefined;

  readonly createdAtMs = Date.now();

  constructor(
    readonly id: number,
    readonly peer: Peer,
    private readonly counters: RouterCounters,
    isInternal = false,
  ) {
    this.isInternal = isInternal;
  }

  get subscriptions(): Set<Subscription> {
    return (this.subscriptionSet ??= new Set());
  }

  get registrations(): Set<Registration> {
    return (this.registrationSet ??= new Set());
  }

  /** calls this session made that are still running, by its CALL request ID */
  get callsAsCaller(): Map<number, Invocation> {
    return (this.callerCalls ??= new Map());
  }

  /** invocations this session must answer, by INVOCATION request ID */
  get invocations(): Map<number, Invocation> {
    return (this.calleeInvocations ??= new Map());
  }

  /** how many invocations this session must still answer (without making the table) */
  get pendingInvocationCount(): number {
    return this.calleeInvocations?.size ?? 0;
  }

  get invocationIds(): SequentialIds {
    return (this.invocationIdSource ??= new SequentialIds());
  }

  get isOpen(): boolean {
    return this.state === 'established';
  }

  /**
   * Sends one message: `head` (its type a MSG constant) followed by `payload`. A JSON receiver
   * gets the head encoded and the payload's own text when it has one; any other receiver the
   * message encoded from its values; an in-process peer both unencoded. `shared` caches the
   * frame per serializer for the next receiver of the same message (a publication).
   */
  send(head: unknown[], payload: Payload = Payload.NONE, shared?: SharedFrames): void {
    this.counters.countOut(head[0] as number);
    const peer = this.peer;
    const codec = peer.codec;
    if (codec === undefined) {
      peer.deliver(head, payload);
      return;
    }
    let frame = shared?.frames[codec.index];
    if (frame === undefined) {
      frame = encodeFrame(codec, head, payload, shared);
      if (shared !== undefined) shared.frames[codec.index] = frame;
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
