import { Cron } from 'croner';
import { z } from 'zod';
import { InvalidParamsError } from '../errors.js';

/**
 * Scheduled starts: once at a wall time (`at` or `after` a delay) or on a cron expression
 * (5 fields, or 6 with seconds first). Pure computation over wall-clock milliseconds.
 */

export const SCHEDULE_ACTIONS = ['start', 'restart'] as const;
export type ScheduleAction = (typeof SCHEDULE_ACTIONS)[number];

/** skip: a fire missed by more than the grace period is dropped; run_once: one catch-up run. */
export const MISSED_POLICIES = ['skip', 'run_once'] as const;
export type MissedPolicy = (typeof MISSED_POLICIES)[number];

/** A fire later than this after its due time counts as missed (supervisor down, clock jump). */
export const MISSED_GRACE_MS = 60_000;

export const ScheduleSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('once'),
      atMs: z.number(),
      action: z.enum(SCHEDULE_ACTIONS).default('start'),
      missed: z.enum(MISSED_POLICIES).default('run_once'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('cron'),
      cron: z.string().min(1),
      tz: z.string().nullable().default(null),
      action: z.enum(SCHEDULE_ACTIONS).default('start'),
      missed: z.enum(MISSED_POLICIES).default('skip'),
    })
    .strict(),
]);
export type Schedule = z.infer<typeof ScheduleSchema>;

/** What callers ask for; exactly one of atMs, delayMs or cron. */
export const ScheduleRequestSchema = z
  .object({
    atMs: z.number().optional(),
    delayMs: z.number().nonnegative().optional(),
    cron: z.string().min(1).optional(),
    tz: z.string().optional(),
    action: z.enum(SCHEDULE_ACTIONS).optional(),
    missed: z.enum(MISSED_POLICIES).optional(),
    /** Cron only: also start right now. By default nothing runs before the first fire. */
    runAtCreate: z.boolean().optional(),
  })
  .strict();
export type ScheduleRequest = z.infer<typeof ScheduleRequestSchema>;

function cronOf(expr: string, tz: string | null): Cron {
  try {
    return new Cron(expr, { paused: true, ...(tz ? { timezone: tz } : {}) });
  } catch (err) {
    throw new InvalidParamsError(`invalid cron expression '${expr}': ${(err as Error).message}`, { details: { cron: expr, tz } });
  }
}

/** Throws InvalidParamsError if the expression (or time zone) is not usable. */
export function validateCron(expr: string, tz: string | null = null): void {
  const next = cronOf(expr, tz).nextRun(new Date(0));
  if (next === null) throw new InvalidParamsError(`cron expression '${expr}' never fires`, { details: { cron: expr } });
}

/** Builds a schedule from a request at wall time `nowMs`. */
export function scheduleFromRequest(req: ScheduleRequest, nowMs: number): Schedule {
  const given = [req.atMs !== undefined, req.delayMs !== undefined, req.cron !== undefined].filter(Boolean).length;
  if (given !== 1) throw new InvalidParamsError('a schedule needs exactly one of at, delay or cron', { details: { ...req } });
  if (req.cron !== undefined) {
    validateCron(req.cron, req.tz ?? null);
    return { kind: 'cron', cron: req.cron, tz: req.tz ?? null, action: req.action ?? 'start', missed: req.missed ?? 'skip' };
  }
  const atMs = req.atMs ?? nowMs + (req.delayMs ?? 0);
  return { kind: 'once', atMs, action: req.action ?? 'start', missed: req.missed ?? 'run_once' };
}

/**
 * The first fire strictly after `afterMs`, or null when there is none. A one-shot fires at its
 * time even when that is already past (the caller applies the missed policy); once fired
 * (`lastFireMs` set) it never fires again.
 */
export function nextFireMs(schedule: Schedule, afterMs: number, lastFireMs: number | null = null): number | null {
  if (schedule.kind === 'once') return lastFireMs === null ? schedule.atMs : null;
  // Never fire twice for the same slot, even when the wall clock stepped back.
  const from = lastFireMs === null ? afterMs : Math.max(afterMs, lastFireMs);
  const next = cronOf(schedule.cron, schedule.tz).nextRun(new Date(from));
  return next === null ? null : next.getTime();
}

/** Whether a fire due at `dueMs`, noticed at `nowMs`, should run under the missed policy. */
export function shouldRunFire(schedule: Schedule, dueMs: number, nowMs: number): boolean {
  if (nowMs - dueMs <= MISSED_GRACE_MS) return true;
  return schedule.missed === 'run_once';
}
