/**
 * The orchestrator's vocabulary: its options and their defaults, the configuration a HostManager
 * gives it, and what a tick returns (commands for the local supervisor, the placement message,
 * the snapshot).
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { SiteServiceConfig } from '../site-config/schema.js';
import type { PlacementMessage } from './placement-message.js';
import type { OrchestratorSnapshot } from './orchestrator-snapshot.js';

export interface OrchestratorOptions {
  /** A host must be not alive this long before its instances fail over. */
  failoverGraceMs: number;
  /** Between a claim and the start. Must exceed the placement feed's delivery delay. */
  readyPeriodMs: number;
  /** A registry younger than this is not trusted (its table is still filling). Longer than one expiry period. */
  registryWarmupMs: number;
  /** A host's placement feed older than this (local receipt time) makes it not alive. */
  placementStaleMs: number;
  /**
   * How long a run of failed registry polls (a lost answer, a call that timed out) only holds
   * the decisions: liveness stays as last judged, claims wait, nothing starts or stops. Past it:
   * blind, 'registry unavailable'. One failed poll therefore neither restarts the grace periods
   * nor withdraws a claim.
   */
  registryToleranceMs: number;
  /** Publish at least this often (and on every change). */
  publishIntervalMs: number;
  /** No cluster decisions in the first this-long of this orchestrator (the peers' feeds arrive). */
  startupHoldMs: number;
  /** A start that has not reached RUNNING after this long → start_failed. */
  startTimeoutMs: number;
  /** A stop whose process still lives after this long → stop_failed. */
  stopTimeoutMs: number;
  /** The default maintenance window announced by `beginMaintenance`. */
  maintenanceMs: number;
}

export const DEFAULT_ORCHESTRATOR_OPTIONS: Readonly<OrchestratorOptions> = Object.freeze({
  failoverGraceMs: 5000,
  readyPeriodMs: 3000,
  registryWarmupMs: 7000,
  placementStaleMs: 10_000,
  registryToleranceMs: 4500,
  publishIntervalMs: 2000,
  startupHoldMs: 4000,
  startTimeoutMs: 60_000,
  stopTimeoutMs: 60_000,
  maintenanceMs: 120_000,
});

/** What the orchestrator reads of a service declaration (a site-config `services:` entry fits). */
export type ServiceDeclaration = Pick<SiteServiceConfig, 'instances' | 'hosts' | 'placement' | 'globalExpect'>;

export interface OrchestratorConfig {
  /** This host's name, as listed under a service's `hosts`. */
  node: string;
  services: Readonly<Record<string, ServiceDeclaration>>;
  clock: Clock;
  logger?: Logger;
  /** The registry address of a host's HostManager, e.g. `(h) => \`${root}.hm-${h}\``. */
  supervisorAddress: (node: string) => string;
  /** The HostManager op whose code tells that a host is managing (default `manager`). */
  managerOpName?: string;
  /** This host's 1-minute load average, published for the view. */
  load1?: () => number | null;
  /** Tells this run's messages from a previous run's (default: the clock at construction). */
  incarnation?: number;
  options?: Partial<OrchestratorOptions>;
}

export const COMMAND_TYPES = ['start', 'stop', 'restart', 'freeze', 'thaw'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

export interface OrchestratorCommand {
  type: CommandType;
  instanceId: string;
  service: string;
  reason: string;
}

export interface TickResult {
  commands: OrchestratorCommand[];
  /** The message to publish on the placement feed now, or null. */
  placement: PlacementMessage | null;
  /** The state to persist, when it changed since the last tick; else null. */
  snapshot: OrchestratorSnapshot | null;
}

export interface OrchestratorReply {
  ok: boolean;
  message: string;
}

export type OrchestratorRestoreResult = { ok: true } | { ok: false; error: string };

export interface FailoverRecord {
  instance_id: string;
  from: string;
  to: string;
  /** Local wall clock, unix seconds. */
  at: number;
  reason: string;
}
