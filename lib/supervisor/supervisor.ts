import { adoptionFacts, judgeAdoption } from './adoption-rule.js';
import { EventEmitter } from 'node:events';
import { join, resolve } from 'node:path';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { silentLogger, type Logger } from '../log.js';
import {
  CHILD_STATES,
  ChildSpecSchema,
  SignalSchema,
  newChildRecord,
  nextWakeMs,
  type ChildRecord,
  type ChildSpec,
  type ChildState,
  type SignalName,
} from './child-record.js';
import { isLiveState, markUnknown, stepChild, type ChildEffect, type ChildEvent, type StepReply } from './child-state.js';
import { childStateEntry, serviceView, type ChildStateEntry, type ServiceView } from './child-view.js';
import { HistoryLog, type HistoryInput, type HistoryLogOptions, type HistoryRecord } from './history-log.js';
import { InstanceLock } from './instance-lock.js';
import { ChildLogFiles, type LogStream } from './log-files.js';
import { isDeadState, isStoppedState, type ProbeResult } from './proc-identity.js';
import { NodeProcessControl, type ProcessControl, type SpawnHandle } from './process-control.js';
import { planReconcile, type MarkedProcess, type Orphan } from './reconcile.js';
import { ScheduleRequestSchema, scheduleFromRequest, type ScheduleRequest } from './schedule.js';
import { StateStore, STATE_SCHEMA_VERSION, type SupervisorState } from './state-store.js';
import { isLaunchChanged, planEntry, type SupervisedEntry } from './supervised-entry.js';
import {
  CreateParamsSchema,
  DieParamsSchema,
  IdsSchema,
  LogsParamsSchema,
  OpenParamsSchema,
  RemoveParamsSchema,
  UpdateParamsSchema,
  parseParams,
  type CreateParams,
  type DieParams,
  type Ids,
  type LogsParams,
  type OpenParams,
  type RemoveParams,
  type UpdateRequest,
} from './verb-params.js';

/**
 * The supervisor core: a table of children driven by the pure state machine, with the I/O
 * around it (spawn, signals, /proc polling, log files, atomic state file, lock, audit trail).
 * Everything the HostManager agent needs except WAMP: verbs return results, events carry every
 * transition and request, `childStates()` / `status()` give session data.
 */

/** Environment markers put on every spawned child (found again by the orphan scan). */
export const ENV_SUPERVISOR = 'OCS_SUPERVISOR';
export const ENV_SUPERVISOR_ID = 'OCS_SUPERVISOR_ID';
export const ENV_SUPERVISED_ID = 'OCS_SUPERVISED_ID';

export const DEFAULT_POLL_INTERVAL_MS = 1000;
export const DEFAULT_PERSIST_DEBOUNCE_MS = 100;
export const DEFAULT_LOG_ROTATE_CHECK_MS = 5000;
/** Stderr lines attached to a failure exit (HostManager posts these as a session message). */
export const EXIT_STDERR_TAIL_LINES = 20;
const MAX_TIMER_MS = 3_600_000;
const IDLE_RETRY_MS = 1000;

export interface SupervisorOptions {
  stateDir: string;
  /** 0..99: several supervisors per host, each with its own files and lock. */
  instanceIndex?: number;
  /** Name put in markers and status, e.g. sup-<host>. Default sup-NN. */
  supervisorId?: string;
  /** Per-child stdout/stderr files. Default <stateDir>/logs-NN. */
  logDir?: string;
  /** Allow `create` (and `open` with a command, or of any process): running arbitrary commands. Off by default. */
  allowExec?: boolean;
  /** Instance ids of the site file: `open` adopts `ocs agent --instance-id <id>` processes for these (adoption-rule.ts). */
  siteInstanceIds?: () => ReadonlySet<string>;
  /**
   * The environment every child starts from (e.g. lib/site-config `childEnv()`); a child's own
   * `spec.env` and the supervisor markers are laid over it. Not persisted. Default: empty.
   */
  baseEnv?: Readonly<Record<string, string>>;
  /** Variables for one child laid over its spec's (e.g. its own credentials); not persisted. */
  envFor?: (id: string) => Readonly<Record<string, string>>;
  /** keep: persisted desired state; up/down: force every target at startup (HostManager --initial-state). */
  initialState?: 'keep' | 'up' | 'down';
  pollIntervalMs?: number;
  persistDebounceMs?: number;
  logRotateCheckMs?: number;
  history?: HistoryLogOptions;
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
  processControl?: ProcessControl;
  /** This process's pid (lock owner). */
  pid?: number;
}

export interface ChildResult {
  id: string;
  ok: boolean;
  message: string;
  state: ChildState | null;
  pid: number | null;
}

/** The outcome of a verb: per-child results, ok when all succeeded. Refusals are results, not throws. */
export interface VerbResult {
  ok: boolean;
  message: string;
  results: ChildResult[];
}

export interface InitReport {
  stateSource: 'main' | 'prev' | 'none';
  problems: string[];
  adopted: string[];
  vanished: string[];
  started: string[];
  orphans: Orphan[];
  lockTakenOver: boolean;
}

export interface SyncReport {
  added: string[];
  updated: string[];
  restartRequired: string[];
  retired: string[];
  skipped: { id: string; reason: string }[];
}

export interface LogsResult {
  ok: boolean;
  message: string;
  id: string;
  stdout: string[];
  stderr: string[];
}

export interface TransitionEvent {
  id: string;
  from: ChildState;
  to: ChildState;
  cause: string;
  atMs: number;
  pid: number | null;
}

export interface ExitEvent {
  id: string;
  pid: number;
  code: number | null;
  signal: string | null;
  isKnown: boolean;
  state: ChildState;
  classification: string | null;
  /** Last stderr lines when the exit was not requested and not clean. */
  stderrTail: string[];
}

export interface SupervisorEvents {
  'child.transitioned': [TransitionEvent];
  'child.spawned': [{ id: string; pid: number; attempt: number }];
  'child.exited': [ExitEvent];
  'child.removed': [{ id: string; how: 'removed' | 'disowned' }];
  /** Every audit record (transitions, requests, events): what the agent logs into session messages. */
  'history.appended': [HistoryRecord];
  'supervisor.problem': [{ message: string }];
}

export interface ChildSummary {
  id: string;
  state: ChildState;
  restarts: number;
  isStuck: boolean;
  ready: ChildSpec['ready'];
  pid: number | null;
}

export interface SupervisorStatus {
  supervisor: {
    supervisor_id: string;
    index: number;
    pid: number;
    boot_id: string;
    started_at: number | null;
    phase: Phase;
    reconciled: boolean;
    allow_exec: boolean;
    state_file: string;
    log_dir: string;
    persist_seq: number;
    problems: string[];
  };
  services: Record<string, ServiceView>;
  child_states: ChildStateEntry[];
  orphans: Record<string, { pid: number; service_id: string; starttime: number; reason: string }>;
  history: HistoryRecord[];
}

export type SupervisorPhase = 'new' | 'initialising' | 'running' | 'closing' | 'closed';
type Phase = SupervisorPhase;

interface ChildRuntime {
  record: ChildRecord;
  logs: ChildLogFiles;
  handle: SpawnHandle | null;
  wakeTimer: TimerHandle | undefined;
  wakeAtMs: number | null;
  /** The due time we last ticked for without it clearing (avoids a busy loop while held). */
  lastIdleDueMs: number | null;
  logger: Logger;
}

const QUIET_EVENTS: ReadonlySet<ChildEvent['type']> = new Set(['heartbeat', 'expired', 'probe', 'tick', 'settle']);

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

export class Supervisor {
  readonly instanceIndex: number;
  readonly supervisorId: string;
  readonly stateDir: string;
  readonly logDir: string;
  readonly stateFile: string;
  readonly lockFile: string;
  readonly historyFile: string;
  readonly allowExec: boolean;
  private readonly siteInstanceIds: () => ReadonlySet<string>;

  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly control: ProcessControl;
  private readonly pid: number;
  private readonly initialState: 'keep' | 'up' | 'down';
  private readonly baseEnv: Readonly<Record<string, string>>;
  private readonly envFor: (id: string) => Readonly<Record<string, string>>;
  private readonly pollIntervalMs: number;
  private readonly persistDebounceMs: number;
  private readonly logRotateCheckMs: number;
  private readonly markerKey: string;
  private readonly emitter = new EventEmitter();
  private readonly store: StateStore;
  private readonly historyLog: HistoryLog;
  private readonly children = new Map<string, ChildRuntime>();

  private phase: Phase = 'new';
  private bootId = 'unknown';
  private startedAtMs: number | null = null;
  private lock: InstanceLock | null = null;
  private queue: { id: string; event: ChildEvent }[] = [];
  private isDraining = false;
  private pendingEmits: (() => void)[] = [];
  private isUrgentDirty = false;
  /** While set (init), writes are deferred to one write at the end. */
  private isBatching = false;
  private persistTimer: TimerHandle | undefined;
  private pollTimer: TimerHandle | undefined;
  private lastRotateCheckMs = 0;
  private persistSeq = 0;
  private orphans: Orphan[] = [];
  private problems: string[] = [];

  constructor(options: SupervisorOptions) {
    const index = options.instanceIndex ?? 0;
    if (!Number.isInteger(index) || index < 0 || index > 99) throw new RangeError(`instanceIndex must be 0..99, got ${index}`);
    this.instanceIndex = index;
    this.supervisorId = options.supervisorId ?? `sup-${pad2(index)}`;
    this.stateDir = resolve(options.stateDir);
    this.logDir = resolve(options.logDir ?? join(this.stateDir, `logs-${pad2(index)}`));
    this.stateFile = join(this.stateDir, `sup-${pad2(index)}.json`);
    this.lockFile = join(this.stateDir, `sup-${pad2(index)}.lock`);
    this.historyFile = join(this.stateDir, `history-${pad2(index)}.jsonl`);
    this.allowExec = options.allowExec ?? false;
    this.siteInstanceIds = options.siteInstanceIds ?? (() => new Set());
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger();
    this.random = options.random ?? Math.random;
    this.control = options.processControl ?? new NodeProcessControl();
    this.pid = options.pid ?? process.pid;
    this.initialState = options.initialState ?? 'keep';
    this.baseEnv = { ...(options.baseEnv ?? {}) };
    this.envFor = options.envFor ?? (() => ({}));
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.persistDebounceMs = options.persistDebounceMs ?? DEFAULT_PERSIST_DEBOUNCE_MS;
    this.logRotateCheckMs = options.logRotateCheckMs ?? DEFAULT_LOG_ROTATE_CHECK_MS;
    this.markerKey = this.stateFile;
    this.store = new StateStore(this.stateFile);
    this.historyLog = new HistoryLog(this.historyFile, options.history);
  }

  /** new → initialising → running → closing (die) → closed. Verbs work while running. */
  get lifecycle(): SupervisorPhase {
    return this.phase;
  }

  // ---------------------------------------------------------------------------------------
  // events

  on<K extends keyof SupervisorEvents>(event: K, listener: (...args: SupervisorEvents[K]) => void): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof SupervisorEvents>(event: K, listener: (...args: SupervisorEvents[K]) => void): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  private emit<K extends keyof SupervisorEvents>(event: K, ...args: SupervisorEvents[K]): void {
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

  private audit(input: Omit<HistoryInput, 'atMs'>): HistoryRecord {
    const rec = this.historyLog.append({ atMs: this.clock.nowMs(), ...input });
    this.emit('history.appended', rec);
    return rec;
  }

  private problem(message: string): void {
    this.problems.push(message);
    if (this.problems.length > 50) this.problems.splice(0, this.problems.length - 50);
    this.log.warn({ problem: message }, 'supervisor problem');
    this.audit({ kind: 'event', id: null, event: 'supervisor.problem', message });
    this.emit('supervisor.problem', { message });
  }

  // ---------------------------------------------------------------------------------------
  // lifecycle

  /**
   * Takes the lock, loads the state file, re-adopts children that still run, records the ones
   * that vanished (exit unknown), applies `entries` (when given), then starts what should run.
   * Throws ConfigError when another live supervisor holds the lock.
   */
  async init(entries?: readonly SupervisedEntry[]): Promise<InitReport> {
    if (this.phase !== 'new') throw new Error(`supervisor already ${this.phase}`);
    this.phase = 'initialising';
    const now = this.clock.nowMs();
    const proc = this.control.proc;
    this.bootId = proc.bootId();
    const self = proc.readStat(this.pid);
    try {
      this.lock = InstanceLock.acquire(this.lockFile, { pid: this.pid, startTicks: self?.startTicks ?? null, bootId: this.bootId }, proc, now);
    } catch (err) {
      this.phase = 'closed';
      throw err;
    }
    try {
      return this.initLocked(entries, now);
    } catch (err) {
      this.clock.clearInterval(this.pollTimer);
      for (const rt of this.children.values()) this.clock.clearTimeout(rt.wakeTimer);
      this.isBatching = false;
      this.phase = 'closed';
      this.historyLog.close();
      this.lock.release();
      this.lock = null;
      throw err;
    }
  }

  private initLocked(entries: readonly SupervisedEntry[] | undefined, now: number): InitReport {
    const proc = this.control.proc;
    if (this.lock === null) throw new Error('lock not held');
    this.historyLog.open();
    this.startedAtMs = now;
    this.audit({ kind: 'event', id: null, event: 'supervisor.started', message: `supervisor ${this.supervisorId} pid ${this.pid}` });
    if (this.lock.takenOverFrom !== null) this.problem(`took over a stale lock from pid ${this.lock.takenOverFrom.pid}`);

    this.isBatching = true;
    const loaded = this.store.load(now);
    for (const p of loaded.problems) this.problem(p);
    const saved = loaded.state;
    this.persistSeq = saved?.supervisor.seq ?? 0;
    for (const [id, rec] of Object.entries(saved?.children ?? {})) {
      if (rec.spec.id !== id) continue;
      this.addChild(rec.current.pid !== null ? markUnknown(rec, now) : rec);
    }

    const report: InitReport = {
      stateSource: loaded.source,
      problems: [...loaded.problems],
      adopted: [],
      vanished: [],
      started: [],
      orphans: [],
      lockTakenOver: this.lock.takenOverFrom !== null,
    };

    // New config entries first (nothing starts yet): a run spawned for one just before a crash is
    // then found by its marker and adopted. Updates and retirements wait for the reconciliation.
    if (entries !== undefined) this.applyEntries(entries, 'add');
    // Reconcile before anything can start, so a live child is never started twice.
    const records = [...this.children.values()].map((rt) => rt.record);
    const probes = new Map<number, ProbeResult>();
    for (const r of records) if (r.current.pid !== null) probes.set(r.current.pid, proc.probe(r.current.pid, r.current.startTicks));
    const plan = planReconcile(
      records,
      { bootId: this.bootId, savedBootId: saved?.supervisor.bootId ?? null, savedAtMs: saved?.supervisor.writtenAtMs ?? null, probes, marked: this.scanMarked() },
      now,
    );
    for (const d of plan.decisions) {
      if (d.action === 'adopt') {
        this.dispatch(d.id, {
          type: 'adopted',
          pid: d.pid,
          pgid: d.pgid,
          startTicks: d.startTicks,
          bootId: this.bootId,
          isStopped: d.isStopped,
          isOperable: this.control.isPermitted(d.pid),
          cause: d.cause,
        });
        report.adopted.push(d.id);
      } else if (d.action === 'vanish') {
        this.dispatch(d.id, { type: 'vanished', cause: d.cause, isCharged: d.isCharged });
        report.vanished.push(d.id);
      }
    }
    this.orphans = plan.orphans;
    report.orphans = plan.orphans;
    for (const o of plan.orphans) this.problem(`orphan process ${o.pid} (${o.childId}): ${o.reason}`);

    if (entries !== undefined) this.syncEntries(entries);
    if (this.initialState !== 'keep') {
      for (const id of this.children.keys()) this.dispatch(id, { type: 'update', target: this.initialState });
    }

    this.phase = 'running';
    const attemptsBefore = new Map([...this.children].map(([id, rt]) => [id, rt.record.current.attempt]));
    for (const id of [...this.children.keys()]) {
      this.dispatch(id, { type: 'settle' });
      const rt = this.children.get(id);
      const due = rt === undefined ? null : nextWakeMs(rt.record);
      if (due !== null && due <= this.clock.nowMs()) this.dispatch(id, { type: 'tick' });
    }
    for (const [id, rt] of this.children) {
      if (rt.record.current.attempt > (attemptsBefore.get(id) ?? 0) || (rt.record.current.state === CHILD_STATES.STARTING && rt.record.current.pid === null)) {
        report.started.push(id);
      }
    }
    this.pollTimer = this.clock.setInterval(() => this.poll(), this.pollIntervalMs);
    this.isBatching = false;
    this.persistNow();
    this.audit({
      kind: 'event',
      id: null,
      event: 'supervisor.reconciled',
      message: `adopted ${report.adopted.length}, vanished ${report.vanished.length}, started ${report.started.length}, orphans ${report.orphans.length}`,
      data: { adopted: report.adopted, vanished: report.vanished, started: report.started },
    });
    return report;
  }

  /**
   * Orderly shutdown (`die`). stop: every child gets its stop sequence; the persisted desired
   * state is unchanged, so the same set comes back on the next start. disown: children keep
   * running and are re-adopted by the next incarnation.
   */
  async die(params: DieParams = {}): Promise<VerbResult> {
    const p = parseParams(DieParamsSchema, params, 'die');
    if (this.phase === 'closed' || this.phase === 'closing') return { ok: true, message: 'already stopped', results: [] };
    if (this.phase === 'new') {
      this.phase = 'closed';
      return { ok: true, message: 'never started', results: [] };
    }
    this.phase = 'closing';
    this.audit({ kind: 'request', id: null, verb: 'die', params: { ...p }, ok: true, message: `shutting down (${p.mode})` });
    const deadlineMs = this.clock.nowMs() + p.timeoutMs;
    if (p.mode === 'stop') {
      for (const id of [...this.children.keys()]) this.dispatch(id, { type: 'shutdown' });
      await this.waitUntil(() => this.liveChildren().length === 0, deadlineMs);
      const stragglers = this.liveChildren();
      for (const rt of stragglers) {
        const c = rt.record.current;
        if (c.pid !== null) this.control.signal(c.pid, c.pgid, 'SIGKILL');
      }
      if (stragglers.length > 0) await this.waitUntil(() => this.liveChildren().length === 0, this.clock.nowMs() + 2000);
    }
    const left = this.liveChildren().map((rt) => rt.record.spec.id);
    this.clock.clearInterval(this.pollTimer);
    this.clock.clearTimeout(this.persistTimer);
    for (const rt of this.children.values()) {
      this.clock.clearTimeout(rt.wakeTimer);
      rt.handle?.detach();
      rt.handle = null;
    }
    this.persistNow();
    this.audit({ kind: 'event', id: null, event: 'supervisor.stopped', message: `mode ${p.mode}; left running: ${left.join(', ') || 'none'}` });
    this.phase = 'closed';
    this.historyLog.close();
    this.lock?.release();
    this.lock = null;
    const ok = p.mode === 'disown' || left.length === 0;
    return { ok, message: ok ? `stopped (${p.mode})` : `stopped; still alive: ${left.join(', ')}`, results: [] };
  }

  /**
   * SIGKILL to every live child's group at once, whatever the phase (a second SIGINT during a
   * shutdown). Returns the ids signalled; their exits are handled as usual.
   */
  killAll(): string[] {
    const ids: string[] = [];
    for (const rt of this.liveChildren()) {
      const c = rt.record.current;
      if (c.pid === null || !c.isOperable) continue;
      if (rt.handle === null && this.control.proc.probe(c.pid, c.startTicks).status !== 'alive') continue;
      this.control.signal(c.pid, c.pgid, 'SIGKILL');
      ids.push(rt.record.spec.id);
    }
    if (ids.length > 0) this.audit({ kind: 'event', id: null, event: 'supervisor.kill_all', message: `SIGKILL to ${ids.join(', ')}` });
    return ids;
  }

  private liveChildren(): ChildRuntime[] {
    return [...this.children.values()].filter((rt) => rt.record.current.pid !== null);
  }

  private waitUntil(check: () => boolean, deadlineMs: number): Promise<void> {
    return new Promise((resolveWait) => {
      const step = () => {
        if (check() || this.clock.nowMs() >= deadlineMs) return resolveWait();
        this.clock.setTimeout(step, 50);
      };
      step();
    });
  }

  // ---------------------------------------------------------------------------------------
  // config entries

  /**
   * Applies the site file's entries (at init, and on a config reload). New entries are added with
   * the target their `manage` says; existing ones get the new spec (a changed command line sets
   * restart_required, applied at the next start) and follow config targets unless an operator
   * overrode them; config entries no longer listed are retired (stopped, then removed).
   */
  syncEntries(entries: readonly SupervisedEntry[]): SyncReport {
    return this.applyEntries(entries, 'full');
  }

  private applyEntries(entries: readonly SupervisedEntry[], mode: 'add' | 'full'): SyncReport {
    const report: SyncReport = { added: [], updated: [], restartRequired: [], retired: [], skipped: [] };
    const seen = new Set<string>();
    const now = this.clock.nowMs();
    for (const entry of entries) {
      let plan;
      try {
        plan = planEntry(entry);
      } catch (err) {
        report.skipped.push({ id: entry.instanceId, reason: `invalid entry: ${(err as Error).message}` });
        continue;
      }
      if (plan === null) {
        report.skipped.push({ id: entry.instanceId, reason: `manage ${entry.manage} is not run by this supervisor` });
        continue;
      }
      const id = plan.spec.id;
      if (seen.has(id)) {
        report.skipped.push({ id, reason: 'duplicate instance id' });
        continue;
      }
      seen.add(id);
      const rt = this.children.get(id);
      if (rt === undefined) {
        this.addChild(newChildRecord(plan.spec, now, 'config'));
        this.audit({ kind: 'event', id, event: 'child.added', message: `from config, target ${plan.target}` });
        this.dispatch(id, { type: 'config', target: plan.target });
        report.added.push(id);
        continue;
      }
      if (mode === 'add') continue;
      if (rt.record.spec.source !== 'config') {
        report.skipped.push({ id, reason: `id already used by a child from ${rt.record.spec.source}` });
        continue;
      }
      const changed = isLaunchChanged(rt.record.spec, plan.spec);
      if (JSON.stringify(rt.record.spec) !== JSON.stringify(plan.spec)) {
        const live = isLiveState(rt.record.current.state) && rt.record.current.state !== CHILD_STATES.STOPPING;
        rt.record = { ...rt.record, spec: plan.spec, current: { ...rt.record.current, isRestartRequired: rt.record.current.isRestartRequired || (changed && live) } };
        rt.logs = new ChildLogFiles(this.logDir, id, plan.spec.log);
        report.updated.push(id);
        if (changed && live) report.restartRequired.push(id);
        this.markDirty(false);
      }
      this.dispatch(id, { type: 'config', target: plan.target });
    }
    for (const rt of mode === 'full' ? [...this.children.values()] : []) {
      const id = rt.record.spec.id;
      if (rt.record.spec.source === 'config' && !seen.has(id)) {
        this.audit({ kind: 'event', id, event: 'child.retired', message: 'no longer in the config' });
        this.dispatch(id, { type: 'remove', mode: 'stop' });
        report.retired.push(id);
      }
    }
    return report;
  }

  private addChild(record: ChildRecord): ChildRuntime {
    const id = record.spec.id;
    const rt: ChildRuntime = {
      record,
      logs: new ChildLogFiles(this.logDir, id, record.spec.log),
      handle: null,
      wakeTimer: undefined,
      wakeAtMs: null,
      lastIdleDueMs: null,
      logger: this.log.child({ child_id: id }),
    };
    this.children.set(id, rt);
    return rt;
  }

  // ---------------------------------------------------------------------------------------
  // the event loop around the pure machine

  /** Applies one event to one child (queued if called while effects are being executed). */
  private dispatch(id: string, event: ChildEvent): StepReply {
    if (!this.children.has(id)) return { ok: false, message: `unknown child '${id}'` };
    this.queue.push({ id, event });
    if (this.isDraining) return { ok: true, message: 'queued' };
    let first: StepReply | null = null;
    this.isDraining = true;
    try {
      while (this.queue.length > 0) {
        const item = this.queue.shift();
        if (item === undefined) break;
        const reply = this.process(item.id, item.event);
        first ??= reply;
      }
    } finally {
      this.isDraining = false;
    }
    if (this.isUrgentDirty) this.persistNow();
    const emits = this.pendingEmits;
    this.pendingEmits = [];
    for (const fire of emits) fire();
    return first ?? { ok: false, message: `unknown child '${id}'` };
  }

  private process(id: string, event: ChildEvent): StepReply {
    const rt = this.children.get(id);
    if (rt === undefined) return { ok: false, message: `unknown child '${id}'` };
    const result = stepChild(rt.record, event, { nowMs: this.clock.nowMs(), random: this.random, isHeld: this.phase !== 'running' });
    rt.record = result.record;
    for (const t of result.transitions) {
      const pid = result.record.current.pid;
      this.audit({ kind: 'transition', id, from: t.from, to: t.to, cause: t.cause, pid });
      rt.logger.info({ from: t.from, to: t.to, cause: t.cause, pid, attempt: result.record.current.attempt }, 'child state changed');
      this.emit('child.transitioned', { id, from: t.from, to: t.to, cause: t.cause, atMs: t.atMs, pid });
    }
    // Intent first: a desired change is on disk before anything is done about it.
    if (result.isDesiredChanged) this.persistNow();
    for (const effect of result.effects) this.execute(rt, effect);
    if (result.transitions.length > 0 || result.effects.length > 0 || !QUIET_EVENTS.has(event.type)) {
      this.markDirty(event.type === 'spawned' || event.type === 'adopted' || result.effects.some((e) => e.type === 'remove' || e.type === 'disown'));
    }
    if (this.children.get(id) === rt) this.armWake(rt, event.type === 'tick');
    return result.reply;
  }

  private execute(rt: ChildRuntime, effect: ChildEffect): void {
    switch (effect.type) {
      case 'spawn':
        this.spawnRun(rt);
        return;
      case 'signal':
        this.sendSignal(rt, effect.signal);
        return;
      case 'remove':
      case 'disown':
        this.forget(rt, effect.type === 'remove' ? 'removed' : 'disowned');
        return;
    }
  }

  private spawnRun(rt: ChildRuntime): void {
    const spec = rt.record.spec;
    const id = spec.id;
    if (spec.cmd === null) {
      this.queue.push({ id, event: { type: 'spawn_failed', message: 'no command' } });
      return;
    }
    let fds;
    try {
      fds = rt.logs.openForRun();
    } catch (err) {
      this.queue.push({ id, event: { type: 'spawn_failed', message: `cannot open log files: ${(err as Error).message}` } });
      return;
    }
    const env = { ...this.baseEnv, ...spec.env, ...this.envFor(id), [ENV_SUPERVISOR]: this.markerKey, [ENV_SUPERVISOR_ID]: this.supervisorId, [ENV_SUPERVISED_ID]: id };
    const handle = this.control.spawn({ cmd: spec.cmd, cwd: spec.cwd, env, stdoutFd: fds.stdoutFd, stderrFd: fds.stderrFd });
    ChildLogFiles.closeFds(fds);
    rt.handle = handle;
    if (handle.pid === null) {
      handle.onError((err) => {
        if (rt.handle === handle) rt.handle = null;
        this.dispatch(id, { type: 'spawn_failed', message: err.message });
      });
      return;
    }
    const pid = handle.pid;
    handle.onExit((code, signal) => this.onSpawnedExit(id, handle, pid, code, signal));
    handle.onError((err) => rt.logger.warn({ err, pid }, 'child process error'));
    const stat = this.control.proc.readStat(pid);
    // Detached: the child leads its own process group (pgid = pid).
    this.queue.push({ id, event: { type: 'spawned', pid, pgid: pid, startTicks: stat?.startTicks ?? null, bootId: this.bootId } });
    this.emit('child.spawned', { id, pid, attempt: rt.record.current.attempt + 1 });
  }

  private onSpawnedExit(id: string, handle: SpawnHandle, pid: number, code: number | null, signal: string | null): void {
    const rt = this.children.get(id);
    if (rt === undefined || rt.handle !== handle) return;
    rt.handle = null;
    this.afterExit(rt, pid, code, signal, true);
  }

  /** An exit seen by event (spawned) or by polling (adopted, isKnown false). */
  private afterExit(rt: ChildRuntime, pid: number, code: number | null, signal: string | null, isKnown: boolean): void {
    const id = rt.record.spec.id;
    const pgid = rt.record.current.pgid;
    // Whatever is left of the group (grandchildren) goes with its leader.
    if (pgid !== null && pgid === pid) this.control.signalGroup(pgid, 'SIGKILL');
    this.dispatch(id, { type: 'exited', pid, code, signal, isKnown });
    const after = this.children.get(id)?.record ?? rt.record;
    const last = after.current.lastExit;
    const isFailure = last !== null && last.classification !== 'requested' && last.classification !== 'clean';
    const stderrTail = isFailure ? rt.logs.tail('stderr', EXIT_STDERR_TAIL_LINES) : [];
    rt.logger.info({ pid, code, signal, isKnown, state: after.current.state, classification: last?.classification }, 'child exited');
    this.audit({
      kind: 'event',
      id,
      event: 'child.exited',
      message: last?.message ?? 'exited',
      data: { pid, code, signal, exit: isKnown ? (signal ?? code) : 'unknown', classification: last?.classification ?? null, stderr_tail: stderrTail },
    });
    this.emit('child.exited', { id, pid, code, signal, isKnown, state: after.current.state, classification: last?.classification ?? null, stderrTail });
  }

  private sendSignal(rt: ChildRuntime, signal: SignalName): void {
    const c = rt.record.current;
    if (c.pid === null) return;
    if (rt.handle === null) {
      // Not our child in this incarnation: never signal a pid that is not the recorded process.
      const probe = this.control.proc.probe(c.pid, c.startTicks);
      if (probe.status !== 'alive') {
        rt.logger.warn({ pid: c.pid, signal, probe: probe.status }, 'signal not sent: process is no longer the recorded one');
        return;
      }
    }
    const outcome = this.control.signal(c.pid, c.pgid, signal);
    if (outcome === 'denied') rt.logger.warn({ pid: c.pid, signal }, 'signal not permitted');
    else rt.logger.debug({ pid: c.pid, signal, outcome }, 'signal sent');
  }

  private forget(rt: ChildRuntime, how: 'removed' | 'disowned'): void {
    const id = rt.record.spec.id;
    this.clock.clearTimeout(rt.wakeTimer);
    rt.handle?.detach();
    rt.handle = null;
    this.children.delete(id);
    this.audit({ kind: 'event', id, event: 'child.removed', message: how === 'disowned' ? `disowned; pid ${rt.record.current.pid} left running` : 'removed' });
    this.emit('child.removed', { id, how });
  }

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

  /** The one shared /proc poll: exits of adopted children, external SIGSTOP/SIGCONT, log sizes. */
  private poll(): void {
    if (this.phase !== 'running' && this.phase !== 'closing') return;
    const proc = this.control.proc;
    for (const rt of [...this.children.values()]) {
      const c = rt.record.current;
      if (c.pid === null || c.state === CHILD_STATES.UNKNOWN) continue;
      const probe = proc.probe(c.pid, c.startTicks);
      if (probe.status !== 'alive') {
        // Spawned children report their exit by event; only adopted ones are found dead here.
        if (rt.handle === null) this.afterExit(rt, c.pid, null, null, false);
        continue;
      }
      const isStopped = isStoppedState(probe.stat.state);
      if ((c.state === CHILD_STATES.RUNNING && isStopped) || (c.state === CHILD_STATES.SUSPENDED && !isStopped)) {
        this.dispatch(rt.record.spec.id, { type: 'probe', isStopped });
      }
    }
    const now = this.clock.nowMs();
    if (now - this.lastRotateCheckMs >= this.logRotateCheckMs) {
      this.lastRotateCheckMs = now;
      for (const rt of this.children.values()) {
        if (rt.record.current.pid === null) continue;
        rt.logs.rotateIfOversized().then(
          (rotated) => {
            if (rotated.length > 0) rt.logger.info({ rotated }, 'log files rotated');
          },
          (err: unknown) => rt.logger.warn({ err }, 'log rotation failed'),
        );
      }
    }
  }

  /** Processes of ours (by env marker) that lead their own group: the orphan scan. */
  private scanMarked(): MarkedProcess[] {
    const proc = this.control.proc;
    const out: MarkedProcess[] = [];
    for (const pid of proc.pids()) {
      if (pid === this.pid) continue;
      const env = proc.environ(pid);
      if (env === null || env[ENV_SUPERVISOR] !== this.markerKey) continue;
      const childId = env[ENV_SUPERVISED_ID];
      if (childId === undefined) continue;
      const stat = proc.readStat(pid);
      if (stat === null || stat.pgrp !== pid || isDeadState(stat.state)) continue;
      out.push({ pid, childId, pgid: stat.pgrp, startTicks: stat.startTicks, state: stat.state });
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------
  // persistence

  private snapshot(): SupervisorState {
    const children: Record<string, ChildRecord> = {};
    for (const [id, rt] of this.children) children[id] = rt.record;
    const self = this.control.proc.readStat(this.pid);
    return {
      schema: STATE_SCHEMA_VERSION,
      supervisor: {
        supervisorId: this.supervisorId,
        instanceIndex: this.instanceIndex,
        pid: this.pid,
        startTicks: self?.startTicks ?? null,
        bootId: this.bootId,
        seq: this.persistSeq,
        writtenAtMs: this.clock.nowMs(),
      },
      children,
    };
  }

  private persistNow(): void {
    this.clock.clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    if (this.isBatching) {
      this.isUrgentDirty = true;
      return;
    }
    this.isUrgentDirty = false;
    if (this.lock === null || this.phase === 'closed') return;
    this.persistSeq += 1;
    try {
      this.store.save(this.snapshot());
    } catch (err) {
      this.log.error({ err }, 'cannot write the supervisor state file');
    }
  }

  private markDirty(isUrgent: boolean): void {
    if (isUrgent) {
      this.isUrgentDirty = true;
      if (!this.isDraining) this.persistNow();
      return;
    }
    if (this.persistTimer === undefined) {
      this.persistTimer = this.clock.setTimeout(() => {
        this.persistTimer = undefined;
        this.persistNow();
      }, this.persistDebounceMs);
    }
  }

  // ---------------------------------------------------------------------------------------
  // verbs

  private refusal(message: string, results: ChildResult[] = []): VerbResult {
    return { ok: false, message, results };
  }

  private resultFor(id: string, reply: StepReply): ChildResult {
    const rec = this.children.get(id)?.record;
    return { id, ok: reply.ok, message: reply.message, state: rec?.current.state ?? null, pid: rec?.current.pid ?? null };
  }

  private resolveIds(ids: Ids): string[] {
    if (ids === 'all') return [...this.children.keys()];
    return typeof ids === 'string' ? [ids] : [...ids];
  }

  private finish(verb: string, params: Record<string, unknown>, result: VerbResult): VerbResult {
    this.audit({ kind: 'request', id: result.results.length === 1 ? (result.results[0]?.id ?? null) : null, verb, params, ok: result.ok, message: result.message });
    this.log.info({ verb, ok: result.ok, message: result.message }, 'supervisor request');
    return result;
  }

  private checkOpen(verb: string, params: Record<string, unknown>): VerbResult | null {
    if (this.phase === 'running') return null;
    const why = this.phase === 'closing' || this.phase === 'closed' ? 'shutting down' : 'not initialised';
    return this.finish(verb, params, this.refusal(`${verb} refused: supervisor ${why}`));
  }

  /** Sends one event to each of `ids`; one result per id. */
  private each(verb: string, ids: Ids, params: Record<string, unknown>, event: ChildEvent): VerbResult {
    const closed = this.checkOpen(verb, params);
    if (closed) return closed;
    const list = this.resolveIds(parseParams(IdsSchema, ids, verb));
    const results = list.map((id) => this.resultFor(id, this.dispatch(id, event)));
    const ok = results.every((r) => r.ok);
    const message =
      results.length === 0
        ? 'no children'
        : results.length === 1
          ? (results[0]?.message ?? '')
          : ok
            ? `${results.length} children: ok`
            : results.filter((r) => !r.ok).map((r) => `${r.id}: ${r.message}`).join('; ');
    return this.finish(verb, params, { ok, message, results });
  }

  /**
   * Records a request handled outside the verbs (a refusal by the agent layer, a config reload) in
   * the audit trail, so every request is in the history file and the `history.appended` events.
   */
  recordRequest(verb: string, params: Record<string, unknown>, ok: boolean, message: string, id: string | null = null): void {
    this.audit({ kind: 'request', id, verb, params, ok, message });
  }

  /** Creates a child running an arbitrary command. Refused unless exec is enabled. */
  create(params: CreateParams): VerbResult {
    const raw = params as Record<string, unknown>;
    const closed = this.checkOpen('create', raw);
    if (closed) return closed;
    if (!this.allowExec) {
      return this.finish('create', raw, this.refusal('create refused: running arbitrary commands is disabled on this supervisor (enable exec to allow it)'));
    }
    const p = parseParams(CreateParamsSchema, params, 'create');
    if (this.children.has(p.id)) return this.finish('create', raw, this.refusal(`create refused: '${p.id}' already exists`));
    const now = this.clock.nowMs();
    const schedule = p.schedule === undefined ? null : scheduleFromRequest(p.schedule, now);
    const restart = { ...(p.restart ?? {}) };
    if (p.restartTimes !== undefined) Object.assign(restart, { maxRestarts: p.restartTimes, windowMs: null });
    const spec = this.parseSpec({
      id: p.id,
      source: 'create',
      agentClass: p.agentClass ?? null,
      cmd: p.cmd,
      cwd: p.cwd ?? null,
      env: p.env ?? {},
      restart,
      log: p.log ?? {},
      ...(p.stopSignal !== undefined ? { stopSignal: p.stopSignal } : {}),
      ...(p.stopTimeoutMs !== undefined ? { stopTimeoutMs: p.stopTimeoutMs } : {}),
      ...(p.killTimeoutMs !== undefined ? { killTimeoutMs: p.killTimeoutMs } : {}),
      ...(p.ready !== undefined ? { ready: p.ready } : {}),
      ...(p.readyTimeoutMs !== undefined ? { readyTimeoutMs: p.readyTimeoutMs } : {}),
      ...(p.hungRestartAfterMs !== undefined ? { hungRestartAfterMs: p.hungRestartAfterMs } : {}),
    });
    this.addChild(newChildRecord(spec, now, 'operator'));
    this.audit({ kind: 'event', id: p.id, event: 'child.created', message: p.cmd.join(' ') });
    let reply: StepReply;
    if (schedule !== null) reply = this.dispatch(p.id, { type: 'schedule', schedule, runNow: p.schedule?.runAtCreate ?? false });
    else if (p.createStopped) reply = { ok: true, message: 'created stopped' };
    else reply = this.dispatch(p.id, { type: 'start' });
    this.persistNow();
    const result = this.resultFor(p.id, reply);
    return this.finish('create', raw, { ok: result.ok, message: `created; ${result.message}`, results: [result] });
  }

  private parseSpec(input: Record<string, unknown>): ChildSpec {
    return parseParams(ChildSpecSchema, input, 'spec');
  }

  /**
   * Adopts a running process by pid: checks it exists and is not a zombie (and its command line,
   * if asked), records its start time as identity, then polls it. With `cmd` it can be run again
   * after it exits (needs exec enabled); without, it is passive.
   */
  open(params: OpenParams): VerbResult {
    const raw = params as Record<string, unknown>;
    const closed = this.checkOpen('open', raw);
    if (closed) return closed;
    const p = parseParams(OpenParamsSchema, params, 'open');
    if (p.cmd !== undefined && !this.allowExec) {
      return this.finish('open', raw, this.refusal('open refused: a command to run again needs exec enabled on this supervisor'));
    }
    const id = p.id ?? `pid-${p.pid}`;
    if (this.children.has(id)) return this.finish('open', raw, this.refusal(`open refused: '${id}' already exists`));
    for (const rt of this.children.values()) {
      if (rt.record.current.pid === p.pid) return this.finish('open', raw, this.refusal(`open refused: pid ${p.pid} is already supervised as '${rt.record.spec.id}'`));
    }
    const proc = this.control.proc;
    const probe = proc.probe(p.pid, null);
    if (probe.status === 'gone') return this.finish('open', raw, this.refusal(`open refused: no process ${p.pid}`));
    if (probe.status !== 'alive') return this.finish('open', raw, this.refusal(`open refused: process ${p.pid} is a zombie (dead)`));
    const verdict = judgeAdoption(adoptionFacts(proc, p.pid, this.pid, this.siteInstanceIds(), this.allowExec));
    if (!verdict.ok) return this.finish('open', raw, this.refusal(`open refused: ${verdict.reason}`));
    if (p.expectCmdline !== undefined) {
      const cmdline = (proc.cmdline(p.pid) ?? []).join(' ');
      if (!cmdline.includes(p.expectCmdline)) {
        return this.finish('open', raw, this.refusal(`open refused: process ${p.pid} command line '${cmdline}' does not contain '${p.expectCmdline}'`));
      }
    }
    const now = this.clock.nowMs();
    const spec = this.parseSpec({
      id,
      source: 'open',
      cmd: p.cmd ?? null,
      cwd: p.cwd ?? null,
      env: p.env ?? {},
      restart: p.restart ?? {},
      ...(p.stopSignal !== undefined ? { stopSignal: p.stopSignal } : {}),
      ...(p.stopTimeoutMs !== undefined ? { stopTimeoutMs: p.stopTimeoutMs } : {}),
    });
    const rec = newChildRecord(spec, now, 'operator');
    rec.desired.target = p.cmd === undefined ? 'passive' : 'up';
    rec.desired.reason = 'open';
    rec.current.state = CHILD_STATES.UNKNOWN;
    rec.current.priorState = CHILD_STATES.RUNNING;
    this.addChild(rec);
    const stat = probe.stat;
    const reply = this.dispatch(id, {
      type: 'adopted',
      pid: p.pid,
      pgid: stat.pgrp,
      startTicks: stat.startTicks,
      bootId: this.bootId,
      isStopped: isStoppedState(stat.state),
      isOperable: this.control.isPermitted(p.pid),
      cause: 'opened',
    });
    this.persistNow();
    const result = this.resultFor(id, reply);
    const note = this.children.get(id)?.record.current.isOperable ? '' : ' (not permitted to signal it: monitoring only)';
    return this.finish('open', raw, { ok: true, message: `adopted pid ${p.pid} as '${id}' (${verdict.proof})${note}`, results: [result] });
  }

  /** Target up and start now (also the way out of CRASHED, KILLED, EXITED). */
  start(ids: Ids): VerbResult {
    return this.each('start', ids, { ids }, { type: 'start' });
  }

  /** Target down; the stop sequence runs (stop signal → timeout → SIGKILL to the group). */
  stop(ids: Ids): VerbResult {
    return this.each('stop', ids, { ids }, { type: 'stop' });
  }

  /** Stop, then start again; not charged to the failure budget. */
  restart(ids: Ids): VerbResult {
    return this.each('restart', ids, { ids }, { type: 'restart' });
  }

  /** SIGSTOP the group: SUSPENDED (refused while STARTING). Survives supervisor restarts. */
  suspend(ids: Ids): VerbResult {
    return this.each('suspend', ids, { ids }, { type: 'suspend' });
  }

  /** SIGCONT the group: RUNNING again. */
  resume(ids: Ids): VerbResult {
    return this.each('resume', ids, { ids }, { type: 'resume' });
  }

  /** Target down and signal (SIGKILL by default); ends KILLED, which stays down until start. */
  kill(ids: Ids, signal: SignalName = 'SIGKILL'): VerbResult {
    return this.each('kill', ids, { ids, signal }, { type: 'kill', signal: parseParams(SignalSchema, signal, 'kill') });
  }

  /** A raw signal to the child's group; no state change except what /proc then shows. */
  signal(id: string, signal: SignalName): VerbResult {
    return this.each('signal', id, { id, signal }, { type: 'signal', signal: parseParams(SignalSchema, signal, 'signal') });
  }

  /** Clears the failure window, streak and stuck flag; a CRASHED child with target up starts. */
  reset(ids: Ids): VerbResult {
    return this.each('reset', ids, { ids }, { type: 'reset' });
  }

  /** Cancels a PENDING start: removes the child, or keeps it STOPPED with `keep`. */
  cancel(id: string, keep = false): VerbResult {
    return this.each('cancel', id, { id, keep }, { type: 'cancel', keep });
  }

  /** Removes children: a running one is stopped, killed, or left running untracked (disown). */
  remove(params: RemoveParams): VerbResult {
    const p = parseParams(RemoveParamsSchema, params, 'remove');
    return this.each('remove', p.ids, { ...p }, { type: 'remove', mode: p.running });
  }

  /** Sets (or with null clears) a child's schedule: at a time, after a delay, or cron. */
  schedule(id: string, request: ScheduleRequest | null): VerbResult {
    const params = { id, schedule: request };
    const closed = this.checkOpen('schedule', params);
    if (closed) return closed;
    const schedule = request === null ? null : scheduleFromRequest(parseParams(ScheduleRequestSchema, request, 'schedule'), this.clock.nowMs());
    return this.each('schedule', id, params, { type: 'schedule', schedule, runNow: request?.runAtCreate ?? false });
  }

  /** HostManager's update: (id | 'all', 'up' | 'down') pairs, applied in order. */
  update(requests: readonly UpdateRequest[]): VerbResult {
    const list = parseParams(UpdateParamsSchema, requests, 'update');
    const params = { requests: list };
    const closed = this.checkOpen('update', params);
    if (closed) return closed;
    const results: ChildResult[] = [];
    for (const [target, state] of list) {
      const ids = target === 'all' ? [...this.children.keys()] : [target];
      for (const id of ids) results.push(this.resultFor(id, this.dispatch(id, { type: 'update', target: state })));
    }
    const ok = results.every((r) => r.ok);
    const message = ok ? `${results.length} updated` : results.filter((r) => !r.ok).map((r) => `${r.id}: ${r.message}`).join('; ');
    return this.finish('update', params, { ok, message, results });
  }

  /** Tail of a child's stdout/stderr files. */
  logs(params: LogsParams): LogsResult {
    const p = parseParams(LogsParamsSchema, params, 'logs');
    const rt = this.children.get(p.id);
    const logs = rt?.logs ?? new ChildLogFiles(this.logDir, p.id, { maxBytes: 1, keep: 0 });
    const pick = (stream: LogStream) => (p.stream === 'both' || p.stream === stream ? logs.tail(stream, p.lines) : []);
    const result = { ok: rt !== undefined, message: rt === undefined ? `unknown child '${p.id}' (showing any files left)` : 'ok', id: p.id, stdout: pick('stdout'), stderr: pick('stderr') };
    return result;
  }

  // ---------------------------------------------------------------------------------------
  // readiness / liveness inputs from the registry

  /** A heartbeat of the agent with this instance id was seen (first one makes it RUNNING). */
  onHeartbeat(instanceId: string): void {
    const rt = this.children.get(instanceId);
    if (this.phase !== 'running' || rt === undefined) return;
    const c = rt.record.current;
    if (c.state === CHILD_STATES.RUNNING && !c.isExpired && c.livenessDeadlineMs === null) {
      c.heartbeatAtMs = this.clock.nowMs(); // the 1 Hz common case: nothing to decide
      return;
    }
    this.dispatch(instanceId, { type: 'heartbeat' });
  }

  /** The registry marked the agent expired; with hungRestartAfterMs set it is restarted if it stays so. */
  onExpired(instanceId: string): void {
    if (this.phase === 'running' && this.children.has(instanceId)) this.dispatch(instanceId, { type: 'expired' });
  }

  // ---------------------------------------------------------------------------------------
  // views

  /** A copy of one child's record (spec, desired, current), or null. */
  get(id: string): ChildRecord | null {
    const rt = this.children.get(id);
    return rt === undefined ? null : structuredClone(rt.record);
  }

  /** One child's state without copying its record, or null when the id is not supervised. */
  stateOf(id: string): ChildState | null {
    return this.children.get(id)?.record.current.state ?? null;
  }

  ids(): string[] {
    return [...this.children.keys()];
  }

  /** HostManager-compatible `child_states` for the manager session data. */
  childStates(): ChildStateEntry[] {
    const now = this.clock.nowMs();
    return [...this.children.values()].map((rt) => childStateEntry(rt.record, now));
  }

  /** A light per-child summary (no copies of records): for feeds and health checks every few seconds. */
  summaries(): ChildSummary[] {
    return [...this.children.values()].map((rt) => {
      const c = rt.record.current;
      return { id: rt.record.spec.id, state: c.state, restarts: c.restarts, isStuck: c.isStuck, ready: rt.record.spec.ready, pid: c.pid };
    });
  }

  history(limit?: number): HistoryRecord[] {
    return this.historyLog.recent(limit);
  }

  /** The full session-data picture (design §3.5 `manager`). */
  status(historyLimit = 50): SupervisorStatus {
    const now = this.clock.nowMs();
    const services: Record<string, ServiceView> = {};
    for (const [id, rt] of this.children) services[id] = serviceView(rt.record, now);
    const orphans: SupervisorStatus['orphans'] = {};
    for (const o of this.orphans) orphans[String(o.pid)] = { pid: o.pid, service_id: o.childId, starttime: o.startTicks, reason: o.reason };
    return {
      supervisor: {
        supervisor_id: this.supervisorId,
        index: this.instanceIndex,
        pid: this.pid,
        boot_id: this.bootId,
        started_at: this.startedAtMs === null ? null : this.startedAtMs / 1000,
        phase: this.phase,
        reconciled: this.phase === 'running' || this.phase === 'closing',
        allow_exec: this.allowExec,
        state_file: this.stateFile,
        log_dir: this.logDir,
        persist_seq: this.persistSeq,
        problems: [...this.problems],
      },
      services,
      child_states: this.childStates(),
      orphans,
      history: this.history(historyLimit),
    };
  }

  /** Resolves once `check` holds for the child (checked on each transition), or rejects after timeoutMs. */
  waitFor(id: string, check: (rec: ChildRecord | null) => boolean, timeoutMs: number): Promise<ChildRecord | null> {
    return new Promise((resolveWait, reject) => {
      if (check(this.get(id))) return resolveWait(this.get(id));
      let timer: TimerHandle | undefined;
      const done = () => {
        this.off('child.transitioned', onTransition);
        this.off('child.removed', onRemoved);
        this.clock.clearTimeout(timer);
      };
      const probe = () => {
        const rec = this.get(id);
        if (check(rec)) {
          done();
          resolveWait(rec);
        }
      };
      const onTransition = (t: TransitionEvent) => {
        if (t.id === id) probe();
      };
      const onRemoved = (r: { id: string }) => {
        if (r.id === id) probe();
      };
      this.on('child.transitioned', onTransition);
      this.on('child.removed', onRemoved);
      timer = this.clock.setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for child '${id}' (state ${this.get(id)?.current.state ?? 'none'})`));
      }, timeoutMs);
    });
  }
}
