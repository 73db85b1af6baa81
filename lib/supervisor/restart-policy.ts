import { z } from 'zod';
import { EXIT_CONFIG } from '../errors.js';

/**
 * Restart policy of one supervised child, and the pure decision taken when it exits.
 * No I/O and no clock reads: `now` and the random source are arguments, so a fake clock
 * drives every case.
 */

export const RESTART_MODES = ['always', 'on-failure', 'never'] as const;
export type RestartMode = (typeof RESTART_MODES)[number];

export const RestartPolicySchema = z
  .object({
    /** always: restart after any exit; on-failure: only after a failure; never: never restart. */
    mode: z.enum(RESTART_MODES).default('always'),
    /** Exit codes that count as a clean exit. */
    successExitCodes: z.array(z.number().int()).default([0]),
    /** Exit codes that are never restarted (78 = configuration error); the child goes CRASHED. */
    stopExitCodes: z.array(z.number().int()).default([EXIT_CONFIG]),
    /** Uptime below which an exit is "early" (always a failure); also the uptime readiness delay. */
    minUptimeMs: z.number().int().nonnegative().default(1000),
    /** Failures allowed inside `windowMs`; one more goes CRASHED. null = unlimited. */
    maxRestarts: z.number().int().nonnegative().nullable().default(10),
    /** Sliding window for the failure budget. null = forever (count since the last reset). */
    windowMs: z.number().int().positive().nullable().default(300_000),
    /** First restart delay; 0 restarts at once. */
    backoffInitialMs: z.number().int().nonnegative().default(1000),
    backoffFactor: z.number().min(1).default(1.5),
    backoffCapMs: z.number().int().nonnegative().default(60_000),
    /** Relative jitter: the delay is multiplied by 1 + jitter * U(-1, 1), then capped. */
    backoffJitter: z.number().min(0).max(1).default(0.1),
    /** An exit after this much uptime starts a fresh streak (the backoff goes back to initial). */
    resetAfterMs: z.number().int().nonnegative().default(30_000),
    /** After CRASHED, retry once per cooldown with a fresh budget. null = stay CRASHED until reset. */
    cooldownMs: z.number().int().positive().nullable().default(null),
  })
  .strict();

export type RestartPolicy = z.infer<typeof RestartPolicySchema>;
export type RestartPolicyInput = z.input<typeof RestartPolicySchema>;

export const DEFAULT_RESTART_POLICY: RestartPolicy = RestartPolicySchema.parse({});

/** Failures remembered for stability reporting even when the budget window is shorter. */
export const STABILITY_WINDOW_MS = 120_000;
const MAX_FAIL_TIMES = 200;

export interface FailureHistory {
  /** Wall times (ms) of charged failures, oldest first. */
  failTimesMs: number[];
  /** Failures in the current streak (drives the backoff exponent). */
  consecutive: number;
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** False when the exit status cannot be known (an adopted process vanished, spawn never ran). */
  isKnown: boolean;
  /** Time the run was up, not counting time spent suspended. */
  uptimeMs: number;
  /** The run never became ready, or exited before `minUptimeMs`. */
  isEarly: boolean;
  /** False to record the failure without charging the budget (e.g. downtime longer than the window). */
  isCharged?: boolean;
  /** The run was stopped by the supervisor because it misbehaved (start timeout, hung); always a failure. */
  isForcedFailure?: boolean;
}

export const EXIT_CLASSIFICATIONS = ['clean', 'failure', 'vanished', 'config_error', 'requested', 'spawn_error'] as const;
export type ExitClassification = (typeof EXIT_CLASSIFICATIONS)[number];

export const RESTART_ACTIONS = ['restart', 'settle', 'crash'] as const;
/** restart: run again after delayMs; settle: EXITED, no restart; crash: CRASHED until reset. */
export type RestartAction = (typeof RESTART_ACTIONS)[number];

export interface RestartDecision {
  action: RestartAction;
  delayMs: number;
  classification: ExitClassification;
  history: FailureHistory;
  reason: string;
}

/** Classifies an unrequested exit. */
export function classifyExit(exit: ExitInfo, policy: RestartPolicy): ExitClassification {
  if (exit.isForcedFailure) return 'failure';
  if (!exit.isKnown) return 'vanished';
  if (exit.code !== null && policy.stopExitCodes.includes(exit.code)) return 'config_error';
  const isClean = exit.code !== null && policy.successExitCodes.includes(exit.code);
  if (isClean && !exit.isEarly) return 'clean';
  return 'failure';
}

/** Backoff before restart number `consecutive` (1-based), before jitter. */
export function backoffDelayMs(consecutive: number, policy: RestartPolicy): number {
  if (policy.backoffInitialMs === 0) return 0;
  const raw = policy.backoffInitialMs * Math.pow(policy.backoffFactor, Math.max(0, consecutive - 1));
  return Math.min(policy.backoffCapMs, raw);
}

/** Number of charged failures inside the budget window ending at `nowMs`. */
export function failuresInWindow(failTimesMs: readonly number[], policy: RestartPolicy, nowMs: number): number {
  if (policy.windowMs === null) return failTimesMs.length;
  const from = nowMs - policy.windowMs;
  return failTimesMs.filter((t) => t > from).length;
}

/** HostManager's stability score: max(0, 1 - sum(5 / age_s)) over failures of the last 120 s. */
export function stability(failTimesMs: readonly number[], nowMs: number): number {
  let penalty = 0;
  for (const t of failTimesMs) {
    const ageS = (nowMs - t) / 1000;
    if (ageS > STABILITY_WINDOW_MS / 1000) continue;
    penalty += 5 / Math.max(ageS, 0.001);
  }
  return Math.max(0, 1 - penalty);
}

function pruneFailTimes(failTimesMs: number[], policy: RestartPolicy, nowMs: number): number[] {
  const keepMs = policy.windowMs === null ? Infinity : Math.max(policy.windowMs, STABILITY_WINDOW_MS);
  const kept = failTimesMs.filter((t) => nowMs - t < keepMs);
  return kept.slice(-MAX_FAIL_TIMES);
}

function describeExit(exit: ExitInfo): string {
  if (!exit.isKnown) return 'exit unknown';
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit code ${exit.code ?? 'unknown'}`;
}

/**
 * What to do after a child exited on its own (or was stopped for a start timeout / hang).
 * Requested exits (stop, restart, kill) never come here.
 */
export function decideRestart(
  history: FailureHistory,
  exit: ExitInfo,
  policy: RestartPolicy,
  nowMs: number,
  random: () => number = Math.random,
): RestartDecision {
  const classification = classifyExit(exit, policy);
  const what = describeExit(exit);
  const isCharged = exit.isCharged ?? true;

  if (classification === 'clean') {
    const fresh: FailureHistory = { failTimesMs: pruneFailTimes(history.failTimesMs, policy, nowMs), consecutive: 0 };
    if (policy.mode === 'always') {
      return { action: 'restart', delayMs: backoffDelayMs(1, policy), classification, history: fresh, reason: `${what}; mode always` };
    }
    return { action: 'settle', delayMs: 0, classification, history: fresh, reason: `${what}; clean exit` };
  }

  // Every other classification is a failure and is recorded.
  const consecutive = (exit.uptimeMs >= policy.resetAfterMs ? 0 : history.consecutive) + 1;
  const failTimesMs = isCharged ? pruneFailTimes([...history.failTimesMs, nowMs], policy, nowMs) : pruneFailTimes(history.failTimesMs, policy, nowMs);
  const next: FailureHistory = { failTimesMs, consecutive };

  if (classification === 'config_error') {
    return { action: 'crash', delayMs: 0, classification, history: next, reason: `${what} (configuration error); not restarted` };
  }
  if (policy.mode === 'never') {
    return { action: 'settle', delayMs: 0, classification, history: next, reason: `${what}; mode never` };
  }
  const used = failuresInWindow(failTimesMs, policy, nowMs);
  if (policy.maxRestarts !== null && used > policy.maxRestarts) {
    const windowText = policy.windowMs === null ? '' : ` within ${policy.windowMs / 1000} s`;
    return { action: 'crash', delayMs: 0, classification, history: next, reason: `${what}; ${used} failures${windowText}, budget ${policy.maxRestarts} spent` };
  }
  const base = backoffDelayMs(consecutive, policy);
  const jittered = base * (1 + policy.backoffJitter * (random() * 2 - 1));
  const delayMs = Math.round(Math.min(policy.backoffCapMs, Math.max(0, jittered)));
  return { action: 'restart', delayMs, classification, history: next, reason: `${what}; restart ${consecutive} in ${delayMs} ms` };
}
