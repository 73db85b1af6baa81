import { z } from 'zod';
import { RUNTIME_EXPECT_VALUES } from '../../lib/orchestrator/service-intent.js';

/** Parameters of the orchestrator's ops (validated at the callee; OCS style, snake_case). */

const NameSchema = z.string().min(1).max(255);

/** The `orchestrator` process takes no parameters. */
export const OrchestratorProcessParamsSchema = z.object({}).strict();

export const SetExpectParamsSchema = z
  .object({
    service: NameSchema,
    global_expect: z.enum(RUNTIME_EXPECT_VALUES),
  })
  .strict();

/** `scope`: `'node'` (this host) or one service name or a list of them (on this host). */
export const FreezeParamsSchema = z
  .object({
    scope: z.union([z.literal('node'), NameSchema, z.array(NameSchema).min(1)]).default('node'),
  })
  .strict();
export type FreezeParams = z.infer<typeof FreezeParamsSchema>;

export const RelocateParamsSchema = z
  .object({
    service: NameSchema,
    to: NameSchema,
  })
  .strict();

/** `node`: the host whose start_failed / stop_failed is lifted (default: this one). */
export const ClearParamsSchema = z
  .object({
    service: NameSchema,
    node: NameSchema.nullable().optional(),
  })
  .strict();

/** The services a freeze/thaw scope names, or null for the node. */
export function scopeServices(scope: FreezeParams['scope']): string[] | null {
  if (scope === 'node') return null;
  return typeof scope === 'string' ? [scope] : scope;
}

/**
 * `rollout(service, max_unavailable=1, timeout=60, min_ready=1)`: `timeout` bounds each
 * instance's way back to RUNNING, `min_ready` how long it must stay RUNNING before the next batch (seconds).
 */
export const RolloutParamsSchema = z
  .object({
    service: NameSchema,
    max_unavailable: z.number().int().min(1).default(1),
    timeout: z.number().positive().max(3600).default(60),
    min_ready: z.number().min(0).max(600).default(1),
  })
  .strict();
