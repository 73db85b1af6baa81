import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { clockSleep } from './clock-sleep.js';
import { OpCode, SESSION_STATUSES, type SessionStatus } from './op-codes.js';
import { encodeSessionData } from './session-data.js';

/** One entry of `messages`: `[unix seconds, text]`. */
export type SessionMessage = readonly [timestampS: number, text: string];

/** `OpSession.encoded()`: the 11 keys, in OCS's order (ocs-protocol §2.3). */
export interface EncodedSession {
  session_id: number;
  op_name: string;
  op_code: OpCode;
  cred_level: number;
  status: SessionStatus;
  degraded: boolean;
  success: boolean | null;
  start_time: number;
  end_time: number | null;
  data: Record<string, unknown>;
  messages: SessionMessage[];
}

/** OCS's message purge policy (`OpSession.purge_policy`, purge every max(min_age_s/5, 600) s). */
export interface MessagePurgePolicy {
  /** Messages younger than this are kept. */
  minAgeS: number;
  /** At least this many are kept, however old. */
  minMessages: number;
  /** Never more than this many. */
  maxMessages: number;
  /** How often old messages are dropped. */
  purgeIntervalS: number;
}

export const MESSAGE_PURGE_POLICY: Readonly<MessagePurgePolicy> = {
  minAgeS: 3600,
  minMessages: 5,
  maxMessages: 10_000,
  purgeIntervalS: 720,
};

export interface OpSessionOptions {
  sessionId: number;
  opName: string;
  credLevel: number;
  clock: Clock;
  logger?: Logger;
  purgePolicy?: Partial<MessagePurgePolicy>;
  /** Called after every change of `opCode` (status, degraded or success moved it). */
  onOpCodeChange?: (session: OpSession, previousOpCode: OpCode) => void;
}

/**
 * One run of an operation. The op function reads and updates it: `setStatus('running')`,
 * `addMessage()`, `data`, `degraded`; and watches `signal` / `sleep()` to learn that a stop or
 * abort was requested. Status only moves forward: starting → running → stopping → done.
 *
 * Messages are purged lazily, with OCS's result at every observation: at each multiple of
 * `purgeIntervalS` since the start, messages older than `minAgeS` go while more than
 * `minMessages` remain; and there are never more than `maxMessages`.
 */
export class OpSession {
  readonly sessionId: number;
  readonly opName: string;
  readonly credLevel: number;
  /** Unix seconds at creation. */
  readonly startTimeS: number;
  /** Op-defined data shown to clients; may be replaced wholesale. NaN is sent as null, ±Infinity is an error. */
  data: Record<string, unknown> = {};

  private currentStatus: SessionStatus = 'starting';
  private isDegraded = false;
  private result: boolean | null = null;
  private finishedAtS: number | null = null;
  private readonly messageLog: SessionMessage[] = [];
  private purgeTicks = 0;
  private readonly policy: MessagePurgePolicy;
  private readonly stopController = new AbortController();
  private readonly donePromise: Promise<void>;
  private resolveDone!: () => void;
  private readonly doneListeners = new Set<() => void>();
  private readonly clock: Clock;
  private readonly log: Logger | undefined;
  private readonly onOpCodeChange: OpSessionOptions['onOpCodeChange'];

  constructor(options: OpSessionOptions) {
    this.sessionId = options.sessionId;
    this.opName = options.opName;
    this.credLevel = options.credLevel;
    this.clock = options.clock;
    this.log = options.logger?.child({ op: options.opName, session_id: options.sessionId });
    this.policy = { ...MESSAGE_PURGE_POLICY, ...options.purgePolicy };
    this.onOpCodeChange = options.onOpCodeChange;
    this.donePromise = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    this.startTimeS = this.nowS();
    this.addMessage('Status is now "starting".', this.startTimeS);
  }

  get status(): SessionStatus {
    return this.currentStatus;
  }

  /**
   * Moves the status forward and logs `Status is now "<s>".`; the same status is a no-op and a
   * backward move throws. `done` sets `endTimeS`; `stopping` and `done` also abort `signal`.
   */
  setStatus(status: SessionStatus, timestampS?: number): void {
    const to = SESSION_STATUSES.indexOf(status);
    if (to < 0) throw new TypeError(`unknown session status ${JSON.stringify(status)}; expected one of ${SESSION_STATUSES.join(', ')}`);
    const from = SESSION_STATUSES.indexOf(this.currentStatus);
    if (to === from) return;
    if (to < from) {
      throw new Error(`session status can only move forward, not from "${this.currentStatus}" to "${status}" (op ${this.opName}, session ${this.sessionId})`);
    }
    const previous = this.opCode;
    const atS = timestampS ?? this.nowS();
    this.currentStatus = status;
    if (status === 'done') this.finishedAtS = atS;
    this.addMessage(`Status is now "${status}".`, atS);
    if (status === 'stopping' || status === 'done') this.stopController.abort(new Error(`operation ${status}`));
    if (status === 'done') {
      this.resolveDone();
      for (const listener of [...this.doneListeners]) listener();
      this.doneListeners.clear();
    }
    this.notify(previous);
  }

  /** Appends `[timestampS, text]` to the session's messages (and logs it). */
  addMessage(text: string, timestampS?: number): void {
    const atS = timestampS ?? this.nowS();
    this.messageLog.push([atS, text]);
    if (this.messageLog.length > this.policy.maxMessages) this.messageLog.splice(0, this.messageLog.length - this.policy.maxMessages);
    this.purge(atS);
    this.log?.info({ text }, 'op message');
  }

  /** The messages as they stand (do not mutate). */
  get messages(): readonly SessionMessage[] {
    this.purge(this.nowS());
    return this.messageLog;
  }

  /** Set by the op when it is not achieving its primary function; shows as DEGRADED while running. */
  get degraded(): boolean {
    return this.isDegraded;
  }

  set degraded(value: boolean) {
    const previous = this.opCode;
    this.isDegraded = value === true;
    this.notify(previous);
  }

  /** Null until the op ends; then whether it succeeded (set by the framework from the op's result). */
  get success(): boolean | null {
    return this.result;
  }

  set success(value: boolean | null) {
    const previous = this.opCode;
    this.result = value;
    this.notify(previous);
  }

  /** Unix seconds when the status became `done`, else null. */
  get endTimeS(): number | null {
    return this.finishedAtS;
  }

  /** Derived as OCS: starting 2, running 3 (8 if degraded), stopping 4, done 5 on success else 6. */
  get opCode(): OpCode {
    switch (this.currentStatus) {
      case 'starting':
        return OpCode.STARTING;
      case 'running':
        return this.isDegraded ? OpCode.DEGRADED : OpCode.RUNNING;
      case 'stopping':
        return OpCode.STOPPING;
      default:
        return this.result ? OpCode.SUCCEEDED : OpCode.FAILED;
    }
  }

  /** Aborted when a stop/abort is requested, or the status reaches `stopping` or `done`. */
  get signal(): AbortSignal {
    return this.stopController.signal;
  }

  get stopRequested(): boolean {
    return this.stopController.signal.aborted;
  }

  /** Marks that a stop or abort was requested (the framework calls this before the stopper). */
  requestStop(reason = 'stop requested'): void {
    if (!this.stopController.signal.aborted) this.stopController.abort(new Error(reason));
  }

  /** Sleeps on the session's clock; resolves early (with false) once a stop is requested. */
  sleep(durationMs: number): Promise<boolean> {
    return clockSleep(this.clock, durationMs, this.stopController.signal);
  }

  /** Resolves when the status becomes `done`. */
  whenDone(): Promise<void> {
    return this.donePromise;
  }

  /**
   * Calls `listener` once when the status becomes `done` (at once if it already is). Returns the
   * unsubscribe function; unlike `whenDone().then()` nothing stays attached after unsubscribing.
   */
  onDone(listener: () => void): () => void {
    if (this.currentStatus === 'done') {
      listener();
      return () => undefined;
    }
    this.doneListeners.add(listener);
    return () => {
      this.doneListeners.delete(listener);
    };
  }

  /** The wire form: 11 keys in OCS's order. Copies messages and data (NaN → null; throws on ±Infinity). */
  encoded(): EncodedSession {
    const data = encodeSessionData(this.data);
    return {
      session_id: this.sessionId,
      op_name: this.opName,
      op_code: this.opCode,
      cred_level: this.credLevel,
      status: this.currentStatus,
      degraded: this.isDegraded,
      success: this.result,
      start_time: this.startTimeS,
      end_time: this.finishedAtS,
      data,
      messages: this.messages.slice(),
    };
  }

  private nowS(): number {
    return this.clock.nowMs() / 1000;
  }

  private purge(nowS: number): void {
    const ticks = Math.floor((nowS - this.startTimeS) / this.policy.purgeIntervalS);
    if (ticks <= this.purgeTicks) return;
    this.purgeTicks = ticks;
    const cutoffS = this.startTimeS + ticks * this.policy.purgeIntervalS - this.policy.minAgeS;
    let drop = 0;
    while (this.messageLog.length - drop > this.policy.minMessages && (this.messageLog[drop] as SessionMessage)[0] < cutoffS) drop++;
    if (drop > 0) this.messageLog.splice(0, drop);
  }

  private notify(previous: OpCode): void {
    const current = this.opCode;
    if (current !== previous && this.onOpCodeChange) this.onOpCodeChange(this, previous);
  }
}
