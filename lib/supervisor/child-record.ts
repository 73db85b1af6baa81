import { constants } from 'node:os';
import { z } from 'zod';
import { RestartPolicySchema, EXIT_CLASSIFICATIONS } from './restart-policy.js';
import { ScheduleSchema } from './schedule.js';

/**
 * The record of one supervised child: its spec (how to run it), desired state (intent, set by
 * config and operators) and current state (observations). This is the unit the pure state
 * machine transforms and the unit persisted in the state file.
 */

/** States of a supervised child (the design's vocabulary). */
export const CHILD_STATES = {
  /** A start is scheduled for later (at / after / cron), or waits for what the child is after; nothing runs yet. */
  PENDING: 'PENDING',
  /** Spawned (or spawn requested); not ready yet (min uptime or first heartbeat pending). */
  STARTING: 'STARTING',
  /** Running and ready. */
  RUNNING: 'RUNNING',
  /** Paused with SIGSTOP (by an operator, or observed from outside with `external`). */
  SUSPENDED: 'SUSPENDED',
  /** The stop sequence is under way (stop signal, then SIGKILL to the group). */
  STOPPING: 'STOPPING',
  /** Not running, on purpose. */
  STOPPED: 'STOPPED',
  /** Exited and settled per its policy (clean exit, or mode never); not restarted automatically. */
  EXITED: 'EXITED',
  /** Failed; waiting out the backoff delay before the next start. */
  BACKOFF: 'BACKOFF',
  /** Failure budget spent (or config error exit 78); stays down until start/reset. */
  CRASHED: 'CRASHED',
  /** Ended by a kill request; stays down until start. */
  KILLED: 'KILLED',
  /** A recorded pid not yet verified (during reconciliation after a supervisor restart). */
  UNKNOWN: 'UNKNOWN',
} as const;
export type ChildState = (typeof CHILD_STATES)[keyof typeof CHILD_STATES];
export const CHILD_STATE_VALUES = Object.values(CHILD_STATES) as [ChildState, ...ChildState[]];

/** Any signal name Node knows (SIGINT, SIGTERM, SIGKILL, SIGSTOP, SIGCONT, SIGUSR1, …). */
export type SignalName = NodeJS.Signals;
export function isSignalName(value: unknown): value is SignalName {
  return typeof value === 'string' && /^SIG[A-Z0-9]+$/.test(value) && Object.hasOwn(constants.signals, value);
}
export const SignalSchema = z.custom<SignalName>(isSignalName, { message: 'expected a signal name such as SIGINT, SIGTERM or SIGKILL' });

/** Child ids are file-name safe: they name log files. OCS instance ids fit. */
export const CHILD_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const ChildIdSchema = z.string().regex(CHILD_ID_PATTERN, 'letters, digits, . _ - (max 128), starting with a letter or digit');

export const READY_MODES = ['uptime', 'heartbeat'] as const;
export type ReadyMode = (typeof READY_MODES)[number];

export const CHILD_SOURCES = ['config', 'create', 'open'] as const;
export type ChildSource = (typeof CHILD_SOURCES)[number];

export const LogPolicySchema = z
  .object({
    /** Rotate at (re)start above this size; copy-truncate while running above twice this size. */
    maxBytes: z.number().int().positive().default(10 * 1024 * 1024),
    /** Rotated files kept (`.1` … `.keep`). */
    keep: z.number().int().nonnegative().default(3),
  })
  .strict();

/**
 * Resource limits of a run (site file `memory-max`, `cpu-max`, `nofile`). null = no limit.
 * Memory and CPU are watched by sampling /proc (resource-limits.ts); nofile is set with prlimit
 * on the process before it runs its command.
 */
export const LimitsSchema = z
  .object({
    memoryMaxBytes: z.number().int().positive().nullable().default(null),
    /** Percent of one core, averaged over the supervisor's CPU window. */
    cpuMaxPercent: z.number().positive().nullable().default(null),
    nofile: z.number().int().positive().nullable().default(null),
  })
  .strict();
export type Limits = z.infer<typeof LimitsSchema>;
export const NO_LIMITS: Limits = Object.freeze({ memoryMaxBytes: null, cpuMaxPercent: null, nofile: null });

/** Longest wait in PENDING for what a child is after before the start fails. */
export const DEFAULT_DEPENDENCY_TIMEOUT_MS = 60_000;

export const ChildSpecSchema = z
  .object({
    id: ChildIdSchema,
    source: z.enum(CHILD_SOURCES),
    agentClass: z.string().nullable().default(null),
    /** argv; null for an adopted pid without a command (it can never be started again). */
    cmd: z.array(z.string()).min(1).nullable(),
    cwd: z.string().nullable().default(null),
    env: z.record(z.string(), z.string()).default({}),
    stopSignal: SignalSchema.default('SIGINT'),
    /** Stop signal → this long → SIGKILL to the process group. */
    stopTimeoutMs: z.number().int().nonnegative().default(10_000),
    /** SIGKILL → this long → the child is reported stuck (never "stopped" while it lives). */
    killTimeoutMs: z.number().int().nonnegative().default(5000),
    /** uptime: RUNNING after minUptimeMs; heartbeat: RUNNING on the first registry heartbeat. */
    ready: z.enum(READY_MODES).default('uptime'),
    /** Heartbeat readiness: longest time in STARTING before the run is stopped as a failure. */
    readyTimeoutMs: z.number().int().positive().default(15_000),
    /** Restart a child whose heartbeats stayed expired this long while its pid lives. null = off. */
    hungRestartAfterMs: z.number().int().nonnegative().nullable().default(null),
    restart: RestartPolicySchema.default(RestartPolicySchema.parse({})),
    log: LogPolicySchema.default(LogPolicySchema.parse({})),
    limits: LimitsSchema.default({ ...NO_LIMITS }),
    /** Children of this supervisor that must be ready before this one starts; their stopping for good stops this one. */
    requires: z.array(ChildIdSchema).default([]),
    /** Children of this supervisor that must be ready before this one starts (ordering only). */
    after: z.array(ChildIdSchema).default([]),
    dependencyTimeoutMs: z.number().int().positive().default(DEFAULT_DEPENDENCY_TIMEOUT_MS),
  })
  .strict();
export type ChildSpec = z.infer<typeof ChildSpecSchema>;
export type ChildSpecInput = z.input<typeof ChildSpecSchema>;

export const TARGETS = ['up', 'down', 'passive'] as const;
export type Target = (typeof TARGETS)[number];

/** config: follows the site file; operator: set by a request, survives restarts and config reloads. */
export const OWNERS = ['config', 'operator'] as const;
export type Owner = (typeof OWNERS)[number];

export const DesiredSchema = z
  .object({
    target: z.enum(TARGETS),
    suspended: z.boolean(),
    owner: z.enum(OWNERS),
    reason: z.string(),
    changedAtMs: z.number(),
    schedule: ScheduleSchema.nullable(),
  })
  .strict();
export type Desired = z.infer<typeof DesiredSchema>;

/** What ends a STOPPING phase: the state reached once the process has exited. */
export const AFTER_STOP = ['stopped', 'start', 'killed', 'remove', 'fail'] as const;
export type AfterStop = (typeof AFTER_STOP)[number];

export const STOP_PHASES = ['signal', 'kill', 'stuck'] as const;
export type StopPhase = (typeof STOP_PHASES)[number];

export const LastExitSchema = z
  .object({
    /** null when unknown (adopted process, spawn error) or killed by a signal. */
    code: z.number().int().nullable(),
    signal: z.string().nullable(),
    /** false = the exit status could not be observed ("exit: unknown"). */
    isKnown: z.boolean(),
    atMs: z.number(),
    uptimeMs: z.number(),
    classification: z.enum(EXIT_CLASSIFICATIONS),
    message: z.string(),
  })
  .strict();
export type LastExit = z.infer<typeof LastExitSchema>;

export const CurrentSchema = z
  .object({
    state: z.enum(CHILD_STATE_VALUES),
    sinceMs: z.number(),
    reason: z.string(),
    /** The state saved before a restart, while UNKNOWN. */
    priorState: z.enum(CHILD_STATE_VALUES).nullable(),
    pid: z.number().int().nullable(),
    pgid: z.number().int().nullable(),
    /** /proc/<pid>/stat starttime (clock ticks since boot): with bootId, the process identity. */
    startTicks: z.number().nullable(),
    bootId: z.string().nullable(),
    startedAtMs: z.number().nullable(),
    /** Not a child of this supervisor incarnation: exit found by polling /proc, status unknown. */
    isAdopted: z.boolean(),
    /** Signals can be sent (false for another user's process). */
    isOperable: z.boolean(),
    /** Suspended or resumed by someone else (observed, not requested). */
    isExternal: z.boolean(),
    attempt: z.number().int(),
    restarts: z.number().int(),
    consecutive: z.number().int(),
    failTimesMs: z.array(z.number()),
    /** BACKOFF delay or CRASHED cooldown deadline (wall ms). */
    nextAtMs: z.number().nullable(),
    /** STARTING: ready (uptime) or ready timeout (heartbeat) deadline. */
    startDeadlineMs: z.number().nullable(),
    /** STOPPING: escalation (phase signal) or stuck (phase kill) deadline. */
    stopDeadlineMs: z.number().nullable(),
    stopPhase: z.enum(STOP_PHASES).nullable(),
    afterStop: z.enum(AFTER_STOP).nullable(),
    stopCause: z.string().nullable(),
    /** RUNNING with expired heartbeats: restart deadline. */
    livenessDeadlineMs: z.number().nullable(),
    isSettled: z.boolean(),
    isStuck: z.boolean(),
    isRestartRequired: z.boolean(),
    suspendedAtMs: z.number().nullable(),
    suspendedMs: z.number(),
    /** Last suspend/resume we did; /proc observations right after it are not trusted. */
    suspendOpAtMs: z.number().nullable(),
    heartbeatAtMs: z.number().nullable(),
    isExpired: z.boolean(),
    scheduleNextMs: z.number().nullable(),
    scheduleLastFireMs: z.number().nullable(),
    lastExit: LastExitSchema.nullable(),
    /** PENDING before a start: the ids this child is after that are not ready yet. */
    waitingFor: z.array(z.string()).default([]),
    /** PENDING on dependencies: when the wait fails the start. */
    dependencyDeadlineMs: z.number().nullable().default(null),
    /** The last resource limit breach that stopped a run (kept after the run, for child_states). */
    limitBreach: z.string().nullable().default(null),
  })
  .strict();
export type Current = z.infer<typeof CurrentSchema>;

export const ChildRecordSchema = z
  .object({
    spec: ChildSpecSchema,
    desired: DesiredSchema,
    current: CurrentSchema,
  })
  .strict();
export type ChildRecord = z.infer<typeof ChildRecordSchema>;

/** A fresh record: STOPPED, target down, owned by `owner`. */
export function newChildRecord(spec: ChildSpec, nowMs: number, owner: Owner): ChildRecord {
  return {
    spec,
    desired: { target: 'down', suspended: false, owner, reason: 'created', changedAtMs: nowMs, schedule: null },
    current: {
      state: CHILD_STATES.STOPPED,
      sinceMs: nowMs,
      reason: 'created',
      priorState: null,
      pid: null,
      pgid: null,
      startTicks: null,
      bootId: null,
      startedAtMs: null,
      isAdopted: false,
      isOperable: true,
      isExternal: false,
      attempt: 0,
      restarts: 0,
      consecutive: 0,
      failTimesMs: [],
      nextAtMs: null,
      startDeadlineMs: null,
      stopDeadlineMs: null,
      stopPhase: null,
      afterStop: null,
      stopCause: null,
      livenessDeadlineMs: null,
      isSettled: false,
      isStuck: false,
      isRestartRequired: false,
      suspendedAtMs: null,
      suspendedMs: 0,
      suspendOpAtMs: null,
      heartbeatAtMs: null,
      isExpired: false,
      scheduleNextMs: null,
      scheduleLastFireMs: null,
      lastExit: null,
      waitingFor: [],
      dependencyDeadlineMs: null,
      limitBreach: null,
    },
  };
}

/** The earliest timer deadline of a record, or null. */
export function nextWakeMs(record: ChildRecord): number | null {
  const c = record.current;
  const candidates = [c.nextAtMs, c.startDeadlineMs, c.stopDeadlineMs, c.livenessDeadlineMs, c.scheduleNextMs, c.dependencyDeadlineMs];
  let min: number | null = null;
  for (const t of candidates) if (t !== null && (min === null || t < min)) min = t;
  return min;
}
