import { z } from 'zod';
import { SignalSchema, READY_MODES, ChildIdSchema } from '../../lib/supervisor/child-record.js';
import { REMOVE_MODES } from '../../lib/supervisor/child-state.js';
import { RESTART_MODES } from '../../lib/supervisor/restart-policy.js';
import { MISSED_POLICIES, SCHEDULE_ACTIONS, type ScheduleRequest } from '../../lib/supervisor/schedule.js';
import { parseByteSize, parsePercent } from '../../lib/site-config/resource-sizes.js';
import type { CreateParams, OpenParams } from '../../lib/supervisor/verb-params.js';
import { IdsSchema } from '../../lib/supervisor/verb-params.js';

/**
 * The HostManager's op parameters as they travel (snake_case, durations in seconds, times in
 * unix seconds, as OCS ops take them), and their translation into the supervisor core's verb
 * parameters (camelCase, milliseconds).
 */

const seconds = z.number().nonnegative();
const ms = (s: number) => Math.round(s * 1000);

/** `restart:` of create/open: the restart policy, snake_case, in seconds. */
export const RestartParamSchema = z
  .object({
    mode: z.enum(RESTART_MODES).optional(),
    success_exit_codes: z.array(z.number().int()).optional(),
    stop_exit_codes: z.array(z.number().int()).optional(),
    min_uptime_s: seconds.optional(),
    max_restarts: z.number().int().nonnegative().nullable().optional(),
    window_s: z.number().positive().nullable().optional(),
    backoff_initial_s: seconds.optional(),
    backoff_factor: z.number().min(1).optional(),
    backoff_max_s: seconds.optional(),
    backoff_jitter: z.number().min(0).max(1).optional(),
    reset_after_s: seconds.optional(),
    cooldown_s: z.number().positive().nullable().optional(),
  })
  .strict();
export type RestartParam = z.infer<typeof RestartParamSchema>;

function restartPolicyOf(p: RestartParam): NonNullable<CreateParams['restart']> {
  const out: NonNullable<CreateParams['restart']> = {};
  if (p.mode !== undefined) out.mode = p.mode;
  if (p.success_exit_codes !== undefined) out.successExitCodes = p.success_exit_codes;
  if (p.stop_exit_codes !== undefined) out.stopExitCodes = p.stop_exit_codes;
  if (p.min_uptime_s !== undefined) out.minUptimeMs = ms(p.min_uptime_s);
  if (p.max_restarts !== undefined) out.maxRestarts = p.max_restarts;
  if (p.window_s !== undefined) out.windowMs = p.window_s === null ? null : ms(p.window_s);
  if (p.backoff_initial_s !== undefined) out.backoffInitialMs = ms(p.backoff_initial_s);
  if (p.backoff_factor !== undefined) out.backoffFactor = p.backoff_factor;
  if (p.backoff_max_s !== undefined) out.backoffCapMs = ms(p.backoff_max_s);
  if (p.backoff_jitter !== undefined) out.backoffJitter = p.backoff_jitter;
  if (p.reset_after_s !== undefined) out.resetAfterMs = ms(p.reset_after_s);
  if (p.cooldown_s !== undefined) out.cooldownMs = p.cooldown_s === null ? null : ms(p.cooldown_s);
  return out;
}

/** Schedule keys shared by `create` and `schedule`: one of start_at, delay_s or cron. */
const scheduleShape = {
  /** Unix seconds. */
  start_at: z.number().optional(),
  delay_s: seconds.optional(),
  cron: z.string().min(1).optional(),
  tz: z.string().optional(),
  action: z.enum(SCHEDULE_ACTIONS).optional(),
  missed: z.enum(MISSED_POLICIES).optional(),
  /** Cron: also run right now (by default nothing runs before the first fire). */
  run_at_create: z.boolean().optional(),
};
type ScheduleKeys = { [K in keyof typeof scheduleShape]?: z.infer<(typeof scheduleShape)[K]> };

/** The schedule request in the params, or null when none of start_at, delay_s, cron is given. */
export function scheduleOf(p: ScheduleKeys): ScheduleRequest | null {
  if (p.start_at === undefined && p.delay_s === undefined && p.cron === undefined) return null;
  const out: ScheduleRequest = {};
  if (p.start_at !== undefined) out.atMs = ms(p.start_at);
  if (p.delay_s !== undefined) out.delayMs = ms(p.delay_s);
  if (p.cron !== undefined) out.cron = p.cron;
  if (p.tz !== undefined) out.tz = p.tz;
  if (p.action !== undefined) out.action = p.action;
  if (p.missed !== undefined) out.missed = p.missed;
  if (p.run_at_create !== undefined) out.runAtCreate = p.run_at_create;
  return out;
}

/** Why the schedule keys do not make one request (more than one of start_at, delay_s, cron), or null. */
export function scheduleProblem(p: ScheduleKeys): string | null {
  const given = (['start_at', 'delay_s', 'cron'] as const).filter((k) => p[k] !== undefined);
  return given.length > 1 ? `give only one of start_at, delay_s, cron (got ${given.join(', ')})` : null;
}

export const CreateOpParamsSchema = z
  .object({
    id: ChildIdSchema,
    cmd: z.array(z.string()).min(1),
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()).optional(),
    agent_class: z.string().optional(),
    restart: RestartParamSchema.optional(),
    /** At most this many restarts, ever (until reset): the C supervisor's restart-times. */
    restart_times: z.number().int().nonnegative().optional(),
    stop_signal: SignalSchema.optional(),
    stop_timeout_s: seconds.optional(),
    kill_timeout_s: seconds.optional(),
    ready: z.enum(READY_MODES).optional(),
    ready_timeout_s: z.number().positive().optional(),
    /** Restart the child when its heartbeats stay expired this long while its pid lives (default: off). */
    hung_restart_after_s: seconds.optional(),
    log_max_bytes: z.number().int().positive().optional(),
    log_keep: z.number().int().nonnegative().optional(),
    /** Resource limits as in the site file's supervise: block: `512M`, `'80%'`, open files. */
    memory_max: z.union([z.number(), z.string()]).refine((v) => parseByteSize(v) !== null, 'expected a size in bytes or with a K, M or G suffix such as 512M').optional(),
    cpu_max: z.union([z.number(), z.string()]).refine((v) => parsePercent(v) !== null, 'expected a percentage of one core such as 80%').optional(),
    nofile: z.number().int().min(16).optional(),
    ...scheduleShape,
    create_stopped: z.boolean().default(false),
  })
  .strict();
export type CreateOpParams = z.infer<typeof CreateOpParamsSchema>;

export function createParamsOf(p: CreateOpParams): CreateParams {
  const out: CreateParams = { id: p.id, cmd: p.cmd, createStopped: p.create_stopped };
  if (p.cwd !== undefined) out.cwd = p.cwd;
  if (p.env !== undefined) out.env = p.env;
  if (p.agent_class !== undefined) out.agentClass = p.agent_class;
  if (p.restart !== undefined) out.restart = restartPolicyOf(p.restart);
  if (p.restart_times !== undefined) out.restartTimes = p.restart_times;
  if (p.stop_signal !== undefined) out.stopSignal = p.stop_signal;
  if (p.stop_timeout_s !== undefined) out.stopTimeoutMs = ms(p.stop_timeout_s);
  if (p.kill_timeout_s !== undefined) out.killTimeoutMs = ms(p.kill_timeout_s);
  if (p.ready !== undefined) out.ready = p.ready;
  if (p.ready_timeout_s !== undefined) out.readyTimeoutMs = ms(p.ready_timeout_s);
  if (p.hung_restart_after_s !== undefined) out.hungRestartAfterMs = ms(p.hung_restart_after_s);
  if (p.log_max_bytes !== undefined || p.log_keep !== undefined) {
    out.log = {};
    if (p.log_max_bytes !== undefined) out.log.maxBytes = p.log_max_bytes;
    if (p.log_keep !== undefined) out.log.keep = p.log_keep;
  }
  if (p.memory_max !== undefined || p.cpu_max !== undefined || p.nofile !== undefined) {
    out.limits = {};
    if (p.memory_max !== undefined) out.limits.memoryMaxBytes = parseByteSize(p.memory_max);
    if (p.cpu_max !== undefined) out.limits.cpuMaxPercent = parsePercent(p.cpu_max);
    if (p.nofile !== undefined) out.limits.nofile = p.nofile;
  }
  const schedule = scheduleOf(p);
  if (schedule !== null) out.schedule = schedule;
  return out;
}

export const OpenOpParamsSchema = z
  .object({
    pid: z.number().int().positive(),
    id: ChildIdSchema.optional(),
    cmd: z.array(z.string()).min(1).optional(),
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()).optional(),
    expect_cmdline: z.string().optional(),
    restart: RestartParamSchema.optional(),
    stop_signal: SignalSchema.optional(),
    stop_timeout_s: seconds.optional(),
  })
  .strict();
export type OpenOpParams = z.infer<typeof OpenOpParamsSchema>;

export function openParamsOf(p: OpenOpParams): OpenParams {
  const out: OpenParams = { pid: p.pid };
  if (p.id !== undefined) out.id = p.id;
  if (p.cmd !== undefined) out.cmd = p.cmd;
  if (p.cwd !== undefined) out.cwd = p.cwd;
  if (p.env !== undefined) out.env = p.env;
  if (p.expect_cmdline !== undefined) out.expectCmdline = p.expect_cmdline;
  if (p.restart !== undefined) out.restart = restartPolicyOf(p.restart);
  if (p.stop_signal !== undefined) out.stopSignal = p.stop_signal;
  if (p.stop_timeout_s !== undefined) out.stopTimeoutMs = ms(p.stop_timeout_s);
  return out;
}

/** `ids`: one instance id, a list, or 'all'. */
export const IdsParamsSchema = z.object({ ids: IdsSchema }).strict();
export const KillParamsSchema = z.object({ ids: IdsSchema, signal: SignalSchema.default('SIGKILL') }).strict();
export const SignalParamsSchema = z.object({ id: ChildIdSchema, signal: SignalSchema }).strict();
export const RemoveOpParamsSchema = z.object({ ids: IdsSchema, running: z.enum(REMOVE_MODES).default('stop') }).strict();
export const CancelParamsSchema = z.object({ id: ChildIdSchema, keep: z.boolean().default(false) }).strict();

export const ScheduleOpParamsSchema = z
  .object({
    id: ChildIdSchema,
    ...scheduleShape,
    /** Removes the child's schedule (a PENDING child goes STOPPED). */
    clear: z.boolean().default(false),
  })
  .strict();
export type ScheduleOpParams = z.infer<typeof ScheduleOpParamsSchema>;

export const LogsOpParamsSchema = z
  .object({
    id: ChildIdSchema,
    stream: z.enum(['stdout', 'stderr', 'both']).default('both'),
    lines: z.number().int().positive().max(10_000).default(100),
  })
  .strict();

export const DieOpParamsSchema = z
  .object({
    /** Leave the children running (the next HostManager re-adopts them). */
    disown: z.boolean().default(false),
    timeout_s: z.number().positive().default(30),
  })
  .strict();

/**
 * One `requests` entry: `[instance_id | 'all', 'up' | 'down']` (lists or tuples). The entries
 * are checked one by one when applied (an invalid one gives a message, as in OCS), so the schema
 * only asks for a list of pairs.
 */
export const RequestsSchema = z.array(z.array(z.unknown()));

export const UpdateOpParamsSchema = z
  .object({
    requests: RequestsSchema.default([]),
    reload_config: z.boolean().default(false),
  })
  .strict();

export const ManagerParamsSchema = z
  .object({
    requests: RequestsSchema.default([]),
    reload_config: z.boolean().default(true),
  })
  .strict();
