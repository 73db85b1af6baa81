import { CHILD_STATES, type AfterStop, type ChildRecord, type ChildState, type LastExit, type SignalName } from './child-record.js';
import type { ChildEffect, StepContext, StepReply, Transition } from './child-events.js';
import { decideRestart, type ExitClassification, type ExitInfo } from './restart-policy.js';

/**
 * One step of the state machine in progress: the record being changed (a copy), and the
 * primitives every handler uses (enter a state, set the target, begin a start or a stop, record
 * an exit and apply the restart policy), collecting effects, transitions and the reply.
 */
export class Step {
  readonly effects: ChildEffect[] = [];
  readonly transitions: Transition[] = [];
  reply: StepReply = { ok: true, message: '' };
  isRemoved = false;

  constructor(
    readonly rec: ChildRecord,
    readonly ctx: StepContext,
  ) {}

  get c() {
    return this.rec.current;
  }
  get d() {
    return this.rec.desired;
  }
  get now() {
    return this.ctx.nowMs;
  }

  say(ok: boolean, message: string): void {
    this.reply = { ok, message };
  }

  enter(state: ChildState, cause: string): void {
    const c = this.c;
    const from = c.state;
    c.state = state;
    c.sinceMs = this.now;
    c.reason = cause;
    if (state !== CHILD_STATES.STARTING) c.startDeadlineMs = null;
    if (state !== CHILD_STATES.STOPPING) {
      c.stopDeadlineMs = null;
      c.stopPhase = null;
      c.stopCause = null;
      if (state !== CHILD_STATES.STARTING) c.afterStop = null;
    }
    if (state !== CHILD_STATES.BACKOFF && state !== CHILD_STATES.CRASHED) c.nextAtMs = null;
    if (state !== CHILD_STATES.RUNNING) c.livenessDeadlineMs = null;
    if (state !== CHILD_STATES.UNKNOWN) c.priorState = null;
    if (state !== CHILD_STATES.SUSPENDED && state !== CHILD_STATES.STOPPING) c.isExternal = false;
    if (state !== CHILD_STATES.PENDING) {
      c.waitingFor = [];
      c.dependencyDeadlineMs = null;
    }
    this.transitions.push({ from, to: state, cause, atMs: this.now });
  }

  setTarget(target: 'up' | 'down', reason: string, owner: 'config' | 'operator' = 'operator'): void {
    const d = this.d;
    d.target = target;
    d.owner = owner;
    d.reason = reason;
    d.changedAtMs = this.now;
  }

  uptimeMs(): number {
    const c = this.c;
    if (c.startedAtMs === null) return 0;
    const suspendedNow = c.suspendedAtMs !== null ? this.now - c.suspendedAtMs : 0;
    return Math.max(0, this.now - c.startedAtMs - c.suspendedMs - suspendedNow);
  }

  clearProcess(): void {
    const c = this.c;
    c.pid = null;
    c.pgid = null;
    c.startTicks = null;
    c.bootId = null;
    c.isAdopted = false;
    c.isOperable = true;
    c.suspendedAtMs = null;
    c.suspendOpAtMs = null;
    c.isStuck = false;
    c.isExpired = false;
  }

  /** Consumes a one-shot schedule (a pending start that is now happening or cancelled). */
  consumeOnce(): void {
    if (this.d.schedule?.kind === 'once') {
      this.d.schedule = null;
      this.c.scheduleNextMs = null;
    }
  }

  beginStart(cause: string): void {
    const c = this.c;
    if (this.rec.spec.cmd === null) {
      this.say(false, 'no command to start this child with (adopted without a command)');
      return;
    }
    const waiting = this.ctx.waitingFor ?? [];
    if (waiting.length > 0) {
      this.waitForDependencies(waiting, cause);
      return;
    }
    this.clearProcess();
    c.startedAtMs = null;
    c.suspendedMs = 0;
    c.heartbeatAtMs = null;
    c.isSettled = false;
    c.afterStop = null;
    c.stopCause = null;
    // A suspension belongs to a run: a new run starts unsuspended.
    this.d.suspended = false;
    this.enter(CHILD_STATES.STARTING, cause);
    this.effects.push({ type: 'spawn' });
  }

  /**
   * A start that must wait for what the child is after: PENDING, naming them, with the deadline
   * of the wait (kept across re-checks; the tick fails the start when it passes).
   */
  waitForDependencies(waiting: readonly string[], cause: string): void {
    const c = this.c;
    const reason = `waiting for ${waiting.join(', ')} (not ready)`;
    this.d.suspended = false;
    if (c.state !== CHILD_STATES.PENDING || c.waitingFor.length === 0) {
      this.enter(CHILD_STATES.PENDING, `${cause}; ${reason}`);
      c.dependencyDeadlineMs = this.now + this.rec.spec.dependencyTimeoutMs;
    } else {
      c.reason = reason;
    }
    c.waitingFor = [...waiting];
    this.say(true, reason);
  }

  beginStop(after: AfterStop, cause: string, signal: SignalName = this.rec.spec.stopSignal): void {
    const c = this.c;
    const wasSuspended = c.state === CHILD_STATES.SUSPENDED || c.suspendedAtMs !== null;
    if (c.suspendedAtMs !== null) {
      c.suspendedMs += this.now - c.suspendedAtMs;
      c.suspendedAtMs = null;
    }
    this.enter(CHILD_STATES.STOPPING, cause);
    c.afterStop = after;
    c.stopCause = cause;
    if (signal === 'SIGKILL') {
      c.stopPhase = 'kill';
      c.stopDeadlineMs = this.now + this.rec.spec.killTimeoutMs;
    } else {
      c.stopPhase = 'signal';
      c.stopDeadlineMs = this.now + this.rec.spec.stopTimeoutMs;
    }
    this.effects.push({ type: 'signal', signal });
    // A stopped process only acts on the signal once continued.
    if (wasSuspended && signal !== 'SIGKILL') this.effects.push({ type: 'signal', signal: 'SIGCONT' });
  }

  recordExit(exit: ExitInfo, classification: ExitClassification, message: string): void {
    const last: LastExit = {
      code: exit.code,
      signal: exit.signal,
      isKnown: exit.isKnown,
      atMs: this.now,
      uptimeMs: exit.uptimeMs,
      classification,
      message,
    };
    this.c.lastExit = last;
  }

  /** A run ended that nobody asked to end (or that we stopped as failed). */
  handleUnrequestedExit(exit: ExitInfo, cause: string): void {
    const c = this.c;
    const spec = this.rec.spec;
    this.clearProcess();
    if (spec.cmd === null || this.d.target === 'passive') {
      this.recordExit(exit, exit.isKnown ? 'clean' : 'vanished', cause);
      c.isSettled = true;
      this.enter(CHILD_STATES.EXITED, `${cause}; no command to restart with`);
      return;
    }
    if (this.d.target === 'down') {
      this.recordExit(exit, 'requested', cause);
      this.enter(CHILD_STATES.STOPPED, cause);
      return;
    }
    const decision = decideRestart({ failTimesMs: c.failTimesMs, consecutive: c.consecutive }, exit, spec.restart, this.now, this.ctx.random);
    c.failTimesMs = decision.history.failTimesMs;
    c.consecutive = decision.history.consecutive;
    const why = `${cause}: ${decision.reason}`;
    this.recordExit(exit, decision.classification, why);
    switch (decision.action) {
      case 'settle':
        c.isSettled = true;
        this.enter(CHILD_STATES.EXITED, why);
        return;
      case 'crash':
        this.enter(CHILD_STATES.CRASHED, why);
        c.nextAtMs = spec.restart.cooldownMs === null ? null : this.now + spec.restart.cooldownMs;
        return;
      case 'restart':
        c.restarts += 1;
        if (decision.delayMs === 0 && !this.ctx.isHeld) {
          this.beginStart(why);
        } else {
          this.enter(CHILD_STATES.BACKOFF, why);
          c.nextAtMs = this.now + decision.delayMs;
        }
        return;
    }
  }

  /** The process of a STOPPING child is gone: reach what the stop was for. */
  finishStop(exit: ExitInfo, cause: string): void {
    const c = this.c;
    const after = c.afterStop ?? 'stopped';
    const stopCause = c.stopCause ?? 'stop';
    if (after === 'fail') {
      this.handleUnrequestedExit({ ...exit, isForcedFailure: true }, stopCause);
      return;
    }
    this.clearProcess();
    this.recordExit(exit, 'requested', `${stopCause}; ${cause}`);
    switch (after) {
      case 'stopped':
        this.enter(CHILD_STATES.STOPPED, `${stopCause}; ${cause}`);
        return;
      case 'killed':
        this.enter(CHILD_STATES.KILLED, `${stopCause}; ${cause}`);
        return;
      case 'remove':
        this.enter(CHILD_STATES.STOPPED, `${stopCause}; ${cause}`);
        this.effects.push({ type: 'remove' });
        this.isRemoved = true;
        return;
      case 'start':
        if (this.ctx.isHeld) {
          this.enter(CHILD_STATES.STOPPED, `${stopCause}; ${cause}; start held`);
        } else {
          this.beginStart(`${stopCause}; ${cause}`);
        }
        return;
    }
  }

  /** Requests a stop with `after` as its outcome, whatever the state. */
  requestStop(after: AfterStop, cause: string, signal?: SignalName): void {
    const c = this.c;
    switch (c.state) {
      case CHILD_STATES.STARTING:
        if (c.pid === null) {
          c.afterStop = after; // the stop signal goes out once the pid is known
          c.stopCause = cause;
          this.say(true, 'stop requested before the process started; it will be stopped at once');
        } else {
          this.beginStop(after, cause, signal);
          this.say(true, 'stopping');
        }
        return;
      case CHILD_STATES.RUNNING:
      case CHILD_STATES.SUSPENDED:
      case CHILD_STATES.UNKNOWN:
        if (c.pid === null) return;
        this.beginStop(after, cause, signal);
        this.say(true, 'stopping');
        return;
      case CHILD_STATES.STOPPING:
        c.afterStop = after;
        if (signal === 'SIGKILL' && c.stopPhase === 'signal') {
          c.stopPhase = 'kill';
          c.stopDeadlineMs = this.now + this.rec.spec.killTimeoutMs;
          this.effects.push({ type: 'signal', signal: 'SIGKILL' });
        } else if (signal !== undefined && signal !== 'SIGKILL') {
          this.effects.push({ type: 'signal', signal });
        }
        this.say(true, 'already stopping');
        return;
      default:
        return;
    }
  }
}
