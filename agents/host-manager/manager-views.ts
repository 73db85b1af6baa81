import { CHILD_STATES, type ChildState } from '../../lib/supervisor/child-record.js';
import type { ChildStateEntry } from '../../lib/supervisor/child-view.js';
import type { HistoryRecord } from '../../lib/supervisor/history-log.js';
import type { Feed } from '../../lib/feeds/feed.js';
import { messageOf } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { markFloats } from '../../lib/ops/session-data.js';
import type { ChildSummary, SupervisorStatus } from '../../lib/supervisor/supervisor.js';
import type { SkippedEntry } from './entries.js';
import type { LivenessStatus } from './liveness.js';

/** How the HostManager shows its children: feed codes and field names, unrunnable entries, history lines. */

/** Grafana's supervisor dashboard codes (site-config/grafana/README.md). */
export const STATE_CODES: Readonly<Record<ChildState, number>> = {
  UNKNOWN: 0,
  STOPPED: 1,
  PENDING: 2,
  STARTING: 3,
  RUNNING: 4,
  SUSPENDED: 5,
  STOPPING: 6,
  EXITED: 7,
  BACKOFF: 8,
  CRASHED: 9,
  KILLED: 10,
};

/** A site instance this HostManager does not run, as a `child_states` entry (OCS: operable false, down). */
export function skippedChildState(s: SkippedEntry): ChildStateEntry & { reason: string } {
  return { instance_id: s.id, agent_class: s.agentClass, next_action: 'down', target_state: s.target, stability: 1, operable: false, restart_required: false, state: CHILD_STATES.UNKNOWN, rss_bytes: null, cpu_percent: null, limit_breach: null, waiting_for: [], reason: s.reason };
}

/** `fake-data1` → `fake_data1`: the child's field prefix in the child_states feed. */
export function fieldPrefix(id: string): string {
  const name = id.replace(/[^A-Za-z0-9_]/g, '_');
  return /^_*[A-Za-z]/.test(name) ? name : `c_${name}`;
}

export function historyView(rec: HistoryRecord): Record<string, unknown> {
  const { atMs, ...rest } = rec;
  return { t: atMs / 1000, ...rest };
}

/** One session message per audit record. */
export function formatHistory(rec: HistoryRecord): string {
  switch (rec.kind) {
    case 'transition':
      return `${rec.id}: ${rec.from} -> ${rec.to} (${rec.cause ?? ''})${rec.pid != null ? ` pid ${rec.pid}` : ''}`;
    case 'request':
      return `request ${rec.verb}${rec.params !== undefined ? ` ${JSON.stringify(rec.params)}` : ''}: ${rec.ok ? 'ok' : 'refused'}: ${rec.message ?? ''}`;
    default: {
      const who = rec.id ?? 'supervisor';
      const tail = rec.event === 'child.exited' ? (rec.data?.['stderr_tail'] as string[] | undefined) : undefined;
      const text = `${who}: ${rec.event ?? 'event'}: ${rec.message ?? ''}`;
      return tail !== undefined && tail.length > 0 ? `${text}\nstderr (last ${tail.length} lines):\n${tail.join('\n')}` : text;
    }
  }
}

/** `config_parse_status` entry: [ok, unix seconds, message], as OCS's HostManager. */
export type ParseStatus = [ok: boolean, atS: number, message: string];

/** The `child_states` feed: one block per child, `<id>_state_code` and `<id>_restarts` as integers. */
export function publishChildStateBlocks(feed: Feed, summaries: readonly ChildSummary[], nowMs: number, log: Logger): void {
  const used = new Set<string>();
  for (const s of summaries) {
    const p = fieldPrefix(s.id);
    if (used.has(p)) continue;
    used.add(p);
    try {
      feed.publishMessage({
        block_name: p,
        timestamp: nowMs / 1000,
        data: { [`${p}_state_code`]: BigInt(STATE_CODES[s.state]), [`${p}_restarts`]: BigInt(s.restarts) },
      });
    } catch (err) {
      log.warn({ err: messageOf(err), instance_id: s.id }, 'child_states block refused');
    }
  }
  feed.flushBuffer();
}

/** The `manager` session.data (design §3.5, with HostManager's child_states and config_parse_status). */
export function managerSessionData(
  st: SupervisorStatus,
  extra: { instanceId: string; hostKey: string; skipped: readonly SkippedEntry[]; configStatus: ParseStatus; registry: LivenessStatus },
): Record<string, unknown> {
  // times and durations go out as floats, as OCS's Python sends them
  return markFloats({
    supervisor: { instance_id: extra.instanceId, host: extra.hostKey, ...st.supervisor },
    // as OCS's HostManager: an instance it cannot run is listed, not operable (ocsbow shows it)
    child_states: [...st.child_states, ...extra.skipped.map(skippedChildState)],
    services: st.services,
    orphans: st.orphans,
    config_parse_status: { '[SCF]': extra.configStatus },
    skipped: Object.fromEntries(extra.skipped.map((s) => [s.id, s.reason])),
    registry: extra.registry,
    history: st.history.map(historyView),
  });
}
