/**
 * Rolling restart of one cluster service (`rollout(service, max_unavailable=1)`), run by the host
 * it was asked of (the coordinator). Pure: each tick it reads who holds each instance and in what
 * state (the hosts' placement feeds, this host's own instances), and answers which instances to
 * restart now. A holder restarts its own instance when it sees the request in the coordinator's
 * placement feed (`restarts: {instance: token}`) and reports `restart: token` for the instance
 * once it is RUNNING again; the coordinator's own instances are restarted directly.
 *
 * Rules:
 * - ready(x): a host not dead holds instance x in state RUNNING (RUNNING is the supervisor's
 *   readiness: the agent's first heartbeat, or its minimum uptime).
 * - A batch starts only when the previous one is done, and is as large as the service can lose:
 *   min(max_unavailable, ready − (instances − max_unavailable)) instances, each one ready now. So
 *   the ready count never drops below instances − max_unavailable because of the rollout.
 * - An instance of the batch is done when its holder has reported it RUNNING with this rollout's
 *   token for `minReadyMs` (1 s: the way back is confirmed, and every view of it has caught up).
 *   One that is not ready `readyTimeoutMs` after its restart was asked stops the rollout: the
 *   report names it, the rest is left untouched.
 * - No batch can start for `readyTimeoutMs` (too few ready instances): the rollout stops too.
 * - An instance that no host holds is skipped (it is placed again with the current settings).
 */
import type { PlacementInstance } from './placement-message.js';
import { CHILD_STATES } from '../supervisor/child-record.js';
import { HELD_STATES } from './local-instances.js';

export const ROLLOUT_STATUS = ['running', 'done', 'failed', 'aborted'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUS)[number];

export interface RolloutFacts {
  /** The hosts of the service, this one included. */
  readonly nodes: readonly string[];
  readonly self: string;
  isDead(node: string): boolean;
  instanceInfo(node: string, slot: string): (PlacementInstance & { restart?: string | null }) | null;
}

export interface RolloutInstanceReport {
  instance_id: string;
  host: string | null;
  result: 'pending' | 'restarting' | 'restarted' | 'skipped' | 'failed' | 'untouched';
  /** Seconds from the restart request to RUNNING again. */
  ready_after_s: number | null;
  message: string;
}

export interface RolloutReport {
  service: string;
  token: string;
  status: RolloutStatus;
  max_unavailable: number;
  instances: number;
  /** The floor the rollout keeps: instances − max_unavailable. */
  min_ready_allowed: number;
  /** The fewest ready instances seen during the rollout (as this host judged them each tick). */
  min_ready_seen: number | null;
  /** Each instance's holder and state when that minimum was first seen. */
  min_ready_states: Record<string, string>;
  started_at: number;
  finished_at: number | null;
  elapsed_s: number;
  message: string;
  detail: RolloutInstanceReport[];
}

interface SlotProgress {
  slot: string;
  host: string | null;
  result: RolloutInstanceReport['result'];
  askedAtMs: number | null;
  readyAtMs: number | null;
  message: string;
}

export interface RolloutOptions {
  service: string;
  slots: readonly string[];
  maxUnavailable: number;
  readyTimeoutMs: number;
  /** How long a restarted instance must stay RUNNING before it counts as ready again (the next batch waits for it). */
  minReadyMs?: number;
  token: string;
  nowMs: number;
}

/** Default hold of a restarted instance in RUNNING before the next batch (Kubernetes' minReadySeconds). */
export const DEFAULT_MIN_READY_MS = 1000;

export class Rollout {
  readonly service: string;
  readonly token: string;
  private readonly maxUnavailable: number;
  private readonly readyTimeoutMs: number;
  private readonly minReadyMs: number;
  private readonly progress: SlotProgress[];
  private readonly startedAtMs: number;
  private finishedAtMs: number | null = null;
  private status: RolloutStatus = 'running';
  private message = 'starting';
  private minReadySeen: number | null = null;
  private minReadyStates: Record<string, string> = {};
  /** Since when no batch could start (too few ready instances), or null. */
  private blockedSinceMs: number | null = null;

  constructor(options: RolloutOptions) {
    this.service = options.service;
    this.token = options.token;
    this.maxUnavailable = options.maxUnavailable;
    this.readyTimeoutMs = options.readyTimeoutMs;
    this.minReadyMs = options.minReadyMs ?? DEFAULT_MIN_READY_MS;
    this.startedAtMs = options.nowMs;
    this.progress = options.slots.map((slot) => ({ slot, host: null, result: 'pending', askedAtMs: null, readyAtMs: null, message: '' }));
  }

  get isRunning(): boolean {
    return this.status === 'running';
  }

  /** The instances whose restart this host asks of their holders now: instance → holder. */
  requested(): Map<string, string> {
    const out = new Map<string, string>();
    if (!this.isRunning) return out;
    for (const p of this.progress) if (p.result === 'restarting' && p.host !== null) out.set(p.slot, p.host);
    return out;
  }

  /**
   * One round: the batch's progress, then the next batch. Returns the instances to restart now
   * (instance → holder); the caller restarts its own and publishes the others' requests.
   */
  step(facts: RolloutFacts, nowMs: number): Map<string, string> {
    const started = new Map<string, string>();
    if (!this.isRunning) return started;
    // Each instance's first holder not dead, looked up once per round.
    const holders = new Map<string, { node: string; info: PlacementInstance & { restart?: string | null } } | null>();
    for (const p of this.progress) {
      let found = null;
      for (const node of facts.nodes) {
        if (facts.isDead(node)) continue;
        const info = facts.instanceInfo(node, p.slot);
        if (info !== null && info.state !== null && HELD_STATES.has(info.state)) {
          found = { node, info };
          break;
        }
      }
      holders.set(p.slot, found);
    }
    const holderOf = (slot: string) => holders.get(slot) ?? null;
    const isReady = (slot: string) => holderOf(slot)?.info.state === CHILD_STATES.RUNNING;
    const ready = this.progress.filter((p) => isReady(p.slot)).length;
    if (this.minReadySeen === null || ready < this.minReadySeen) {
      this.minReadySeen = ready;
      this.minReadyStates = Object.fromEntries(this.progress.map((p) => {
        const h = holderOf(p.slot);
        return [p.slot, h === null ? 'not held' : `${h.info.state} on ${h.node}`];
      }));
    }

    // The batch under way.
    let isBatchOpen = false;
    for (const p of this.progress) {
      if (p.result !== 'restarting') continue;
      const h = p.host === null ? null : facts.instanceInfo(p.host, p.slot);
      if (h !== null && h.state === CHILD_STATES.RUNNING && h.restart === this.token && p.host !== null && !facts.isDead(p.host)) {
        p.readyAtMs ??= nowMs;
        if (nowMs - p.readyAtMs >= this.minReadyMs) {
          p.result = 'restarted';
          p.message = `ready again after ${((p.readyAtMs - (p.askedAtMs ?? nowMs)) / 1000).toFixed(1)} s`;
          continue;
        }
      } else {
        p.readyAtMs = null; // left RUNNING again: the hold starts over
      }
      if (nowMs - (p.askedAtMs ?? nowMs) >= this.readyTimeoutMs) {
        p.result = 'failed';
        p.message = `not ready ${this.readyTimeoutMs / 1000} s after its restart (${h?.state ?? 'no state'} on ${p.host})`;
        this.finish('failed', `${p.slot} on ${p.host} ${p.message}; rollout stopped`, nowMs);
        return started;
      }
      isBatchOpen = true;
    }
    if (isBatchOpen) return started;

    const pending = this.progress.filter((p) => p.result === 'pending');
    for (const p of pending) {
      if (holderOf(p.slot) === null) {
        p.result = 'skipped';
        p.message = 'not held by any host (placed again with the current settings)';
      }
    }
    const todo = pending.filter((p) => p.result === 'pending');
    if (todo.length === 0) {
      const restarted = this.progress.filter((p) => p.result === 'restarted').length;
      const skipped = this.progress.filter((p) => p.result === 'skipped').length;
      this.finish('done', `restarted ${restarted} of ${this.progress.length} instances${skipped > 0 ? ` (${skipped} not running, skipped)` : ''}`, nowMs);
      return started;
    }
    const floor = this.progress.length - this.maxUnavailable;
    const room = Math.min(this.maxUnavailable, ready - floor);
    const candidates = todo.filter((p) => isReady(p.slot));
    if (room <= 0 || candidates.length === 0) {
      this.blockedSinceMs ??= nowMs;
      this.message = `waiting: ${ready} of ${this.progress.length} ready, at least ${floor} must stay ready`;
      if (nowMs - this.blockedSinceMs >= this.readyTimeoutMs) {
        this.finish('failed', `only ${ready} of ${this.progress.length} instances ready for ${this.readyTimeoutMs / 1000} s; cannot restart more without going below ${floor}; rollout stopped`, nowMs);
      }
      return started;
    }
    this.blockedSinceMs = null;
    for (const p of candidates.slice(0, room)) {
      const holder = holderOf(p.slot)!.node;
      p.result = 'restarting';
      p.host = holder;
      p.askedAtMs = nowMs;
      p.message = 'restart asked';
      started.set(p.slot, holder);
    }
    const done = this.progress.filter((p) => p.result === 'restarted').length;
    this.message = `restarting ${[...started.keys()].join(', ')} (${done} of ${this.progress.length} done)`;
    return started;
  }

  abort(nowMs: number, why: string): void {
    if (this.isRunning) this.finish('aborted', why, nowMs);
  }

  private finish(status: RolloutStatus, message: string, nowMs: number): void {
    this.status = status;
    this.message = message;
    this.finishedAtMs = nowMs;
    for (const p of this.progress) {
      if (p.result === 'pending') {
        p.result = 'untouched';
        p.message = 'not restarted';
      }
    }
  }

  report(nowMs: number): RolloutReport {
    const end = this.finishedAtMs ?? nowMs;
    return {
      service: this.service,
      token: this.token,
      status: this.status,
      max_unavailable: this.maxUnavailable,
      instances: this.progress.length,
      min_ready_allowed: Math.max(0, this.progress.length - this.maxUnavailable),
      min_ready_seen: this.minReadySeen,
      min_ready_states: { ...this.minReadyStates },
      started_at: this.startedAtMs / 1000,
      finished_at: this.finishedAtMs === null ? null : this.finishedAtMs / 1000,
      elapsed_s: Math.round(end - this.startedAtMs) / 1000,
      message: this.message,
      detail: this.progress.map((p) => ({
        instance_id: p.slot,
        host: p.host,
        result: p.result,
        ready_after_s: p.askedAtMs !== null && p.readyAtMs !== null ? Math.round(p.readyAtMs - p.askedAtMs) / 1000 : null,
        message: p.message,
      })),
    };
  }
}
