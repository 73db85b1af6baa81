/**
 * The reply of the management query `get_api` (ocs-protocol §1.5), validated where it enters
 * the client. Only what clients rely on is required (`agent_class`, `tasks`, `processes`, as
 * OCS's own client); unknown keys are kept.
 */
import { z } from 'zod';

export const OpTypeSchema = z.enum(['task', 'process']);
export type OpType = z.infer<typeof OpTypeSchema>;

/** The third element of a `tasks`/`processes` entry. */
export const ApiOpInfoSchema = z.looseObject({
  blocking: z.boolean().optional(),
  /** Tasks only: whether an aborter is registered. */
  abortable: z.boolean().optional(),
  docstring: z.string().nullish(),
  op_type: OpTypeSchema.optional(),
  min_privs: z.number().int().optional(),
});
export type ApiOpInfo = z.infer<typeof ApiOpInfoSchema>;

/** `[name, session_or_placeholder, op_info]`; the placeholder is `{op_name, status: "no_history"}`. */
export const OpEntrySchema = z.tuple([z.string(), z.record(z.string(), z.unknown()), ApiOpInfoSchema]);

export const AccessControlSchema = z.looseObject({
  version: z.number().int().optional(),
  policy: z.string().optional(),
  update_timestamp: z.number().optional(),
  update_count: z.number().int().optional(),
  step: z.number().int().optional(),
});

export const AgentApiSchema = z.looseObject({
  agent_class: z.string().nullable(),
  instance_hostname: z.string().optional(),
  instance_pid: z.number().int().optional(),
  feeds: z.array(z.tuple([z.string(), z.record(z.string(), z.unknown())])).optional(),
  processes: z.array(OpEntrySchema),
  tasks: z.array(OpEntrySchema),
  /** Its presence tells clients to send a password (ocs-protocol §5.1, §7). */
  access_control: AccessControlSchema.nullish(),
});
export type AgentApi = z.infer<typeof AgentApiSchema>;
