/**
 * The Registry's per-agent record, as OCS's `RegisteredAgent.encoded()` writes it into the
 * `main` process's `session.data` (ocs-protocol §3.3), keys in OCS order:
 *
 * ```json
 * {"expired": false, "time_expired": null, "last_updated": 1669925713.408,
 *  "op_codes": {"record": 3}, "agent_class": "AggregatorAgent", "agent_address": "observatory.aggregator"}
 * ```
 *
 * Times are unix seconds. In memory they are plain numbers; on the wire (`encodeRecord`) they are
 * `WampFloat`s so that a time that happens to be integral still reaches Python as a float.
 */
import { z } from 'zod';
import { WampFloat, isWampFloat } from '../wamp/float.js';

export interface AgentRecord {
  expired: boolean;
  /** Unix seconds at which the agent expired; null while it is live. */
  time_expired: number | null;
  /** Unix seconds of the last heartbeat. */
  last_updated: number;
  /** op_name → op code (OCS `OpCode`; all 7 once expired). */
  op_codes: Record<string, number>;
  agent_class: string | null;
  agent_address: string;
}

/** An `AgentRecord` as it is sent: same keys and order, times marked as floats. */
export interface WireAgentRecord {
  expired: boolean;
  time_expired: WampFloat | null;
  last_updated: WampFloat;
  op_codes: Record<string, number>;
  agent_class: string | null;
  agent_address: string;
}

/** A number as a subscriber may decode it: plain, or still wrapped as a float by the codec. */
export const WireNumberSchema = z.preprocess((v) => (isWampFloat(v) ? v.value : v), z.number());

/** What a consumer (RegistryWatcher, `scan --use-registry`) accepts from the wire. */
export const AgentRecordSchema = z.object({
  expired: z.boolean(),
  time_expired: WireNumberSchema.nullable(),
  last_updated: WireNumberSchema,
  op_codes: z.record(z.string(), WireNumberSchema.pipe(z.int())),
  agent_class: z.string().nullable(),
  agent_address: z.string().min(1),
});

/** The wire form of a record, in OCS key order, with its times marked as floats (op_codes is shared, not copied). */
export function encodeRecord(record: AgentRecord): WireAgentRecord {
  return {
    expired: record.expired,
    time_expired: record.time_expired === null ? null : new WampFloat(record.time_expired),
    last_updated: new WampFloat(record.last_updated),
    op_codes: record.op_codes,
    agent_class: record.agent_class,
    agent_address: record.agent_address,
  };
}
