import { CHILD_STATES, type ChildRecord, type ChildState, type SignalName } from './child-record.js';
import type { ChildStateEntry } from './child-view.js';
import { applyEntries } from './config-sync.js';
import { SupervisorCore } from './event-loop.js';
import type { HistoryRecord } from './history-log.js';
import type { ScheduleRequest } from './schedule.js';
import { shutDownSupervisor } from './shutdown.js';
import { startSupervisor } from './startup.js';
import type { SupervisedEntry } from './supervised-entry.js';
import type {
  ChildSummary,
  InitReport,
  LogsResult,
  SupervisorEvents,
  SupervisorIdentity,
  SupervisorOptions,
  SupervisorPhase,
  SupervisorStatus,
  SyncReport,
  VerbResult,
} from './supervisor-types.js';
import { childRecord, childStates, childSummaries, supervisorStatus, waitForChild } from './supervisor-views.js';
import type { CreateParams, DieParams, Ids, LogsParams, OpenParams, RemoveParams, UpdateRequest } from './verb-params.js';
import { createChild, openChild } from './verbs/create.js';
import { cancelStart, removeChildren, resetChildren, restartChildren, startChildren, stopChildren, updateTargets } from './verbs/lifecycle.js';
import { childLogs } from './verbs/logs.js';
import { scheduleChild } from './verbs/schedules.js';
import { killChildren, resumeChildren, signalChild, suspendChildren } from './verbs/signals.js';

export * from './supervisor-types.js';

/**
 * The supervisor: a table of children driven by the pure state machine, with the I/O around it
 * (spawn, signals, /proc polling, log files, atomic state file, lock, audit trail). Everything the
 * HostManager agent needs except WAMP: verbs return results, events carry every transition and
 * request, `childStates()` / `status()` give session data. This class only ties the parts
 * together; each lives in a file named after it (see the README).
 */
// The identity's fields (instanceIndex, stateFile, ...) are the supervisor's own, copied from its core.
export interface Supervisor extends SupervisorIdentity {}

export class Supervisor {
  private readonly core: SupervisorCore;

  constructor(options: SupervisorOptions) {
    this.core = new SupervisorCore(options);
    Object.assign(this, this.core.identity);
  }

  /** new → initialising → running → closing (die) → closed. Verbs work while running. */
  get lifecycle(): SupervisorPhase {
    return this.core.phase;
  }

  on<K extends keyof SupervisorEvents>(event: K, listener: (...args: SupervisorEvents[K]) => void): this {
    this.core.on(event, listener);
    return this;
  }

  off<K extends keyof SupervisorEvents>(event: K, listener: (...args: SupervisorEvents[K]) => void): this {
    this.core.off(event, listener);
    return this;
  }

  // lifecycle (startup.ts, shutdown.ts)

  /**
   * Takes the lock, loads the state file, re-adopts children that still run, records the ones
   * that vanished (exit unknown), applies `entries` (when given), then starts what should run.
   * Throws ConfigError when another live supervisor holds the lock.
   */
  async init(entries?: readonly SupervisedEntry[]): Promise<InitReport> {
    return startSupervisor(this.core, entries);
  }

  /** Orderly shutdown: `stop` runs every stop sequence, `disown` leaves the children running. */
  async die(params: DieParams = {}): Promise<VerbResult> {
    return shutDownSupervisor(this.core, params);
  }

  /** SIGKILL to every live child's group at once, whatever the phase. Returns the ids signalled. */
  killAll(): string[] {
    return this.core.processes.killAll();
  }

  /** Applies the site file's entries on a config reload (config-sync.ts). */
  syncEntries(entries: readonly SupervisedEntry[]): SyncReport {
    return applyEntries(this.core, entries, 'full');
  }

  // verbs (verbs/*.ts)

  /** Records a request handled outside the verbs (a refusal by the agent layer, a config reload) in the audit trail. */
  recordRequest(verb: string, params: Record<string, unknown>, ok: boolean, message: string, id: string | null = null): void {
    this.core.audit({ kind: 'request', id, verb, params, ok, message });
  }

  create(params: CreateParams): VerbResult {
    return createChild(this.core, params);
  }
  open(params: OpenParams): VerbResult {
    return openChild(this.core, params);
  }
  start(ids: Ids): VerbResult {
    return startChildren(this.core, ids);
  }
  stop(ids: Ids): VerbResult {
    return stopChildren(this.core, ids);
  }
  restart(ids: Ids): VerbResult {
    return restartChildren(this.core, ids);
  }
  suspend(ids: Ids): VerbResult {
    return suspendChildren(this.core, ids);
  }
  resume(ids: Ids): VerbResult {
    return resumeChildren(this.core, ids);
  }
  kill(ids: Ids, signal: SignalName = 'SIGKILL'): VerbResult {
    return killChildren(this.core, ids, signal);
  }
  signal(id: string, signal: SignalName): VerbResult {
    return signalChild(this.core, id, signal);
  }
  reset(ids: Ids): VerbResult {
    return resetChildren(this.core, ids);
  }
  cancel(id: string, keep = false): VerbResult {
    return cancelStart(this.core, id, keep);
  }
  remove(params: RemoveParams): VerbResult {
    return removeChildren(this.core, params);
  }
  schedule(id: string, request: ScheduleRequest | null): VerbResult {
    return scheduleChild(this.core, id, request);
  }
  update(requests: readonly UpdateRequest[]): VerbResult {
    return updateTargets(this.core, requests);
  }
  logs(params: LogsParams): LogsResult {
    return childLogs(this.core, params);
  }

  // readiness / liveness inputs from the registry

  /** A heartbeat of the agent with this instance id was seen (first one makes it RUNNING). */
  onHeartbeat(instanceId: string): void {
    const core = this.core;
    const rt = core.children.get(instanceId);
    if (core.phase !== 'running' || rt === undefined) return;
    const c = rt.record.current;
    if (c.state === CHILD_STATES.RUNNING && !c.isExpired && c.livenessDeadlineMs === null) {
      c.heartbeatAtMs = core.clock.nowMs(); // the 1 Hz common case: nothing to decide
      return;
    }
    core.dispatch(instanceId, { type: 'heartbeat' });
  }

  /** The registry marked the agent expired; with hungRestartAfterMs set it is restarted if it stays so. */
  onExpired(instanceId: string): void {
    if (this.core.phase === 'running' && this.core.children.has(instanceId)) this.core.dispatch(instanceId, { type: 'expired' });
  }

  // views (supervisor-views.ts)

  get(id: string): ChildRecord | null {
    return childRecord(this.core, id);
  }
  /** One child's state without copying its record, or null when the id is not supervised. */
  stateOf(id: string): ChildState | null {
    return this.core.children.get(id)?.record.current.state ?? null;
  }
  ids(): string[] {
    return [...this.core.children.keys()];
  }
  childStates(): ChildStateEntry[] {
    return childStates(this.core);
  }
  summaries(): ChildSummary[] {
    return childSummaries(this.core);
  }
  history(limit?: number): HistoryRecord[] {
    return this.core.historyLog.recent(limit);
  }
  status(historyLimit = 50): SupervisorStatus {
    return supervisorStatus(this.core, historyLimit);
  }
  waitFor(id: string, check: (rec: ChildRecord | null) => boolean, timeoutMs: number): Promise<ChildRecord | null> {
    return waitForChild(this.core, id, check, timeoutMs);
  }
}
