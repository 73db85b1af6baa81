/**
 * The Registry's change events. `LivenessTracker` emits one at the moment each change happens;
 * the RegistryAgent publishes them (after `encodeAgentStatusEvent`) on the non-recorded feed
 * `{registry_address}.feeds.agent_status`, and `RegistryWatcher` follows them.
 *
 * Every event is a JSON object with snake_case keys, in this order:
 *
 * | key | type | meaning |
 * |---|---|---|
 * | `event` | string | one of `AgentStatusEventName` |
 * | `agent_address` | string | `{address_root}.{instance_id}` |
 * | `agent_class` | string \| null | from the heartbeat's feed |
 * | `time` | float | unix seconds at which the change happened (the heartbeat's arrival; for an expiry, the moment the passed deadline was confirmed, normally within milliseconds of it; the retention end) |
 * | `session_id` | string \| null | the agent's feed `session_id` (identifies the agent process) |
 * | …event fields | | below |
 * | `record` | object | the agent's OCS record (`AgentRecord`, same as in `main`'s session.data) after the change; for `agent.forgotten`, as it was when forgotten |
 *
 * Event fields:
 * - `agent.appeared`: none (the ops are in `record.op_codes`). First heartbeat of an unknown address.
 * - `agent.op_changed`: `op_name`, `op_code_before` (null: the op is new), `op_code_after` (null:
 *   the heartbeat no longer lists the op, which is dropped). One event per op, for changes reported
 *   by a heartbeat of a live agent whose process did not change.
 * - `agent.expired`: `op_codes_before`. No heartbeat for `agentTimeoutMs`; every op code is now 7
 *   (EXPIRED) and `record.time_expired` is set.
 * - `agent.recovered`: `time_expired_before` (float), `op_codes_before`. A heartbeat from an expired
 *   agent whose process did not change.
 * - `agent.restarted`: `session_id_before`, `was_expired` (bool), `op_codes_before`. A heartbeat
 *   with a new feed `session_id`: a new process. Its op codes replace the old ones, so ops the new
 *   process no longer has are gone.
 * - `agent.forgotten`: `reason` (`retention`: expired for longer than the retention;
 *   `evicted`: removed to make room for a new agent when the tracker was full).
 *
 * Op-code changes that come with appeared / expired / recovered / restarted are described by
 * that event (`op_codes_before` vs `record.op_codes`), not by extra `agent.op_changed` events.
 * Every event's `time` equals the freshest time in its record (`max(last_updated,
 * time_expired)`), except `agent.forgotten`, whose time is later; consumers can drop stale events
 * by comparing the two.
 */
import { z } from 'zod';
import { WampFloat } from '../wamp/float.js';
import { AgentRecordSchema, WireNumberSchema, encodeRecord, type AgentRecord } from './agent-record.js';

export const AgentStatusEventName = {
  APPEARED: 'agent.appeared',
  OP_CHANGED: 'agent.op_changed',
  EXPIRED: 'agent.expired',
  RECOVERED: 'agent.recovered',
  RESTARTED: 'agent.restarted',
  FORGOTTEN: 'agent.forgotten',
} as const;
export type AgentStatusEventName = (typeof AgentStatusEventName)[keyof typeof AgentStatusEventName];

export const ForgetReason = {
  RETENTION: 'retention',
  EVICTED: 'evicted',
} as const;
export type ForgetReason = (typeof ForgetReason)[keyof typeof ForgetReason];

interface EventBase {
  agent_address: string;
  agent_class: string | null;
  /** Unix seconds. */
  time: number;
  session_id: string | null;
}

export interface AgentAppearedEvent extends EventBase {
  event: 'agent.appeared';
  record: AgentRecord;
}

export interface AgentOpChangedEvent extends EventBase {
  event: 'agent.op_changed';
  op_name: string;
  op_code_before: number | null;
  op_code_after: number | null;
  record: AgentRecord;
}

export interface AgentExpiredEvent extends EventBase {
  event: 'agent.expired';
  op_codes_before: Record<string, number>;
  record: AgentRecord;
}

export interface AgentRecoveredEvent extends EventBase {
  event: 'agent.recovered';
  /** Unix seconds at which the agent had expired. */
  time_expired_before: number;
  op_codes_before: Record<string, number>;
  record: AgentRecord;
}

export interface AgentRestartedEvent extends EventBase {
  event: 'agent.restarted';
  session_id_before: string;
  was_expired: boolean;
  op_codes_before: Record<string, number>;
  record: AgentRecord;
}

export interface AgentForgottenEvent extends EventBase {
  event: 'agent.forgotten';
  reason: ForgetReason;
  record: AgentRecord;
}

export type AgentStatusEvent =
  | AgentAppearedEvent
  | AgentOpChangedEvent
  | AgentExpiredEvent
  | AgentRecoveredEvent
  | AgentRestartedEvent
  | AgentForgottenEvent;

/** The event as it is published: same keys and order, times marked as floats. */
export function encodeAgentStatusEvent(event: AgentStatusEvent): Record<string, unknown> {
  const wire: Record<string, unknown> = { ...event, time: new WampFloat(event.time), record: encodeRecord(event.record) };
  if (event.event === 'agent.recovered') wire['time_expired_before'] = new WampFloat(event.time_expired_before);
  return wire;
}

const opCodeMap = z.record(z.string(), WireNumberSchema.pipe(z.int()));
const base = {
  agent_address: z.string().min(1),
  agent_class: z.string().nullable(),
  time: WireNumberSchema,
  session_id: z.string().nullable(),
  record: AgentRecordSchema,
};

/** What a subscriber to `agent_status` accepts (unknown extra keys are kept). */
export const AgentStatusEventSchema = z.discriminatedUnion('event', [
  z.looseObject({ event: z.literal('agent.appeared'), ...base }),
  z.looseObject({
    event: z.literal('agent.op_changed'),
    ...base,
    op_name: z.string(),
    op_code_before: WireNumberSchema.pipe(z.int()).nullable(),
    op_code_after: WireNumberSchema.pipe(z.int()).nullable(),
  }),
  z.looseObject({ event: z.literal('agent.expired'), ...base, op_codes_before: opCodeMap }),
  z.looseObject({ event: z.literal('agent.recovered'), ...base, time_expired_before: WireNumberSchema, op_codes_before: opCodeMap }),
  z.looseObject({
    event: z.literal('agent.restarted'),
    ...base,
    session_id_before: z.string(),
    was_expired: z.boolean(),
    op_codes_before: opCodeMap,
  }),
  z.looseObject({ event: z.literal('agent.forgotten'), ...base, reason: z.enum(['retention', 'evicted']) }),
]);
