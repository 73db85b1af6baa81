import { EventEmitter } from 'node:events';
import { join, resolve } from 'node:path';
import { systemClock, type Clock } from '../clock.js';
import { silentLogger, type Logger } from '../log.js';
import { CHILD_STATES, nextWakeMs, type ChildRecord, type ChildSpec } from './child-record.js';
import { ChildResources } from './child-resources.js';
import { isLiveState, stepChild, type ChildEffect, type ChildEvent, type StepReply, type Transition } from './child-state.js';
import { HistoryLog, type HistoryInput, type HistoryRecord } from './history-log.js';
import type { InstanceLock } from './instance-lock.js';
import { ChildLogFiles } from './log-files.js';
import { NodeProcessControl, type ProcessControl } from './process-control.js';
import { ChildProcesses } from './child-processes.js';
import { SupervisorPersistence } from './persistence.js';
import type { Orphan } from './reconcile.js';
import {
  DEFAULT_LOG_ROTATE_CHECK_MS,
  DEFAULT_CPU_WINDOW_MS,
  DEFAULT_PERSIST_DEBOUNCE_MS,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_RESOURCE_SAMPLE_MS,
  type ChildRuntime,
  type SupervisorEvents,
  type SupervisorIdentity,
  type SupervisorOptions,
  type SupervisorPhase,
} from './supervisor-types.js';

/**
 * The supervisor's shared state and the event loop that applies the pure machine's decisions:
 * one queue of (child, event), each step's transitions audited and emitted, its effects handed to
 * the process side (`ChildProcesses`), its persistence needs to `SupervisorPersistence`, and one
 * wake timer per child for the machine's next deadline. The verbs, the startup and the views all
 * work through this object.
 */

const MAX_TIMER_MS = 3_600_000;
const IDLE_RETRY_MS = 1000;
/** Events that change nothing worth writing down unless they cause a transition or an effect. */
const QUIET_EVENTS: ReadonlySet<ChildEvent['type']> = new Set(['heartbeat', 'expired', 'probe', 'tick', 'settle']);

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** The identity of the supervisor with instance index `index`: ids and the paths of its files. */
function identityOf(options: SupervisorOptions): SupervisorIdentity {
  const index = options.instanceIndex ?? 0;
  if (!Number.isInteger(index) || index < 0 || index > 99) throw new RangeError(`instanceIndex must be 0..99, got ${index}`);
  const stateDir = resolve(options.stateDir);
  return {
    instanceIndex: index,
    supervisorId: options.supervisorId ?? `sup-${pad2(index)}`,
    stateDir,
    logDir: resolve(options.logDir ?? join(stateDir, `logs-${pad2(index)}`)),
    stateFile: join(stateDir, `sup-${pad2(index)}.json`),
    lockFile: join(stateDir, `sup-${pad2(index)}.lock`),
    historyFile: join(stateDir, `history-${pad2(index)}.jsonl`),
    allowExec: options.allowExec ?? false,
  };
}

// The identity's fields are the core's own (assigned from identityOf in the constructor).
export interface SupervisorCore extends SupervisorIdentity {}

export class SupervisorCore {
  readonly identity: SupervisorIdentity;
  readonly siteInstanceIds: () => ReadonlySet<string>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly control: ProcessControl;
  readonly pid: number;
  readonly initialState: 'keep' | 'up' | 'down';
  readonly pollIntervalMs: number;
  /** The value of the ENV_SUPERVISOR marker on our children (the state file's path). */
  readonly markerKey: string;
  readonly historyLog: HistoryLog;
  readonly children = new Map<string, ChildRuntime>();
  readonly processes: ChildProcesses;
  readonly persistence: SupervisorPersistence;
  readonly resources: ChildResources;

  phase: SupervisorPhase = 'new';
  bootId = 'unknown';
  startedAtMs: number | null = null;
  lock: InstanceLock | null = null;
  orphans: Orphan[] = [];
  problems: string[] = [];
  /** True while the queue is being drained: dispatches queue up, emits wait for the end. */
  isDraining = false;

  private readonly random: () => number;
  private readonly emitter = new EventEmitter();
  private queue: { id: string; event: ChildEvent }[] = [];
  private pendingEmits: (() => void)[] = [];

  constructor(options: SupervisorOptions) {
    this.identity = identityOf(options);
    Object.assign(this, this.identity);
    this.siteInstanceIds = options.siteInstanceIds ?? (() => new Set());
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger();
    this.random = options.random ?? Math.random;
    this.control = options.processControl ?? new NodeProcessControl();
    this.pid = options.pid ?? process.pid;
    this.initialState = options.initialState ?? 'keep';
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.markerKey = this.stateFile;
    this.historyLog = new HistoryLog(this.historyFile, options.history);
    this.processes = new ChildProcesses(this, {
      baseEnv: { ...(options.baseEnv ?? {}) },
      envFor: options.envFor ?? (() => ({})),
      logRotateCheckMs: options.logRotateCheckMs ?? DEFAULT_LOG_ROTATE_CHECK_MS,
    });
    this.persistence = new SupervisorPersistence(this, options.persistDebounceMs ?? DEFAULT_PERSIST_DEBOUNCE_MS);
    this.resources = new ChildResources(this, {
      sampleMs: options.resourceSampleMs ?? DEFAULT_RESOURCE_SAMPLE_MS,
      cpuWindowMs: options.cpuWindowMs ?? DEFAULT_CPU_WINDOW_MS,
      cgroups: options.cgroups ?? 'auto',
      ...(options.cgroupPaths !== undefined ? { cgroupPaths: options.cgroupPaths } : {}),
    });
  }

  // ---------------------------------------------------------------------------------------
  // events and the audit trail

  on<K extends keyof SupervisorEvents>(event: K, listener: (...args: SupervisorEvents[K]) => void): void {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
  }

  off<K extends keyof SupervisorEvents>(event: K, listener: (...args: SupervisorEvents[K]) => void): void {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
  }

  /** Emits now, or after the queue is drained when called from inside a step. */
  emit<K extends keyof SupervisorEvents>(event: K, ...args: SupervisorEvents[K]): void {
    const fire = () => {
      try {
        this.emitter.emit(event, ...args);
      } catch (err) {
        this.log.error({ err, event }, 'supervisor event listener threw');
      }
    };
    if (this.isDraining) this.pendingEmits.push(fire);
    else fire();
  }

  audit(input: Omit<HistoryInput, 'atMs'>): HistoryRecord {
    const rec = this.historyLog.append({ atMs: this.clock.nowMs(), ...input });
    this.emit('history.appended', rec);
    return rec;
  }

  problem(message: string): void {
    this.problems.push(message);
    if (this.problems.length > 50) this.problems.splice(0, this.problems.length - 50);
    this.log.warn({ problem: message }, 'supervisor problem');
    this.audit({ kind: 'event', id: null, event: 'supervisor.problem', message });
    this.emit('supervisor.problem', { message });
  }

  // ---------------------------------------------------------------------------------------
  // the table

  addChild(record: ChildRecord): ChildRuntime {
    const id = record.spec.id;
    const rt: ChildRuntime = {
      record,
      logs: new ChildLogFiles(this.logDir, id, record.spec.log),
      handle: null,
      wakeTimer: undefined,
      wakeAtMs: null,
      lastIdleDueMs: null,
      logger: this.log.child({ child_id: id }),
      usage: null,
      cgroupDir: null,
      oomKills: 0,
    };
    this.children.set(id, rt);
    return rt;
  }

  /** Drops a child from the table (after `remove` or `disown`); its process, if any, is left alone. */
  forget(rt: ChildRuntime, how: 'removed' | 'disowned'): void {
    const id = rt.record.spec.id;
    this.clock.clearTimeout(rt.wakeTimer);
    rt.handle?.detach();
    rt.handle = null;
    this.children.delete(id);
    this.audit({ kind: 'event', id, event: 'child.removed', message: how === 'disowned' ? `disowned; pid ${rt.record.current.pid} left running` : 'removed' });
    this.emit('child.removed', { id, how });
  }

  liveChildren(): ChildRuntime[] {
    return [...this.children.values()].filter((rt) => rt.record.current.pid !== null);
  }

  // ---------------------------------------------------------------------------------------
  // the loop

  /** Applies one event to one child now (queued if called while effects are being executed). */
  dispatch(id: string, event: ChildEvent): StepReply {
    if (!this.children.has(id)) return { ok: false, message: `unknown child '${id}'` };
    this.queue.push({ id, event });
    if (this.isDraining) return { ok: true, message: 'queued' };
    let first: StepReply | null = null;
    this.isDraining = true;
    try {
      while (this.queue.length > 0) {
        const item = this.queue.shift();
        if (item === undefined) break;
        const reply = this.step(item.id, item.event);
        first ??= reply;
      }
    } finally {
      this.isDraining = false;
    }
    this.persistence.flushUrgent();
    const emits = this.pendingEmits;
    this.pendingEmits = [];
    for (const fire of emits) fire();
    return first ?? { ok: false, message: `unknown child '${id}'` };
  }

  /** Queues an event for after the current step (effects report their outcome this way). */
  enqueue(id: string, event: ChildEvent): void {
    this.queue.push({ id, event });
  }

  private step(id: string, event: ChildEvent): StepReply {
    const rt = this.children.get(id);
    if (rt === undefined) return { ok: false, message: `unknown child '${id}'` };
    const spec = rt.record.spec;
    const waitingFor = spec.after.length + spec.requires.length === 0 ? undefined : this.notReady(spec);
    const result = stepChild(rt.record, event, { nowMs: this.clock.nowMs(), random: this.random, isHeld: this.phase !== 'running', ...(waitingFor ? { waitingFor } : {}) });
    rt.record = result.record;
    if (result.transitions.length > 0) this.tellDependants(id, result.transitions, result.record);
    for (const t of result.transitions) {
      const pid = result.record.current.pid;
      this.audit({ kind: 'transition', id, from: t.from, to: t.to, cause: t.cause, pid });
      rt.logger.info({ from: t.from, to: t.to, cause: t.cause, pid, attempt: result.record.current.attempt }, 'child state changed');
      this.emit('child.transitioned', { id, from: t.from, to: t.to, cause: t.cause, atMs: t.atMs, pid });
    }
    // Intent first: a desired change is on disk before anything is done about it.
    if (result.isDesiredChanged) this.persistence.persistNow();
    for (const effect of result.effects) this.execute(rt, effect);
    if (result.transitions.length > 0 || result.effects.length > 0 || !QUIET_EVENTS.has(event.type)) {
      this.persistence.markDirty(event.type === 'spawned' || event.type === 'adopted' || result.effects.some((e) => e.type === 'remove' || e.type === 'disown'));
    }
    if (this.children.get(id) === rt) this.armWake(rt, event.type === 'tick');
    return result.reply;
  }

  // ---------------------------------------------------------------------------------------
  // dependencies between children (supervise: requires / after)

  /** The ids a child is after (requires ∪ after) that are not RUNNING now. */
  notReady(spec: ChildSpec): string[] {
    const out: string[] = [];
    for (const dep of new Set([...spec.requires, ...spec.after])) {
      if (this.children.get(dep)?.record.current.state !== CHILD_STATES.RUNNING) out.push(dep);
    }
    return out;
  }

  /**
   * After a child's transitions: dependants waiting for it re-check their wait when it became
   * (or stopped being) ready; dependants that require it are stopped when it stops for good
   * (a stop, a kill, a removal, a crash; not a restart).
   */
  private tellDependants(id: string, transitions: readonly Transition[], record: ChildRecord): void {
    const last = transitions[transitions.length - 1] as Transition;
    const isReadyChange = transitions.some((t) => t.to === CHILD_STATES.RUNNING || t.from === CHILD_STATES.RUNNING);
    const c = record.current;
    const isDownForGood =
      (last.to === CHILD_STATES.STOPPING && c.afterStop !== null && c.afterStop !== 'start' && c.afterStop !== 'fail') ||
      ((last.to === CHILD_STATES.STOPPED || last.to === CHILD_STATES.KILLED || last.to === CHILD_STATES.CRASHED || last.to === CHILD_STATES.EXITED) &&
        transitions.some((t) => isLiveState(t.from)));
    if (!isReadyChange && !isDownForGood) return;
    for (const rt of this.children.values()) {
      const spec = rt.record.spec;
      if (spec.id === id) continue;
      const state = rt.record.current.state;
      if (isReadyChange && state === CHILD_STATES.PENDING && rt.record.current.waitingFor.length > 0 && (spec.after.includes(id) || spec.requires.includes(id))) {
        this.enqueue(spec.id, { type: 'dependencies' });
      }
      if (isDownForGood && spec.requires.includes(id) && isLiveState(state)) this.enqueue(spec.id, { type: 'requirement_down', id });
    }
  }

  private execute(rt: ChildRuntime, effect: ChildEffect): void {
    switch (effect.type) {
      case 'spawn':
        this.processes.spawnRun(rt);
        return;
      case 'signal':
        this.processes.sendSignal(rt, effect.signal);
        return;
      case 'remove':
      case 'disown':
        this.forget(rt, effect.type === 'remove' ? 'removed' : 'disowned');
        return;
    }
  }

  // ---------------------------------------------------------------------------------------
  // wake timers

  private armWake(rt: ChildRuntime, isAfterTick: boolean): void {
    const due = nextWakeMs(rt.record);
    const now = this.clock.nowMs();
    if (isAfterTick && due !== null && due <= now) {
      // Ticked and the deadline is still due (held): retry a little later, never spin.
      if (rt.lastIdleDueMs === due && rt.wakeAtMs !== null) return;
      rt.lastIdleDueMs = due;
      this.setWake(rt, due, IDLE_RETRY_MS);
      return;
    }
    rt.lastIdleDueMs = null;
    if (due === rt.wakeAtMs) return;
    this.setWake(rt, due, due === null ? 0 : Math.min(Math.max(0, due - now), MAX_TIMER_MS));
  }

  private setWake(rt: ChildRuntime, due: number | null, delayMs: number): void {
    this.clock.clearTimeout(rt.wakeTimer);
    rt.wakeTimer = undefined;
    rt.wakeAtMs = due;
    if (due === null) return;
    const id = rt.record.spec.id;
    rt.wakeTimer = this.clock.setTimeout(() => {
      rt.wakeTimer = undefined;
      rt.wakeAtMs = null;
      if (this.children.get(id) === rt && this.phase !== 'closed') this.dispatch(id, { type: 'tick' });
    }, delayMs);
  }

  /** Stops every timer of the loop (wake timers; the poll and the persistence own theirs). */
  clearWakes(): void {
    for (const rt of this.children.values()) this.clock.clearTimeout(rt.wakeTimer);
  }

  /** Resolves when `check` holds or the deadline passes (checked every 50 ms on the clock). */
  waitUntil(check: () => boolean, deadlineMs: number): Promise<void> {
    return new Promise((resolveWait) => {
      const step = () => {
        if (check() || this.clock.nowMs() >= deadlineMs) return resolveWait();
        this.clock.setTimeout(step, 50);
      };
      step();
    });
  }
}
