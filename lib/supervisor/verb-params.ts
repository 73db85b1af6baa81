import { z } from 'zod';
import { InvalidParamsError } from '../errors.js';
import { ChildIdSchema, LimitsSchema, LogPolicySchema, READY_MODES, SignalSchema } from './child-record.js';
import { REMOVE_MODES } from './child-state.js';
import { LOG_STREAMS } from './log-files.js';
import { RestartPolicySchema } from './restart-policy.js';
import { ScheduleRequestSchema } from './schedule.js';

/**
 * Parameters of the supervisor verbs. The core parses them (InvalidParamsError on bad input);
 * the agent layer can reuse the same schemas for its op parameters.
 */

/** One id, a list of ids, or 'all'. */
export const IdsSchema = z.union([z.literal('all'), ChildIdSchema, z.array(ChildIdSchema)]);
export type Ids = z.infer<typeof IdsSchema>;

export const CreateParamsSchema = z
  .object({
    id: ChildIdSchema,
    cmd: z.array(z.string()).min(1),
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()).optional(),
    agentClass: z.string().optional(),
    restart: RestartPolicySchema.partial().optional(),
    /** The C supervisor's restart-times: at most N restarts, ever (until reset). */
    restartTimes: z.number().int().nonnegative().optional(),
    stopSignal: SignalSchema.optional(),
    stopTimeoutMs: z.number().int().nonnegative().optional(),
    killTimeoutMs: z.number().int().nonnegative().optional(),
    ready: z.enum(READY_MODES).optional(),
    readyTimeoutMs: z.number().int().positive().optional(),
    hungRestartAfterMs: z.number().int().nonnegative().nullable().optional(),
    log: LogPolicySchema.partial().optional(),
    /** memory-max / cpu-max / nofile of the site file's supervise: block, for a created child. */
    limits: LimitsSchema.partial().optional(),
    /** Start later instead of now (at / after a delay / cron). */
    schedule: ScheduleRequestSchema.optional(),
    /** Create without starting (target down). */
    createStopped: z.boolean().optional(),
  })
  .strict();
export type CreateParams = z.input<typeof CreateParamsSchema>;

export const OpenParamsSchema = z
  .object({
    pid: z.number().int().positive(),
    /** Defaults to pid-<pid>. */
    id: ChildIdSchema.optional(),
    /** A command to run it again with after it exits (needs exec enabled). Without it the child is passive. */
    cmd: z.array(z.string()).min(1).optional(),
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()).optional(),
    /** Refuse unless the process's command line contains this text. */
    expectCmdline: z.string().optional(),
    restart: RestartPolicySchema.partial().optional(),
    stopSignal: SignalSchema.optional(),
    stopTimeoutMs: z.number().int().nonnegative().optional(),
  })
  .strict();
export type OpenParams = z.input<typeof OpenParamsSchema>;

export const RemoveParamsSchema = z
  .object({
    ids: IdsSchema,
    /** What happens to a running process: stop it, kill it, or leave it running untracked. */
    running: z.enum(REMOVE_MODES).default('stop'),
  })
  .strict();
export type RemoveParams = z.input<typeof RemoveParamsSchema>;

export const LogsParamsSchema = z
  .object({
    id: ChildIdSchema,
    stream: z.enum([...LOG_STREAMS, 'both']).default('both'),
    lines: z.number().int().positive().max(10_000).default(100),
  })
  .strict();
export type LogsParams = z.input<typeof LogsParamsSchema>;

export const DieParamsSchema = z
  .object({
    /** stop: stop every child (desired state unchanged on disk); disown: leave them running. */
    mode: z.enum(['stop', 'disown']).default('stop'),
    timeoutMs: z.number().int().positive().default(30_000),
  })
  .strict();
export type DieParams = z.input<typeof DieParamsSchema>;

export const UpdateRequestSchema = z.tuple([z.union([z.literal('all'), ChildIdSchema]), z.enum(['up', 'down'])]);
export const UpdateParamsSchema = z.array(UpdateRequestSchema);
export type UpdateRequest = z.infer<typeof UpdateRequestSchema>;

/** Parses or throws InvalidParamsError with the zod issues. */
export function parseParams<S extends z.ZodType>(schema: S, value: unknown, verb: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const text = z.prettifyError(parsed.error).replace(/\n/g, '; ');
  throw new InvalidParamsError(`invalid parameters for ${verb}: ${text}`, { details: { issues: parsed.error.issues } });
}
