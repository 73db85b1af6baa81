/**
 * What an Orchestrator persists between runs (the HostManager writes it into its state file):
 * epochs, claims, the blocks that wait for `clear`, freezes and the cluster intents. Read back
 * through `OrchestratorSnapshotSchema` because a state file is an edge.
 */
import { z } from 'zod';
import { MONITOR } from './placement-message.js';
import { ServiceIntentSchema } from './service-intent.js';

export const ORCHESTRATOR_SNAPSHOT_VERSION = 1;

/** Monitors that survive a restart (the others describe work in progress, redone from the live view). */
export const PERSISTED_MONITORS = [MONITOR.START_FAILED, MONITOR.STOP_FAILED, MONITOR.LOCAL_STOPPED] as const;

const CountSchema = z.int().nonnegative();

export const OrchestratorSnapshotSchema = z.object({
  version: z.literal(ORCHESTRATOR_SNAPSHOT_VERSION),
  node: z.string().min(1),
  frozen: z.boolean(),
  frozen_services: z.array(z.string()),
  /** Greatest epoch seen per instance-id. */
  epochs: z.record(z.string(), CountSchema),
  /** This host's claim per instance-id. */
  claims: z.record(z.string(), z.object({ epoch: CountSchema, claim_at_ms: z.number().nullable() })),
  monitors: z.record(z.string(), z.enum(PERSISTED_MONITORS)),
  intents: z.record(z.string(), ServiceIntentSchema),
  clears: z.record(z.string(), z.record(z.string(), CountSchema)),
  /** The greatest clear request acted on, per service. */
  clears_handled: z.record(z.string(), CountSchema),
});
export type OrchestratorSnapshot = z.infer<typeof OrchestratorSnapshotSchema>;
