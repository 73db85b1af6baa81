/**
 * This host's side of every cluster instance: the local supervisor's state, the monitor (idle,
 * ready = claimed, starting, stopping, and the blocks start_failed / stop_failed / local_stopped),
 * this host's claim epoch, the greatest epoch seen anywhere, and the commands for the supervisor
 * that the decisions of a tick queue. Monitors move here only: on a local state, on a timeout
 * (`progress`), or when a decision claims, starts, stops or withdraws.
 */
import type { Logger } from '../log.js';
import { CHILD_STATES, type ChildState } from '../supervisor/child-record.js';
import { MONITOR, type Monitor, type PlacementInstance } from './placement-message.js';
import { PERSISTED_MONITORS, type OrchestratorSnapshot } from './orchestrator-snapshot.js';
import type { OrchestratorCommand, OrchestratorOptions } from './orchestrator-types.js';

/** Local states in which an instance has (or is about to have) a process: the host holds it. */
export const HELD_STATES: ReadonlySet<ChildState> = new Set([
  CHILD_STATES.STARTING,
  CHILD_STATES.RUNNING,
  CHILD_STATES.SUSPENDED,
  CHILD_STATES.STOPPING,
  CHILD_STATES.BACKOFF,
  CHILD_STATES.UNKNOWN,
]);

export interface LocalInstance {
  service: string;
  state: ChildState | null;
  isStateKnown: boolean;
  monitor: Monitor;
  monitorSinceMs: number;
  /** This host's claim epoch (0: never claimed). */
  epoch: number;
  claimAtMs: number | null;
  /** A start is in progress and the child was seen live since it was asked. */
  wasLiveSinceStart: boolean;
  /** A rollout's restart asked of this host and not finished yet (its token), and whether the old run was seen ending. */
  restartToken: string | null;
  restartSawDown: boolean;
  /** The token of the last rollout restart that finished here (RUNNING again): published as `restart`. */
  restartDone: string | null;
}

function isLiveState(state: ChildState | null): boolean {
  return state !== null && HELD_STATES.has(state);
}

/** A local instance this orchestrator holds and may stop (not already stopping, not in an operator's hands). */
export function isManagedHolder(inst: LocalInstance): boolean {
  const held = isLiveState(inst.state) || inst.monitor === MONITOR.STARTING;
  return held && inst.monitor !== MONITOR.STOPPING && inst.monitor !== MONITOR.STOP_FAILED && inst.monitor !== MONITOR.LOCAL_STOPPED;
}

export class LocalInstances {
  private readonly bySlot = new Map<string, LocalInstance>();
  private readonly maxEpochs = new Map<string, number>();
  private pending: OrchestratorCommand[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly options: Pick<OrchestratorOptions, 'startTimeoutMs' | 'stopTimeoutMs'>,
  ) {}

  add(slot: string, service: string, nowMs: number): void {
    this.bySlot.set(slot, {
      service,
      state: null,
      isStateKnown: false,
      monitor: MONITOR.IDLE,
      monitorSinceMs: nowMs,
      epoch: 0,
      claimAtMs: null,
      wasLiveSinceStart: false,
      restartToken: null,
      restartSawDown: false,
      restartDone: null,
    });
  }

  has(slot: string): boolean {
    return this.bySlot.has(slot);
  }

  get(slot: string): LocalInstance | undefined {
    return this.bySlot.get(slot);
  }

  /** The instance of a declared slot (the caller knows it is one). */
  of(slot: string): LocalInstance {
    return this.bySlot.get(slot)!;
  }

  entries(): IterableIterator<[string, LocalInstance]> {
    return this.bySlot.entries();
  }

  /** What this host publishes of an instance (as a peer's message would carry it, without `claim_at`). */
  info(slot: string): PlacementInstance | null {
    const inst = this.bySlot.get(slot);
    return inst === undefined ? null : { state: inst.state, monitor: inst.monitor, epoch: inst.epoch, claim_at: null, restart: inst.restartDone };
  }

  // -- epochs

  maxEpoch(slot: string): number {
    return this.maxEpochs.get(slot) ?? 0;
  }

  noteEpoch(slot: string, epoch: number): void {
    if (epoch > this.maxEpoch(slot)) this.maxEpochs.set(slot, epoch);
  }

  // -- commands

  /** The commands queued since the last call. */
  takeCommands(): OrchestratorCommand[] {
    const commands = this.pending;
    this.pending = [];
    return commands;
  }

  queue(command: OrchestratorCommand): void {
    this.pending.push(command);
  }

  // -- inputs

  /** Local supervisor states by instance-id (a partial update; null = no such child); other ids are ignored. */
  onLocalState(states: Readonly<Record<string, ChildState | null>>, now: number): void {
    for (const [slot, state] of Object.entries(states)) {
      const inst = this.bySlot.get(slot);
      if (inst === undefined) continue;
      const wasKnown = inst.isStateKnown;
      const wasLive = isLiveState(inst.state);
      const isLive = isLiveState(state);
      const previous = inst.state;
      inst.state = state;
      inst.isStateKnown = true;
      if (state === CHILD_STATES.CRASHED && previous !== CHILD_STATES.CRASHED && inst.monitor !== MONITOR.LOCAL_STOPPED) {
        this.setMonitor(slot, inst, MONITOR.START_FAILED, now, 'local instance crashed');
        continue;
      }
      if (inst.restartToken !== null) this.followRestart(slot, inst);
      if (isLive && inst.monitor === MONITOR.STARTING) inst.wasLiveSinceStart = true;
      if (wasKnown && !wasLive && isLive && inst.monitor === MONITOR.IDLE) this.takeOperatorEpoch(slot, inst, now);
      if (isLive && inst.monitor === MONITOR.READY) this.setMonitor(slot, inst, MONITOR.IDLE, now, 'instance started meanwhile');
      this.progressOne(slot, inst, now);
    }
  }

  /** An operator stopped (`'stopped'`) or started (`null`) the instance on this host directly. */
  setOperatorExpect(slot: string, inst: LocalInstance, localExpect: 'stopped' | null, now: number): void {
    if (localExpect === 'stopped') {
      this.setMonitor(slot, inst, MONITOR.LOCAL_STOPPED, now, 'stopped by an operator');
    } else if (inst.monitor === MONITOR.LOCAL_STOPPED) {
      this.setMonitor(slot, inst, MONITOR.IDLE, now, 'started by an operator');
      // The start may have reached the local state first.
      if (isLiveState(inst.state)) this.takeOperatorEpoch(slot, inst, now);
    }
  }

  /**
   * A local instance started outside the orchestrator (an operator's start) takes a fresh epoch,
   * so it is the copy kept if another host holds the instance too.
   */
  private takeOperatorEpoch(slot: string, inst: LocalInstance, now: number): void {
    inst.epoch = this.maxEpoch(slot) + 1;
    inst.claimAtMs = now;
    this.noteEpoch(slot, inst.epoch);
    this.logger.info({ instance_id: slot, epoch: inst.epoch }, 'instance started outside the orchestrator');
  }

  // -- rollouts

  /**
   * A rollout asks this host to restart its instance (`token` names the request). Queued once
   * per token, and only for an instance running here and in no other hands; returns whether it was.
   */
  requestRestart(slot: string, token: string): boolean {
    const inst = this.bySlot.get(slot);
    if (inst === undefined || inst.restartToken === token || inst.restartDone === token) return false;
    if (inst.state !== CHILD_STATES.RUNNING || inst.monitor !== MONITOR.IDLE) return false;
    inst.restartToken = token;
    inst.restartSawDown = false;
    this.logger.info({ instance_id: slot, token }, 'rolling restart of the instance');
    this.pending.push({ type: 'restart', instanceId: slot, service: inst.service, reason: `rollout ${token}` });
    return true;
  }

  /** The restart's progress on a local state: the old run ending, then RUNNING again (done). */
  private followRestart(slot: string, inst: LocalInstance): void {
    if (inst.state !== CHILD_STATES.RUNNING) {
      inst.restartSawDown = true;
      if (!isLiveState(inst.state)) {
        this.logger.warn({ instance_id: slot, token: inst.restartToken, state: inst.state }, 'rolling restart ended without a running instance');
        inst.restartToken = null;
      }
      return;
    }
    if (inst.restartSawDown) {
      inst.restartDone = inst.restartToken;
      inst.restartToken = null;
    }
  }

  // -- decisions

  /** Claims the instance: a fresh epoch, monitor `ready`; the start follows after the ready period. */
  claim(slot: string, inst: LocalInstance, now: number): void {
    inst.epoch = this.maxEpoch(slot) + 1;
    inst.claimAtMs = now;
    this.noteEpoch(slot, inst.epoch);
    this.setMonitor(slot, inst, MONITOR.READY, now, `claimed (epoch ${inst.epoch})`);
  }

  start(slot: string, inst: LocalInstance, now: number, reason: string): void {
    inst.wasLiveSinceStart = false;
    this.setMonitor(slot, inst, MONITOR.STARTING, now, `${reason} (epoch ${inst.epoch})`);
    this.pending.push({ type: 'start', instanceId: slot, service: inst.service, reason });
  }

  stop(slot: string, inst: LocalInstance, now: number, reason: string): void {
    this.setMonitor(slot, inst, MONITOR.STOPPING, now, reason);
    this.pending.push({ type: 'stop', instanceId: slot, service: inst.service, reason });
  }

  /** Withdraws the claims (monitor `ready`) among `slots`. */
  withdrawClaims(slots: readonly string[], now: number, reason: string): void {
    for (const slot of slots) {
      const inst = this.of(slot);
      if (inst.monitor === MONITOR.READY) this.setMonitor(slot, inst, MONITOR.IDLE, now, `claim withdrawn: ${reason}`);
    }
  }

  /** Stops the held instances among `slots` that the orchestrator manages. */
  stopHeld(slots: readonly string[], now: number, reason: string): void {
    for (const slot of slots) {
      const inst = this.of(slot);
      if (isManagedHolder(inst)) this.stop(slot, inst, now, reason);
    }
  }

  /** Lifts start_failed / stop_failed among `slots`. */
  clearBlocks(slots: readonly string[], now: number): void {
    for (const slot of slots) {
      const inst = this.of(slot);
      if (inst.monitor === MONITOR.START_FAILED || inst.monitor === MONITOR.STOP_FAILED) this.setMonitor(slot, inst, MONITOR.IDLE, now, 'cleared');
    }
  }

  /** Shutdown: claims dropped quietly; with `stop`, every held instance not already stopping is stopped. */
  leave(mode: 'stop' | 'disown', now: number): void {
    for (const inst of this.bySlot.values()) {
      if (inst.monitor === MONITOR.READY) inst.monitor = MONITOR.IDLE;
    }
    if (mode === 'disown') return;
    for (const [slot, inst] of this.bySlot) {
      if (isLiveState(inst.state) && inst.monitor !== MONITOR.STOPPING) this.stop(slot, inst, now, 'host manager shutting down');
    }
  }

  /** Moves `starting` / `stopping` on as the local states and the timeouts say. */
  progress(now: number): void {
    for (const [slot, inst] of this.bySlot) this.progressOne(slot, inst, now);
  }

  private progressOne(slot: string, inst: LocalInstance, now: number): void {
    const state = inst.state;
    const isLive = isLiveState(state);
    if (inst.monitor === MONITOR.STARTING) {
      if (state === CHILD_STATES.RUNNING || state === CHILD_STATES.SUSPENDED) {
        this.setMonitor(slot, inst, MONITOR.IDLE, now, `started (${state})`);
      } else if (!isLive && inst.wasLiveSinceStart) {
        this.setMonitor(slot, inst, MONITOR.IDLE, now, `ended while starting (${state ?? 'gone'})`);
      } else if (now - inst.monitorSinceMs >= this.options.startTimeoutMs) {
        this.setMonitor(slot, inst, MONITOR.START_FAILED, now, `not running ${this.options.startTimeoutMs} ms after the start`);
      }
    } else if (inst.monitor === MONITOR.STOPPING) {
      if (!isLive) {
        this.setMonitor(slot, inst, MONITOR.IDLE, now, `stopped (${state ?? 'gone'})`);
      } else if (now - inst.monitorSinceMs >= this.options.stopTimeoutMs) {
        this.setMonitor(slot, inst, MONITOR.STOP_FAILED, now, `still ${state} ${this.options.stopTimeoutMs} ms after the stop`);
      }
    }
  }

  setMonitor(slot: string, inst: LocalInstance, monitor: Monitor, now: number, reason: string): void {
    if (inst.monitor === monitor) return;
    const level = monitor === MONITOR.START_FAILED || monitor === MONITOR.STOP_FAILED ? 'warn' : 'info';
    this.logger[level]({ instance_id: slot, from: inst.monitor, to: monitor, epoch: inst.epoch, reason }, 'monitor changed');
    inst.monitor = monitor;
    inst.monitorSinceMs = now;
  }

  // -- output and persistence

  /** The `services` part of this host's placement message. */
  placementInstances(): Record<string, PlacementInstance> {
    const services: Record<string, PlacementInstance> = {};
    for (const [slot, inst] of this.bySlot) {
      services[slot] = { state: inst.state, monitor: inst.monitor, epoch: inst.epoch, claim_at: inst.claimAtMs === null ? null : inst.claimAtMs / 1000, restart: inst.restartDone };
    }
    return services;
  }

  snapshot(): Pick<OrchestratorSnapshot, 'epochs' | 'claims' | 'monitors'> {
    const claims: OrchestratorSnapshot['claims'] = {};
    const monitors: OrchestratorSnapshot['monitors'] = {};
    for (const [slot, inst] of this.bySlot) {
      if (inst.epoch > 0) claims[slot] = { epoch: inst.epoch, claim_at_ms: inst.claimAtMs };
      const persisted = PERSISTED_MONITORS.find((m) => m === inst.monitor);
      if (persisted !== undefined) monitors[slot] = persisted;
    }
    return { epochs: Object.fromEntries(this.maxEpochs), claims, monitors };
  }

  /** Epochs, claims and blocks of a snapshot; slots no longer declared are ignored. */
  restore(snap: Pick<OrchestratorSnapshot, 'epochs' | 'claims' | 'monitors'>): void {
    for (const [slot, epoch] of Object.entries(snap.epochs)) if (this.bySlot.has(slot)) this.noteEpoch(slot, epoch);
    for (const [slot, claim] of Object.entries(snap.claims)) {
      const inst = this.bySlot.get(slot);
      if (inst === undefined) continue;
      inst.epoch = claim.epoch;
      inst.claimAtMs = claim.claim_at_ms;
      this.noteEpoch(slot, claim.epoch);
    }
    for (const [slot, monitor] of Object.entries(snap.monitors)) {
      const inst = this.bySlot.get(slot);
      if (inst !== undefined) inst.monitor = monitor;
    }
  }
}
