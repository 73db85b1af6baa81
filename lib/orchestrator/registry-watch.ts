/**
 * The Registry as the orchestrator reads it: the last table polled, since when the polls fail,
 * when the registry (re)started, and from that whether the decisions may trust it (`blindReason`).
 * Only local receipt times are compared with the local clock; the registry's own times are only
 * compared with one another.
 */
import type { Logger } from '../log.js';
import { OpCode } from '../ops/op-codes.js';
import type { OrchestratorOptions } from './orchestrator-types.js';
import type { RegistryAgentView, RegistryView } from './registry-view.js';

/** `manager` op codes of a host that is managing. */
const MANAGING_OP_CODES: ReadonlySet<number> = new Set([OpCode.RUNNING, OpCode.DEGRADED]);

export type RegistryWatchOptions = Pick<OrchestratorOptions, 'startupHoldMs' | 'registryToleranceMs' | 'placementStaleMs' | 'registryWarmupMs'>;

/** The `registry` part of the orchestrator's view. */
export interface RegistryWatchView {
  healthy: boolean;
  blind: boolean;
  blind_reason: string | null;
  warm: boolean;
  agents_seen: number;
  polled_at: number | null;
  /** Since when the polls fail (local clock, unix seconds); decisions hold until blind. */
  failing_since: number | null;
}

export class RegistryWatch {
  private view: RegistryView | null = null;
  private receivedAtMs: number | null = null;
  /** Since when the registry polls fail (null: the last one answered). */
  private failingSinceMs: number | null = null;
  private startSeen: { startedAtS: number; firstSeenAtMs: number } | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly options: RegistryWatchOptions,
    /** When this orchestrator started (local clock): no decisions in its first `startupHoldMs`. */
    private readonly startedAtMs: number,
  ) {}

  /** A poll's result (`REGISTRY_UNAVAILABLE` when it failed). */
  accept(view: RegistryView, receivedAtMs: number): void {
    if (!view.isAvailable) {
      // Decisions hold for registryToleranceMs, then blind (blindReason).
      if (this.failingSinceMs === null) {
        this.failingSinceMs = receivedAtMs;
        this.logger.warn({}, 'registry not read; decisions held');
      }
      if (this.view === null || !this.view.isAvailable) {
        this.view = view;
        this.receivedAtMs = receivedAtMs;
      }
      return;
    }
    if (this.failingSinceMs !== null) {
      this.logger.info({ failing_for_ms: receivedAtMs - this.failingSinceMs }, 'registry read again');
      this.failingSinceMs = null;
    }
    this.view = view;
    this.receivedAtMs = receivedAtMs;
    const startedAtS = view.registryStartedAtS;
    if (startedAtS !== null && (this.startSeen === null || this.startSeen.startedAtS !== startedAtS)) {
      if (this.startSeen !== null) this.logger.info({ registry_started_at: startedAtS }, 'registry restarted');
      this.startSeen = { startedAtS, firstSeenAtMs: receivedAtMs };
    }
  }

  /** Why the table cannot be trusted now (null: it can). */
  blindReason(now: number): string | null {
    if (now - this.startedAtMs < this.options.startupHoldMs) return 'starting';
    const view = this.view;
    if (view === null || this.receivedAtMs === null) return 'no registry view';
    if (!view.isAvailable) return 'registry unavailable';
    if (this.failingSinceMs !== null && now - this.failingSinceMs >= this.options.registryToleranceMs) return 'registry unavailable';
    if (now - this.receivedAtMs > this.options.placementStaleMs) return 'registry view stale';
    if (view.registryStartedAtS === null || this.startSeen === null) return 'registry start unknown';
    // The registry's age: on its own clock when it tells its time, else as seen from here since its start was first seen.
    let registryTimeS = view.registryTimeS ?? null;
    if (registryTimeS === null) {
      for (const agent of Object.values(view.agents)) {
        if (agent.last_updated !== undefined && (registryTimeS === null || agent.last_updated > registryTimeS)) registryTimeS = agent.last_updated;
      }
    }
    const registryAgeMs = registryTimeS === null ? 0 : (registryTimeS - view.registryStartedAtS) * 1000;
    const localAgeMs = now - this.startSeen.firstSeenAtMs;
    if (Math.max(registryAgeMs, localAgeMs) < this.options.registryWarmupMs) return 'registry warming up';
    return null;
  }

  /** The polls fail, for less than the tolerance so far (with a trusted view, decisions hold). */
  get isFailing(): boolean {
    return this.failingSinceMs !== null;
  }

  agent(address: string): RegistryAgentView | undefined {
    return this.view?.agents[address];
  }

  /** The registry lists the agent at `address` not expired, with `opName` running or degraded. */
  listsManaging(address: string, opName: string): boolean {
    const agent = this.agent(address);
    if (agent === undefined || agent.expired) return false;
    const code = agent.op_codes[opName];
    return code !== undefined && MANAGING_OP_CODES.has(code);
  }

  describe(blindReason: string | null): RegistryWatchView {
    const view = this.view;
    return {
      healthy: (view?.isAvailable ?? false) && this.failingSinceMs === null,
      blind: blindReason !== null,
      blind_reason: blindReason,
      warm: blindReason !== 'registry warming up' && view !== null,
      agents_seen: view === null ? 0 : Object.keys(view.agents).length,
      polled_at: this.receivedAtMs === null ? null : this.receivedAtMs / 1000,
      failing_since: this.failingSinceMs === null ? null : this.failingSinceMs / 1000,
    };
  }
}
