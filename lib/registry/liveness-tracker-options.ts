/** The liveness tracker's options, limits, events and results. */
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { AfterPendingInput } from './after-pending-input.js';
import type { AgentStatusEvent } from './agent-status-event.js';

/** No heartbeat for this long ⇒ expired (OCS `agent_timeout`). */
export const AGENT_EXPIRY_MS = 5000;
/** Expired agents are forgotten after this long. */
export const AGENT_RETENTION_MS = 24 * 60 * 60 * 1000;
export const MAX_TRACKED_AGENTS = 50_000;

export interface LivenessTrackerOptions {
  /** `hub.address_root`; heartbeats of addresses outside `{root}.` are junk. */
  addressRoot: string;
  clock?: Clock;
  /** Default AGENT_EXPIRY_MS. */
  agentTimeoutMs?: number;
  /** Default AGENT_RETENTION_MS; Infinity keeps expired agents forever. */
  retentionMs?: number;
  /** Default MAX_TRACKED_AGENTS. */
  maxAgents?: number;
  /** Default MAX_OPS_PER_AGENT. */
  maxOpsPerAgent?: number;
  /** Default MAX_NAME_LENGTH. */
  maxNameLength?: number;
  /** Agent identities in use: only a publisher whose authid is the instance id beats for an address (heartbeat-parser.ts). */
  requirePublisherIdentity?: boolean;
  /** At most one warning per drop reason per this interval. Default RATE_LIMIT_INTERVAL_MS. */
  warnIntervalMs?: number;
  /** Confirms due deadlines after pending input (after-pending-input.ts); default `afterCheckPhase()`. */
  afterPendingInput?: AfterPendingInput;
  logger?: Logger;
}

export interface LivenessTrackerEvents {
  change: [event: AgentStatusEvent];
}

export interface LivenessTrackerStats {
  agents: number;
  live: number;
  expired: number;
  /** Heartbeats dropped since construction, per reason. */
  dropped: Record<string, number>;
}

export type RestoreResult = { ok: true; restored: number; skipped: number } | { ok: false; error: string };

/** Why a heartbeat was dropped after parsing. */
export const TRACKER_FULL = 'tracker_full';
