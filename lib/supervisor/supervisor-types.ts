import type { Logger } from '../log.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { ChildRecord, ChildSpec, ChildState } from './child-record.js';
import type { ChildStateEntry, ServiceView } from './child-view.js';
import type { HistoryLogOptions, HistoryRecord } from './history-log.js';
import type { ChildLogFiles } from './log-files.js';
import type { ProcessControl, SpawnHandle } from './process-control.js';
import type { CgroupPaths } from './cgroup-v2.js';
import type { RunUsage } from './resource-limits.js';
import type { Orphan } from './reconcile.js';

/** The supervisor's public vocabulary: options, verb results, reports, events and status. */

/** Environment markers put on every spawned child (found again by the orphan scan). */
export const ENV_SUPERVISOR = 'OCS_SUPERVISOR';
export const ENV_SUPERVISOR_ID = 'OCS_SUPERVISOR_ID';
export const ENV_SUPERVISED_ID = 'OCS_SUPERVISED_ID';

export const DEFAULT_POLL_INTERVAL_MS = 1000;
export const DEFAULT_PERSIST_DEBOUNCE_MS = 100;
export const DEFAULT_LOG_ROTATE_CHECK_MS = 5000;
/** Resource sampling of children (RSS, CPU; memory-max and cpu-max enforcement). */
export const DEFAULT_RESOURCE_SAMPLE_MS = 1000;
/** The span a child's CPU share is averaged over (cpu-max). */
export const DEFAULT_CPU_WINDOW_MS = 5000;
/** Stderr lines attached to a failure exit (HostManager posts these as a session message). */
export const EXIT_STDERR_TAIL_LINES = 20;

export interface SupervisorOptions {
  stateDir: string;
  /** 0..99: several supervisors per host, each with its own files and lock. */
  instanceIndex?: number;
  /** Name put in markers and status, e.g. sup-<host>. Default sup-NN. */
  supervisorId?: string;
  /** Per-child stdout/stderr files. Default <stateDir>/logs-NN. */
  logDir?: string;
  /** Allow `create` (and `open` with a command, or of any process): running arbitrary commands. Off by default. */
  allowExec?: boolean;
  /** Instance ids of the site file: `open` adopts `ocs agent --instance-id <id>` processes for these (adoption-rule.ts). */
  siteInstanceIds?: () => ReadonlySet<string>;
  /**
   * The environment every child starts from (e.g. lib/site-config `childEnv()`); a child's own
   * `spec.env` and the supervisor markers are laid over it. Not persisted. Default: empty.
   */
  baseEnv?: Readonly<Record<string, string>>;
  /** Variables for one child laid over its spec's (e.g. its own credentials); not persisted. */
  envFor?: (id: string) => Readonly<Record<string, string>>;
  /** keep: persisted desired state; up/down: force every target at startup (HostManager --initial-state). */
  initialState?: 'keep' | 'up' | 'down';
  pollIntervalMs?: number;
  persistDebounceMs?: number;
  logRotateCheckMs?: number;
  /** Period of the /proc resource sampling of children; 0 = off (no usage shown, memory-max and cpu-max not enforced). */
  resourceSampleMs?: number;
  /** The span a child's CPU share is averaged over before cpu-max applies. */
  cpuWindowMs?: number;
  /** auto (default): memory-max and cpu-max by the kernel through cgroup v2 when this process has a delegated subtree; off: sampling. */
  cgroups?: 'auto' | 'off';
  /** Where /proc and the cgroup v2 hierarchy are (default /proc, /sys/fs/cgroup). */
  cgroupPaths?: CgroupPaths;
  history?: HistoryLogOptions;
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
  processControl?: ProcessControl;
  /** This process's pid (lock owner). */
  pid?: number;
}

export interface ChildResult {
  id: string;
  ok: boolean;
  message: string;
  state: ChildState | null;
  pid: number | null;
}

/** The outcome of a verb: per-child results, ok when all succeeded. Refusals are results, not throws. */
export interface VerbResult {
  ok: boolean;
  message: string;
  results: ChildResult[];
}

export interface InitReport {
  stateSource: 'main' | 'prev' | 'none';
  problems: string[];
  adopted: string[];
  vanished: string[];
  started: string[];
  orphans: Orphan[];
  lockTakenOver: boolean;
}

export interface SyncReport {
  added: string[];
  updated: string[];
  restartRequired: string[];
  retired: string[];
  skipped: { id: string; reason: string }[];
}

export interface LogsResult {
  ok: boolean;
  message: string;
  id: string;
  stdout: string[];
  stderr: string[];
}

export interface TransitionEvent {
  id: string;
  from: ChildState;
  to: ChildState;
  cause: string;
  atMs: number;
  pid: number | null;
}

export interface ExitEvent {
  id: string;
  pid: number;
  code: number | null;
  signal: string | null;
  isKnown: boolean;
  state: ChildState;
  classification: string | null;
  /** Last stderr lines when the exit was not requested and not clean. */
  stderrTail: string[];
}

export interface SupervisorEvents {
  'child.transitioned': [TransitionEvent];
  'child.spawned': [{ id: string; pid: number; attempt: number }];
  'child.exited': [ExitEvent];
  'child.removed': [{ id: string; how: 'removed' | 'disowned' }];
  /** Every audit record (transitions, requests, events): what the agent logs into session messages. */
  'history.appended': [HistoryRecord];
  'supervisor.problem': [{ message: string }];
}

export interface ChildSummary {
  id: string;
  state: ChildState;
  restarts: number;
  isStuck: boolean;
  ready: ChildSpec['ready'];
  pid: number | null;
}

export interface SupervisorStatus {
  supervisor: {
    supervisor_id: string;
    index: number;
    pid: number;
    boot_id: string;
    started_at: number | null;
    phase: SupervisorPhase;
    reconciled: boolean;
    allow_exec: boolean;
    /** How memory-max and cpu-max are enforced: `cgroup v2`, or `sampling (<why>)`. */
    limits_enforcement: string;
    state_file: string;
    log_dir: string;
    persist_seq: number;
    problems: string[];
  };
  services: Record<string, ServiceView>;
  child_states: ChildStateEntry[];
  orphans: Record<string, { pid: number; service_id: string; starttime: number; reason: string }>;
  history: HistoryRecord[];
}

/** Where a supervisor lives and what it may do: fixed at construction, shown in status. */
export interface SupervisorIdentity {
  readonly instanceIndex: number;
  /** sup-NN unless given (markers, status). */
  readonly supervisorId: string;
  readonly stateDir: string;
  readonly logDir: string;
  readonly stateFile: string;
  readonly lockFile: string;
  readonly historyFile: string;
  readonly allowExec: boolean;
}

export type SupervisorPhase = 'new' | 'initialising' | 'running' | 'closing' | 'closed';

/** One supervised child as the event loop holds it: its record and its I/O handles. */
export interface ChildRuntime {
  record: ChildRecord;
  logs: ChildLogFiles;
  handle: SpawnHandle | null;
  wakeTimer: TimerHandle | undefined;
  wakeAtMs: number | null;
  /** The due time we last ticked for without it clearing (avoids a busy loop while held). */
  lastIdleDueMs: number | null;
  logger: Logger;
  /** The current run's sampled usage (child-resources.ts); null when not sampled or not running. */
  usage: RunUsage | null;
  /** The current run's cgroup v2 directory (kernel-enforced limits), or null. */
  cgroupDir: string | null;
  /** OOM kills counted in that cgroup when last looked at. */
  oomKills: number;
}
