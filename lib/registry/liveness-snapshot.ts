/**
 * The state `LivenessTracker.snapshot()` returns and `restore()` takes, for the RegistryAgent's
 * `--state-file`: plain JSON, snake_case, times in integer-safe epoch milliseconds. Expired agents
 * are included so they stay listed (until their retention ends) across a Registry restart.
 */
import { z } from 'zod';

export const LIVENESS_SNAPSHOT_VERSION = 1;

export const SnapshotAgentSchema = z.object({
  agent_address: z.string().min(1),
  agent_class: z.string().nullable(),
  session_id: z.string().nullable(),
  op_codes: z.record(z.string(), z.int()),
  /** Epoch ms of the last heartbeat. */
  last_beat_ms: z.number().finite(),
  expired: z.boolean(),
  /** Epoch ms of the expiry; null while live. */
  expired_at_ms: z.number().finite().nullable(),
});
export type SnapshotAgent = z.infer<typeof SnapshotAgentSchema>;

/** The file's envelope. Agents are checked one by one, so one bad entry does not lose the rest. */
export const LivenessSnapshotSchema = z.object({
  version: z.literal(LIVENESS_SNAPSHOT_VERSION),
  saved_at_ms: z.number().finite(),
  agents: z.array(z.unknown()),
});

export interface LivenessSnapshot {
  version: typeof LIVENESS_SNAPSHOT_VERSION;
  saved_at_ms: number;
  agents: SnapshotAgent[];
}
