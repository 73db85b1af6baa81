import {
  CHILD_STATES,
  type AfterStop,
  type ChildRecord,
  type ChildState,
  type LastExit,
  type SignalName,
} from './child-record.js';
import { decideRestart, type ExitClassification, type ExitInfo } from './restart-policy.js';
import { nextFireMs, shouldRunFire, type Schedule } from './schedule.js';

/**
 * The per-child state machine, as one pure function: (record, event, context) → (record,
 * effects, transitions, reply). Operator requests change the desired state; observations
 * (spawn, exit, /proc probes, heartbeats) change the current state; timers are deadlines kept
 * in the record and delivered as `tick`. The caller executes the effects (spawn, signals).
 */

export const REMOVE_MODES = ['stop', 'kill', 'disown'] as const;
export type RemoveMode = (typeof REMOVE_MODES)[number];

export const VANISH_CAUSES = ['gone', 'zombie', 'reused', 'reboot'] as const;
export type VanishCause = (typeof VANISH_CAUSES)[number];

export type ChildEvent =
  // operator requests
  | { type: 'start' }
  | { type: 'stop' }
  | { type: 'restart' }
  | { type: 'kill'; signal: SignalName }
  | { type: 'suspend' }
  | { type: 'resume' }
  | { type: 'signal'; signal: SignalName }
  | { type: 'reset' }
  | { type: 'cancel'; keep: boolean }
  | { type: 'update'; target: 'up' | 'down' }
  | { type: 'remove'; mode: RemoveMode }
  | { type: 'schedule'; schedule: Schedule | null; runNow?: boolean }
  // config and supervisor lifecycle
  | { type: 'config'; target: 'up' | 'down' }
  | { type: 'shutdown' }
  | { type: 'settle' }
  // observations
  | { type: 'spawned'; pid: number; pgid: number | null; startTicks: number | null; bootId: string | null }
  | { type: 'spawn_failed'; message: string }
  | { type: 'exited'; pid: number; code: number | null; signal: string | null; isKnown: boolean }
  | {
      type: 'adopted';
      pid: number;
      pgid: number | null;
      startTicks: number | null;
      bootId: string | null;
      isStopped: boolean;
      isOperable: boolean;
      cause: string;
    }
  | { type: 'vanished'; cause: VanishCause; isCharged: boolean }
  | { type: 'heartbeat' }
  | { type: 'expired' }
  | { type: 'probe'; isStopped: boolean }
  // timers
  | { type: 'tick' };

export type ChildEventType = ChildEvent['type'];

export type ChildEffect =
  | { type: 'spawn' }
  | { type: 'signal'; signal: SignalName }
  /** Forget the child (after its process ended, or right away when nothing runs). */
  | { type: 'remove' }
  /** Forget the child and leave its process running. */
  | { type: 'disown' };

export interface Transition {
  from: ChildState;
  to: ChildState;
  cause: string;
  atMs: number;
}

export interface StepContext {
  nowMs: number;
  /** U[0,1) for backoff jitter. */
  random: () => number;
  /** No automatic starts (supervisor initialising or shutting down). Stops still happen. */
  isHeld: boolean;
}

export interface StepReply {
  ok: boolean;
  message: string;
}

export interface StepResult {
  record: ChildRecord;
  effects: ChildEffect[];
  transitions: Transition[];
  reply: StepReply;
  isDesiredChanged: boolean;
  isRemoved: boolean;
}

/** Grace after our own SIGSTOP/SIGCONT during which a contradicting /proc state is ignored. */
export const SUSPEND_PROBE_GRACE_MS = 500;

const IDLE_STATES: readonly ChildState[] = [CHILD_STATES.STOPPED, CHILD_STATES.EXITED, CHILD_STATES.KILLED, CHILD_STATES.PENDING];
const LIVE_STATES: readonly ChildState[] = [CHILD_STATES.STARTING, CHILD_STATES.RUNNING, CHILD_STATES.SUSPENDED, CHILD_STATES.STOPPING, CHILD_STATES.UNKNOWN];

/** Whether a state has (or is about to have) a live process. */
export function isLiveState(state: ChildState): boolean {
  return LIVE_STATES.includes(state);
}

class Step {
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

function idle(state: ChildState): boolean {
  return IDLE_STATES.includes(state);
}

function handleOp(s: Step, event: ChildEvent): void {
  const c = s.c;
  const spec = s.rec.spec;
  switch (event.type) {
    case 'start': {
      if (spec.cmd === null) return s.say(false, 'no command to start this child with (adopted without a command)');
      s.setTarget('up', 'start');
      c.isSettled = false;
      switch (c.state) {
        case CHILD_STATES.RUNNING:
        case CHILD_STATES.STARTING:
        case CHILD_STATES.UNKNOWN:
          return s.say(true, 'already running');
        case CHILD_STATES.SUSPENDED:
          return s.say(true, 'already running (suspended)');
        case CHILD_STATES.STOPPING:
          if (c.afterStop === 'remove') return s.say(false, 'being removed');
          c.afterStop = 'start';
          return s.say(true, 'will start once stopped');
        case CHILD_STATES.CRASHED:
          c.failTimesMs = [];
          c.consecutive = 0;
          s.beginStart('start (budget cleared)');
          return s.say(true, 'starting');
        default:
          if (c.state === CHILD_STATES.PENDING) s.consumeOnce();
          s.beginStart('start');
          return s.say(true, 'starting');
      }
    }
    case 'restart': {
      if (spec.cmd === null) return s.say(false, 'no command to restart this child with (adopted without a command)');
      s.setTarget('up', 'restart');
      c.isSettled = false;
      if (c.state === CHILD_STATES.RUNNING || c.state === CHILD_STATES.SUSPENDED || (c.state === CHILD_STATES.STARTING && c.pid !== null)) {
        s.beginStop('start', 'restart');
        return s.say(true, 'restarting');
      }
      if (c.state === CHILD_STATES.STARTING) return s.say(true, 'starting');
      if (c.state === CHILD_STATES.STOPPING) {
        if (c.afterStop === 'remove') return s.say(false, 'being removed');
        c.afterStop = 'start';
        return s.say(true, 'will start once stopped');
      }
      if (c.state === CHILD_STATES.UNKNOWN) return s.say(false, 'state not known yet');
      if (c.state === CHILD_STATES.CRASHED) {
        c.failTimesMs = [];
        c.consecutive = 0;
      }
      if (c.state === CHILD_STATES.PENDING) s.consumeOnce();
      s.beginStart('restart');
      return s.say(true, 'starting');
    }
    case 'stop':
    case 'update': {
      const target = event.type === 'update' ? event.target : 'down';
      if (target === 'up') {
        if (spec.cmd === null) return s.say(false, 'no command to start this child with (adopted without a command)');
        s.setTarget('up', 'update up');
        if (c.state === CHILD_STATES.STOPPING && c.afterStop === 'stopped') c.afterStop = 'start';
        if (c.state === CHILD_STATES.EXITED) return s.say(true, 'target up; exited and settled (use start to run it again)');
        if (c.state === CHILD_STATES.CRASHED) return s.say(true, 'target up; crashed (use start or reset)');
        return s.say(true, 'target up');
      }
      s.setTarget('down', event.type);
      switch (c.state) {
        case CHILD_STATES.PENDING:
        case CHILD_STATES.BACKOFF:
          s.consumeOnce();
          s.enter(CHILD_STATES.STOPPED, event.type);
          return s.say(true, 'stopped');
        case CHILD_STATES.STOPPING:
          if (c.afterStop === 'start') c.afterStop = 'stopped';
          return s.say(true, 'already stopping');
        case CHILD_STATES.STOPPED:
        case CHILD_STATES.EXITED:
        case CHILD_STATES.KILLED:
        case CHILD_STATES.CRASHED:
          return s.say(true, `not running (${c.state})`);
        default:
          s.requestStop('stopped', event.type);
          return;
      }
    }
    case 'kill': {
      s.setTarget('down', 'kill');
      if (c.state === CHILD_STATES.PENDING || c.state === CHILD_STATES.BACKOFF) {
        s.consumeOnce();
        s.enter(CHILD_STATES.KILLED, `kill (${event.signal})`);
        return s.say(true, 'killed (nothing was running)');
      }
      if (!isLiveState(c.state)) return s.say(true, `not running (${c.state})`);
      if (!c.isOperable) return s.say(false, 'not permitted to signal this process');
      s.requestStop('killed', `kill (${event.signal})`, event.signal);
      if (s.reply.message === '') s.say(true, 'killing');
      return;
    }
    case 'suspend': {
      if (c.state === CHILD_STATES.SUSPENDED) {
        s.d.suspended = true;
        c.isExternal = false;
        return s.say(true, 'already suspended');
      }
      if (c.state === CHILD_STATES.STARTING) return s.say(false, 'cannot suspend while starting');
      if (c.state !== CHILD_STATES.RUNNING) return s.say(false, `not running (${c.state})`);
      if (!c.isOperable) return s.say(false, 'not permitted to signal this process');
      s.d.suspended = true;
      s.d.reason = 'suspend';
      s.d.changedAtMs = s.now;
      c.suspendedAtMs = s.now;
      c.suspendOpAtMs = s.now;
      s.enter(CHILD_STATES.SUSPENDED, 'suspend');
      s.effects.push({ type: 'signal', signal: 'SIGSTOP' });
      return s.say(true, 'suspended');
    }
    case 'resume': {
      if (c.state === CHILD_STATES.RUNNING) {
        s.d.suspended = false;
        return s.say(true, 'not suspended');
      }
      if (c.state !== CHILD_STATES.SUSPENDED) return s.say(false, `not suspended (${c.state})`);
      if (!c.isOperable) return s.say(false, 'not permitted to signal this process');
      s.d.suspended = false;
      s.d.reason = 'resume';
      s.d.changedAtMs = s.now;
      if (c.suspendedAtMs !== null) c.suspendedMs += s.now - c.suspendedAtMs;
      c.suspendedAtMs = null;
      c.suspendOpAtMs = s.now;
      s.enter(CHILD_STATES.RUNNING, 'resume');
      s.effects.push({ type: 'signal', signal: 'SIGCONT' });
      return s.say(true, 'resumed');
    }
    case 'signal': {
      if (c.pid === null) return s.say(false, `not running (${c.state})`);
      if (!c.isOperable) return s.say(false, 'not permitted to signal this process');
      s.effects.push({ type: 'signal', signal: event.signal });
      return s.say(true, `sent ${event.signal}`);
    }
    case 'reset': {
      c.failTimesMs = [];
      c.consecutive = 0;
      c.isStuck = false;
      if (c.state === CHILD_STATES.CRASHED) {
        if (s.d.target === 'up' && spec.cmd !== null && !s.ctx.isHeld) {
          s.beginStart('reset');
          return s.say(true, 'reset; starting');
        }
        s.enter(CHILD_STATES.STOPPED, 'reset');
      }
      return s.say(true, 'reset');
    }
    case 'cancel': {
      if (c.state !== CHILD_STATES.PENDING) return s.say(false, `not pending (${c.state})`);
      s.d.schedule = null;
      c.scheduleNextMs = null;
      s.setTarget('down', 'cancel');
      s.enter(CHILD_STATES.STOPPED, 'cancel');
      if (!event.keep) {
        s.effects.push({ type: 'remove' });
        s.isRemoved = true;
        return s.say(true, 'cancelled and removed');
      }
      return s.say(true, 'cancelled');
    }
    case 'remove': {
      const hasProcess = isLiveState(c.state);
      if (!hasProcess) {
        s.effects.push({ type: 'remove' });
        s.isRemoved = true;
        return s.say(true, 'removed');
      }
      if (event.mode === 'disown') {
        s.effects.push({ type: 'disown' });
        s.isRemoved = true;
        return s.say(true, c.pid === null ? 'removed' : `removed; pid ${c.pid} left running`);
      }
      if (!c.isOperable) return s.say(false, 'not permitted to signal this process (use disown)');
      s.requestStop('remove', `remove (${event.mode})`, event.mode === 'kill' ? 'SIGKILL' : undefined);
      return s.say(true, 'stopping, then removing');
    }
    case 'schedule': {
      const schedule = event.schedule;
      s.d.schedule = schedule;
      s.d.reason = schedule === null ? 'schedule cleared' : 'schedule set';
      s.d.changedAtMs = s.now;
      c.scheduleLastFireMs = null;
      c.scheduleNextMs = schedule === null ? null : nextFireMs(schedule, s.now, null);
      if (schedule === null) {
        if (c.state === CHILD_STATES.PENDING) {
          s.setTarget('down', 'schedule cleared');
          s.enter(CHILD_STATES.STOPPED, 'schedule cleared');
        }
        return s.say(true, 'schedule cleared');
      }
      if (idle(c.state) && spec.cmd !== null) {
        s.setTarget('up', 'schedule');
        c.isSettled = false;
        if (event.runNow && !s.ctx.isHeld) {
          s.beginStart('schedule: run now');
        } else if (c.state !== CHILD_STATES.PENDING) {
          s.enter(CHILD_STATES.PENDING, 'schedule');
        }
      }
      return s.say(true, c.scheduleNextMs === null ? 'scheduled; no further fire' : `next fire at ${new Date(c.scheduleNextMs).toISOString()}`);
    }
    default:
      return;
  }
}

function handleLifecycle(s: Step, event: ChildEvent): void {
  const c = s.c;
  switch (event.type) {
    case 'config': {
      if (s.d.owner !== 'config') return s.say(true, 'kept operator target');
      if (s.d.target !== event.target) s.setTarget(event.target, 'config', 'config');
      return s.say(true, `target ${event.target}`);
    }
    case 'shutdown': {
      if (c.state === CHILD_STATES.STOPPING) {
        if (c.afterStop === 'start') c.afterStop = 'stopped';
        return;
      }
      if (c.state === CHILD_STATES.STARTING || c.state === CHILD_STATES.RUNNING || c.state === CHILD_STATES.SUSPENDED || c.state === CHILD_STATES.UNKNOWN) {
        s.requestStop('stopped', 'supervisor shutdown');
      }
      return;
    }
    default:
      return;
  }
}

function handleObservation(s: Step, event: ChildEvent): void {
  const c = s.c;
  const spec = s.rec.spec;
  switch (event.type) {
    case 'spawned': {
      if (c.state !== CHILD_STATES.STARTING || c.pid !== null) return;
      c.pid = event.pid;
      c.pgid = event.pgid;
      c.startTicks = event.startTicks;
      c.bootId = event.bootId;
      c.startedAtMs = s.now;
      c.isAdopted = false;
      c.isOperable = true;
      c.attempt += 1;
      c.isRestartRequired = false;
      if (c.afterStop !== null) {
        s.beginStop(c.afterStop, c.stopCause ?? 'stop');
        return;
      }
      if (spec.ready === 'heartbeat') {
        c.startDeadlineMs = s.now + spec.readyTimeoutMs;
      } else if (spec.restart.minUptimeMs === 0) {
        s.enter(CHILD_STATES.RUNNING, 'ready: spawned');
      } else {
        c.startDeadlineMs = s.now + spec.restart.minUptimeMs;
      }
      return;
    }
    case 'spawn_failed': {
      if (c.state !== CHILD_STATES.STARTING || c.pid !== null) return;
      c.attempt += 1;
      const exit: ExitInfo = { code: null, signal: null, isKnown: true, uptimeMs: 0, isEarly: true, isForcedFailure: true };
      if (c.afterStop !== null && c.afterStop !== 'fail') {
        s.finishStop(exit, `spawn failed: ${event.message}`);
        return;
      }
      s.handleUnrequestedExit(exit, `spawn failed: ${event.message}`);
      if (c.lastExit) c.lastExit.classification = 'spawn_error';
      return;
    }
    case 'exited': {
      if (c.pid === null || event.pid !== c.pid) return;
      const uptimeMs = s.uptimeMs();
      const early = c.state === CHILD_STATES.STARTING || uptimeMs < spec.restart.minUptimeMs;
      const exit: ExitInfo = { code: event.code, signal: event.signal, isKnown: event.isKnown, uptimeMs, isEarly: early };
      const what = !event.isKnown ? 'process gone (exit unknown)' : event.signal ? `killed by ${event.signal}` : `exited with code ${event.code}`;
      if (c.state === CHILD_STATES.STOPPING) {
        s.finishStop(exit, what);
        return;
      }
      if (c.state === CHILD_STATES.UNKNOWN) return;
      s.handleUnrequestedExit(exit, what);
      return;
    }
    case 'adopted': {
      const prior = c.state === CHILD_STATES.UNKNOWN ? (c.priorState ?? CHILD_STATES.RUNNING) : c.state;
      c.pid = event.pid;
      c.pgid = event.pgid;
      c.startTicks = event.startTicks;
      c.bootId = event.bootId;
      c.isAdopted = true;
      c.isOperable = event.isOperable;
      c.startedAtMs ??= s.now;
      if (prior === CHILD_STATES.STOPPING && c.afterStop !== null) {
        // An interrupted stop: finish it.
        s.beginStop(c.afterStop, c.stopCause ?? 'stop (resumed after restart)');
        return;
      }
      if (prior === CHILD_STATES.STARTING) {
        s.enter(CHILD_STATES.STARTING, event.cause);
        // Heartbeats sent while no supervisor listened were not seen, and a saved state (above
        // all a `.prev` fallback) may be older than the child's readiness: the heartbeat window
        // starts again at adoption. Uptime readiness counts from the recorded start as before.
        c.startDeadlineMs = spec.ready === 'heartbeat' ? s.now + spec.readyTimeoutMs : (c.startedAtMs ?? s.now) + spec.restart.minUptimeMs;
        return;
      }
      if (s.d.suspended) {
        c.suspendedAtMs ??= s.now;
        s.enter(CHILD_STATES.SUSPENDED, event.cause);
        if (!event.isStopped && event.isOperable) {
          c.suspendOpAtMs = s.now;
          s.effects.push({ type: 'signal', signal: 'SIGSTOP' });
        }
        return;
      }
      if (event.isStopped) {
        c.suspendedAtMs ??= s.now;
        s.enter(CHILD_STATES.SUSPENDED, `${event.cause}; stopped by someone else`);
        c.isExternal = true;
        return;
      }
      c.suspendedAtMs = null;
      s.enter(CHILD_STATES.RUNNING, event.cause);
      return;
    }
    case 'vanished': {
      const prior = c.state === CHILD_STATES.UNKNOWN ? (c.priorState ?? CHILD_STATES.RUNNING) : c.state;
      const uptimeMs = s.uptimeMs();
      const exit: ExitInfo = { code: null, signal: null, isKnown: false, uptimeMs, isEarly: prior === CHILD_STATES.STARTING, isCharged: event.isCharged };
      const what = `process ${event.cause === 'reboot' ? 'lost in a reboot' : event.cause === 'reused' ? 'gone (pid reused)' : event.cause === 'zombie' ? 'gone (zombie)' : 'gone'}; exit unknown`;
      if (prior === CHILD_STATES.STOPPING) {
        s.finishStop(exit, what);
        return;
      }
      if (event.cause === 'reboot') {
        s.clearProcess();
        s.recordExit(exit, 'vanished', what);
        s.enter(CHILD_STATES.STOPPED, what);
        return;
      }
      s.handleUnrequestedExit(exit, what);
      return;
    }
    case 'heartbeat': {
      c.heartbeatAtMs = s.now;
      c.isExpired = false;
      c.livenessDeadlineMs = null;
      if (c.state === CHILD_STATES.STARTING && c.pid !== null) s.enter(CHILD_STATES.RUNNING, 'ready: heartbeat');
      return;
    }
    case 'expired': {
      c.isExpired = true;
      if (c.state === CHILD_STATES.RUNNING && spec.hungRestartAfterMs !== null && c.livenessDeadlineMs === null) {
        c.livenessDeadlineMs = s.now + spec.hungRestartAfterMs;
      }
      return;
    }
    case 'probe': {
      const isFresh = c.suspendOpAtMs !== null && s.now - c.suspendOpAtMs < SUSPEND_PROBE_GRACE_MS;
      if (isFresh) return;
      if (c.state === CHILD_STATES.RUNNING && event.isStopped) {
        c.suspendedAtMs = s.now;
        s.enter(CHILD_STATES.SUSPENDED, 'stopped by someone else (SIGSTOP observed)');
        c.isExternal = true;
      } else if (c.state === CHILD_STATES.SUSPENDED && !event.isStopped) {
        if (c.suspendedAtMs !== null) c.suspendedMs += s.now - c.suspendedAtMs;
        c.suspendedAtMs = null;
        s.d.suspended = false;
        s.enter(CHILD_STATES.RUNNING, 'continued by someone else (SIGCONT observed)');
      }
      return;
    }
    default:
      return;
  }
}

function fireSchedule(s: Step): void {
  const c = s.c;
  const schedule = s.d.schedule;
  const dueMs = c.scheduleNextMs;
  if (schedule === null || dueMs === null) {
    c.scheduleNextMs = null;
    return;
  }
  const shouldRun = shouldRunFire(schedule, dueMs, s.now);
  c.scheduleLastFireMs = dueMs;
  if (schedule.kind === 'once') {
    s.d.schedule = null;
    c.scheduleNextMs = null;
  } else {
    c.scheduleNextMs = nextFireMs(schedule, s.now, dueMs);
  }
  if (!shouldRun) {
    if (c.state === CHILD_STATES.PENDING && s.d.schedule === null) {
      s.setTarget('down', 'schedule missed');
      s.enter(CHILD_STATES.STOPPED, 'scheduled start missed (skipped)');
    }
    return;
  }
  const state = c.state;
  if (idle(state)) {
    s.setTarget('up', 'schedule', s.d.owner);
    s.beginStart(`schedule (${schedule.kind})`);
    return;
  }
  if (schedule.action === 'restart' && (state === CHILD_STATES.RUNNING || state === CHILD_STATES.SUSPENDED)) {
    s.beginStop('start', 'schedule (restart)');
  }
  // start while running, or while in BACKOFF / CRASHED / STOPPING: the fire is skipped.
}

function handleTick(s: Step): void {
  const c = s.c;
  const spec = s.rec.spec;
  const now = s.now;
  if (c.state === CHILD_STATES.STARTING && c.startDeadlineMs !== null && c.startDeadlineMs <= now && c.pid !== null) {
    if (spec.ready === 'uptime') {
      s.enter(CHILD_STATES.RUNNING, 'ready: min uptime reached');
    } else {
      s.beginStop('fail', `no heartbeat within ${spec.readyTimeoutMs} ms (start timeout)`);
    }
  } else if (c.state === CHILD_STATES.STOPPING && c.stopDeadlineMs !== null && c.stopDeadlineMs <= now) {
    if (c.stopPhase === 'signal') {
      c.stopPhase = 'kill';
      c.stopDeadlineMs = now + spec.killTimeoutMs;
      c.reason = `${c.stopCause ?? 'stop'}; no exit after ${spec.stopTimeoutMs} ms, SIGKILL`;
      s.effects.push({ type: 'signal', signal: 'SIGKILL' });
    } else {
      c.stopPhase = 'stuck';
      c.stopDeadlineMs = null;
      c.isStuck = true;
      c.reason = `${c.stopCause ?? 'stop'}; still alive ${spec.killTimeoutMs} ms after SIGKILL (stuck)`;
    }
  } else if (c.state === CHILD_STATES.BACKOFF && c.nextAtMs !== null && c.nextAtMs <= now && !s.ctx.isHeld) {
    s.beginStart('backoff elapsed');
  } else if (c.state === CHILD_STATES.CRASHED && c.nextAtMs !== null && c.nextAtMs <= now && !s.ctx.isHeld) {
    c.failTimesMs = [];
    c.consecutive = 0;
    s.beginStart('cooldown elapsed (fresh budget)');
  } else if (c.state === CHILD_STATES.RUNNING && c.livenessDeadlineMs !== null && c.livenessDeadlineMs <= now) {
    s.beginStop('fail', `heartbeats expired for ${spec.hungRestartAfterMs} ms while the process lives (hung)`);
  }
  if (c.scheduleNextMs !== null && c.scheduleNextMs <= now && !s.ctx.isHeld) fireSchedule(s);
}

/** Brings current toward desired when nothing else is going on. */
function settle(s: Step): void {
  if (s.isRemoved) return;
  const c = s.c;
  const target = s.d.target;
  if (target === 'up') {
    if ((c.state === CHILD_STATES.STOPPED || c.state === CHILD_STATES.KILLED) && s.rec.spec.cmd !== null && !s.ctx.isHeld) {
      s.beginStart('target up');
    }
    return;
  }
  if (target === 'down') {
    if (c.state === CHILD_STATES.RUNNING || c.state === CHILD_STATES.SUSPENDED || (c.state === CHILD_STATES.STARTING && c.afterStop === null)) {
      s.requestStop('stopped', 'target down');
    } else if (c.state === CHILD_STATES.BACKOFF || c.state === CHILD_STATES.PENDING) {
      s.enter(CHILD_STATES.STOPPED, 'target down');
    }
  }
}

/**
 * Marks a record loaded from disk whose process is not verified yet (supervisor restart). The
 * saved state is kept in `priorState`, and the stop in progress (if any) is kept, so that
 * `adopted` / `vanished` can carry on from where the previous incarnation was.
 */
export function markUnknown(record: ChildRecord, nowMs: number): ChildRecord {
  const rec = structuredClone(record);
  const c = rec.current;
  if (c.state === CHILD_STATES.UNKNOWN) return rec;
  c.priorState = c.state;
  c.state = CHILD_STATES.UNKNOWN;
  c.sinceMs = nowMs;
  c.reason = `supervisor restarted; was ${c.priorState}`;
  c.startDeadlineMs = null;
  c.stopDeadlineMs = null;
  c.livenessDeadlineMs = null;
  return rec;
}

/** The state machine: one event applied to one child record. Never mutates its input. */
export function stepChild(record: ChildRecord, event: ChildEvent, ctx: StepContext): StepResult {
  const before = JSON.stringify(record.desired);
  const s = new Step(structuredClone(record), ctx);
  switch (event.type) {
    case 'start':
    case 'stop':
    case 'restart':
    case 'kill':
    case 'suspend':
    case 'resume':
    case 'signal':
    case 'reset':
    case 'cancel':
    case 'update':
    case 'remove':
    case 'schedule':
      handleOp(s, event);
      break;
    case 'config':
    case 'shutdown':
      handleLifecycle(s, event);
      break;
    case 'tick':
      handleTick(s);
      break;
    case 'settle':
      break;
    default:
      handleObservation(s, event);
  }
  if (s.reply.message === '') s.reply = { ok: true, message: s.rec.current.state };
  settle(s);
  return {
    record: s.rec,
    effects: s.effects,
    transitions: s.transitions,
    reply: s.reply,
    isDesiredChanged: JSON.stringify(s.rec.desired) !== before,
    isRemoved: s.isRemoved,
  };
}
