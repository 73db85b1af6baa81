/**
 * One agent as the liveness tracker keeps it, and what is derived from it alone: its OCS record,
 * its snapshot entry, its `agent_operations` blocks, and the op-code updates a heartbeat brings.
 * The transitions (appear, expire, recover, restart, forget) and the timers stay in
 * liveness-tracker.ts.
 */
import type { TimerHandle } from '../clock.js';
import type { SingleSampleBlock } from '../feeds/feed.js';
import type { AgentRecord } from './agent-record.js';
import type { LivenessSnapshot } from './liveness-snapshot.js';
import { operationField } from './operation-field.js';

export interface TrackedAgent {
  readonly address: string;
  agentClass: string | null;
  sessionId: string | null;
  opCodes: Map<string, number>;
  /** op name → agent_operations field (null: invalid, skipped); filled on first use. */
  fields: Map<string, string | null> | undefined;
  lastBeatMs: number;
  deadlineMs: number;
  isExpired: boolean;
  expiredAtMs: number | null;
  timer: TimerHandle | undefined;
  timerDueMs: number;
  /** Cancels the pending expiry confirmation (liveness-tracker.ts); undefined when none is pending. */
  cancelConfirm: (() => void) | undefined;
  readonly fire: () => void;
  readonly confirm: () => void;
}

export type OpChange = [opName: string, before: number | null, after: number | null];

export function opCodesObject(opCodes: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, code] of opCodes) out[name] = code;
  return out;
}

export function toRecord(agent: TrackedAgent): AgentRecord {
  return {
    expired: agent.isExpired,
    time_expired: agent.expiredAtMs === null ? null : agent.expiredAtMs / 1000,
    last_updated: agent.lastBeatMs / 1000,
    op_codes: opCodesObject(agent.opCodes),
    agent_class: agent.agentClass,
    agent_address: agent.address,
  };
}

export function snapshotEntry(agent: TrackedAgent): LivenessSnapshot['agents'][number] {
  return {
    agent_address: agent.address,
    agent_class: agent.agentClass,
    session_id: agent.sessionId,
    op_codes: opCodesObject(agent.opCodes),
    last_beat_ms: agent.lastBeatMs,
    expired: agent.isExpired,
    expired_at_ms: agent.expiredAtMs,
  };
}

/**
 * Same process: the heartbeat lists every op (ocs-protocol §3.1), so its op codes replace the
 * stored ones; an op it no longer lists is dropped. Returns the changes, or undefined for none.
 */
export function applyOpCodes(agent: TrackedAgent, incoming: Readonly<Record<string, number>>): OpChange[] | undefined {
  let changes: OpChange[] | undefined;
  let count = 0;
  for (const name in incoming) {
    count++;
    const code = incoming[name] as number;
    const before = agent.opCodes.get(name);
    if (before !== code) {
      agent.opCodes.set(name, code);
      (changes ??= []).push([name, before ?? null, code]);
    }
  }
  if (count !== agent.opCodes.size) {
    for (const [name, before] of agent.opCodes) {
      if (Object.hasOwn(incoming, name)) continue;
      agent.opCodes.delete(name);
      agent.fields?.delete(name);
      (changes ??= []).push([name, before, null]);
    }
  }
  return changes;
}

/** A new process (or a recovery): its op codes, and only those. */
export function replaceOpCodes(agent: TrackedAgent, incoming: Readonly<Record<string, number>>): void {
  agent.opCodes = new Map();
  for (const name in incoming) agent.opCodes.set(name, incoming[name] as number);
  agent.fields = undefined;
}

/**
 * The agent's `agent_operations` blocks (one per op, OCS's single sample). An op whose name makes
 * no valid field is skipped and reported once through `warn`.
 */
export function pushOperationBlocks(agent: TrackedAgent, nowS: number, blocks: SingleSampleBlock[], warn: (fields: Record<string, unknown>) => void): void {
  for (const [opName, code] of agent.opCodes) {
    const field = fieldFor(agent, opName, warn);
    if (field !== null) blocks.push({ block_name: field, timestamp: nowS, data: { [field]: BigInt(code) } });
  }
}

function fieldFor(agent: TrackedAgent, opName: string, warn: (fields: Record<string, unknown>) => void): string | null {
  const fields = (agent.fields ??= new Map());
  let field = fields.get(opName);
  if (field === undefined) {
    const result = operationField(agent.address, opName);
    field = result.ok ? result.field : null;
    if (!result.ok) warn({ agent_address: agent.address, op_name: opName, field: result.field, error: result.message });
    fields.set(opName, field);
  }
  return field;
}
