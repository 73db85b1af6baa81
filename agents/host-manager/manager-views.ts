import { CHILD_STATES, type ChildState } from '../../lib/supervisor/child-record.js';
import type { ChildStateEntry } from '../../lib/supervisor/child-view.js';
import type { HistoryRecord } from '../../lib/supervisor/history-log.js';
import type { SkippedEntry } from './entries.js';

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
  return { instance_id: s.id, agent_class: s.agentClass, next_action: 'down', target_state: s.target, stability: 1, operable: false, restart_required: false, state: CHILD_STATES.UNKNOWN, reason: s.reason };
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
