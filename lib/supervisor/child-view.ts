import { CHILD_STATES, type ChildRecord, type ChildState } from './child-record.js';
import type { RunUsage } from './resource-limits.js';
import { failuresInWindow, stability } from './restart-policy.js';

/**
 * Projections of child records into session-data shapes (snake_case wire names):
 * HostManager-compatible `child_states` entries, which ocsbow and ocs-web read, and the fuller
 * per-service view.
 */

/** HostManager's `next_action` vocabulary. */
export const NEXT_ACTIONS = ['up', 'down', 'wait_start', 'wait_dead', 'start_at', '?'] as const;
export type NextAction = (typeof NEXT_ACTIONS)[number];

const NEXT_ACTION_OF: Record<ChildState, NextAction> = {
  [CHILD_STATES.RUNNING]: 'up',
  [CHILD_STATES.SUSPENDED]: 'up',
  [CHILD_STATES.STARTING]: 'wait_start',
  [CHILD_STATES.STOPPING]: 'wait_dead',
  [CHILD_STATES.PENDING]: 'start_at',
  [CHILD_STATES.BACKOFF]: 'start_at',
  [CHILD_STATES.STOPPED]: 'down',
  [CHILD_STATES.EXITED]: 'down',
  [CHILD_STATES.KILLED]: 'down',
  [CHILD_STATES.CRASHED]: 'down',
  [CHILD_STATES.UNKNOWN]: '?',
};

export function nextActionOf(state: ChildState): NextAction {
  return NEXT_ACTION_OF[state];
}

/** One entry of HostManager's `child_states`, plus the full `state`. */
export interface ChildStateEntry {
  instance_id: string;
  agent_class: string;
  next_action: NextAction;
  target_state: 'up' | 'down' | 'passive';
  stability: number;
  operable: boolean;
  restart_required: boolean;
  state: ChildState;
  /** Resident memory of the child's process group at the last sample; null when not running or not sampled. */
  rss_bytes: number | null;
  /** CPU share of the group over the sampling window, percent of one core. */
  cpu_percent: number | null;
  /** The last resource limit breach that stopped a run (`memory-max exceeded: 612 MB > 512 MB`), or null. */
  limit_breach: string | null;
  /** PENDING on dependencies: the ids it waits for (not ready yet). */
  waiting_for: string[];
}

/** A run's sampled usage as child_states shows it (only for the run the record names). */
function usageOf(rec: ChildRecord, usage: RunUsage | null | undefined): { rss: number | null; cpu: number | null } {
  if (usage === null || usage === undefined || usage.pid !== rec.current.pid) return { rss: null, cpu: null };
  return { rss: usage.rssBytes, cpu: usage.cpuPercent === null ? null : Math.round(usage.cpuPercent * 10) / 10 };
}

export function childStateEntry(rec: ChildRecord, nowMs: number, usage?: RunUsage | null): ChildStateEntry {
  const c = rec.current;
  const u = usageOf(rec, usage);
  return {
    instance_id: rec.spec.id,
    agent_class: rec.spec.agentClass ?? (rec.spec.source === 'config' ? '' : `[${rec.spec.source}]`),
    next_action: nextActionOf(c.state),
    target_state: rec.desired.target,
    stability: Math.round(stability(c.failTimesMs, nowMs) * 1000) / 1000,
    operable: c.isOperable && c.state !== CHILD_STATES.UNKNOWN,
    restart_required: c.isRestartRequired,
    state: c.state,
    rss_bytes: u.rss,
    cpu_percent: u.cpu,
    limit_breach: c.limitBreach,
    waiting_for: [...c.waitingFor],
  };
}

const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);

export function uptimeMsOf(rec: ChildRecord, nowMs: number): number | null {
  const c = rec.current;
  if (c.startedAtMs === null || c.pid === null) return null;
  const suspendedNow = c.suspendedAtMs !== null ? nowMs - c.suspendedAtMs : 0;
  return Math.max(0, nowMs - c.startedAtMs - c.suspendedMs - suspendedNow);
}

/** The full per-service view for session data (design §3.5 `services`). */
export function serviceView(rec: ChildRecord, nowMs: number, usage?: RunUsage | null) {
  const c = rec.current;
  const u = usageOf(rec, usage);
  const lim = rec.spec.limits;
  const d = rec.desired;
  const policy = rec.spec.restart;
  const last = c.lastExit;
  return {
    kind: rec.spec.source,
    agent_class: rec.spec.agentClass,
    cmd: rec.spec.cmd,
    target: d.target,
    suspended: d.suspended,
    owner: d.owner,
    state: c.state,
    since: seconds(c.sinceMs),
    reason: c.reason,
    pid: c.pid,
    pgid: c.pgid,
    adopted: c.isAdopted,
    external: c.isExternal,
    attempt: c.attempt,
    uptime_s: seconds(uptimeMsOf(rec, nowMs)),
    restarts: c.restarts,
    consecutive: c.consecutive,
    budget: { used: failuresInWindow(c.failTimesMs, policy, nowMs), max: policy.maxRestarts, window_s: seconds(policy.windowMs) },
    next_at: seconds(c.nextAtMs),
    schedule:
      d.schedule === null
        ? null
        : {
            kind: d.schedule.kind,
            cron: d.schedule.kind === 'cron' ? d.schedule.cron : null,
            at: d.schedule.kind === 'once' ? d.schedule.atMs / 1000 : null,
            action: d.schedule.action,
            next_fire: seconds(c.scheduleNextMs),
          },
    last_exit:
      last === null
        ? null
        : {
            /** A number, a signal name, or 'unknown' when the exit status could not be observed. */
            exit: !last.isKnown ? 'unknown' : last.signal !== null ? last.signal : last.code,
            code: last.code,
            signal: last.signal,
            at: last.atMs / 1000,
            uptime_s: last.uptimeMs / 1000,
            classification: last.classification,
            message: last.message,
          },
    stability: Math.round(stability(c.failTimesMs, nowMs) * 1000) / 1000,
    operable: c.isOperable,
    restart_required: c.isRestartRequired,
    stuck: c.isStuck,
    heartbeat_at: seconds(c.heartbeatAtMs),
    expired: c.isExpired,
    limits: { memory_max_bytes: lim.memoryMaxBytes, cpu_max_percent: lim.cpuMaxPercent, nofile: lim.nofile },
    rss_bytes: u.rss,
    cpu_percent: u.cpu,
    limit_breach: c.limitBreach,
    requires: [...rec.spec.requires],
    after: [...rec.spec.after],
    waiting_for: [...c.waitingFor],
  };
}
export type ServiceView = ReturnType<typeof serviceView>;
