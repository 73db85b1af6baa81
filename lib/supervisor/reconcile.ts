import { CHILD_STATES, type ChildRecord } from './child-record.js';
import { isLiveState, type VanishCause } from './child-state.js';
import { isStoppedState, type ProbeResult } from './proc-identity.js';

/**
 * Reconciliation after a supervisor restart, as a pure plan: from the persisted records and
 * facts read from /proc, decide for each child whether its process is re-adopted or gone, and
 * which marked processes are orphans. The supervisor turns decisions into `adopted` /
 * `vanished` events; only afterwards does it start missing children, so a live child is never
 * started twice.
 */

/** A live process carrying this supervisor's environment marker. */
export interface MarkedProcess {
  pid: number;
  childId: string;
  pgid: number;
  startTicks: number;
  state: string;
}

export interface ReconcileFacts {
  bootId: string;
  /** Boot id saved with the state file (fallback when a record has none). */
  savedBootId: string | null;
  /** When the state file was last written (wall ms); null if unknown. */
  savedAtMs: number | null;
  /** /proc probe of each recorded pid against its recorded start time. */
  probes: ReadonlyMap<number, ProbeResult>;
  /** Group leaders carrying our marker, found by scanning /proc/<pid>/environ. */
  marked: readonly MarkedProcess[];
}

export type ReconcileDecision =
  | { id: string; action: 'adopt'; pid: number; pgid: number; startTicks: number; isStopped: boolean; cause: string }
  | { id: string; action: 'vanish'; cause: VanishCause; isCharged: boolean }
  | { id: string; action: 'keep' };

export interface Orphan {
  pid: number;
  childId: string;
  startTicks: number;
  reason: 'unknown child' | 'duplicate' | 'child not running';
}

export interface ReconcilePlan {
  decisions: ReconcileDecision[];
  orphans: Orphan[];
}

export function planReconcile(records: readonly ChildRecord[], facts: ReconcileFacts, nowMs: number): ReconcilePlan {
  const decisions: ReconcileDecision[] = [];
  const claimed = new Set<number>();
  const byChild = new Map<string, MarkedProcess[]>();
  for (const m of facts.marked) {
    const list = byChild.get(m.childId) ?? [];
    list.push(m);
    byChild.set(m.childId, list);
  }
  // Oldest first: the one started first is the original, later ones duplicates.
  for (const list of byChild.values()) list.sort((a, b) => a.startTicks - b.startTicks);

  const adoptMarked = (rec: ChildRecord, cause: string): ReconcileDecision | null => {
    const m = (byChild.get(rec.spec.id) ?? []).find((p) => !claimed.has(p.pid));
    if (m === undefined) return null;
    claimed.add(m.pid);
    return { id: rec.spec.id, action: 'adopt', pid: m.pid, pgid: m.pgid, startTicks: m.startTicks, isStopped: isStoppedState(m.state), cause };
  };

  for (const rec of records) {
    const c = rec.current;
    const id = rec.spec.id;
    const state = c.state === CHILD_STATES.UNKNOWN ? (c.priorState ?? CHILD_STATES.RUNNING) : c.state;
    const window = rec.spec.restart.windowMs;
    const isCharged = !(facts.savedAtMs !== null && window !== null && nowMs - facts.savedAtMs > window);

    if (c.pid === null) {
      // A run spawned but never recorded (the supervisor died between spawn and persist) is
      // found by its marker and adopted, unless the child is meant to be down.
      const found = rec.desired.target === 'down' ? null : adoptMarked(rec, 'found by its marker (spawned, never recorded)');
      if (found !== null) decisions.push(found);
      else if (isLiveState(state)) decisions.push({ id, action: 'vanish', cause: 'gone', isCharged: false });
      else decisions.push({ id, action: 'keep' });
      continue;
    }
    const bootId = c.bootId ?? facts.savedBootId;
    if (bootId !== facts.bootId) {
      decisions.push({ id, action: 'vanish', cause: 'reboot', isCharged: false });
      continue;
    }
    const probe = facts.probes.get(c.pid) ?? { status: 'gone' };
    if (probe.status === 'alive') {
      claimed.add(c.pid);
      decisions.push({
        id,
        action: 'adopt',
        pid: c.pid,
        pgid: probe.stat.pgrp,
        startTicks: probe.stat.startTicks,
        isStopped: isStoppedState(probe.stat.state),
        cause: 're-adopted after supervisor restart',
      });
      continue;
    }
    const cause: VanishCause = probe.status === 'reused' ? 'reused' : probe.status === 'zombie' ? 'zombie' : 'gone';
    // The recorded run is gone, but a newer unrecorded run of ours may be alive.
    decisions.push(adoptMarked(rec, 'found by its marker (recorded pid gone)') ?? { id, action: 'vanish', cause, isCharged });
  }

  const known = new Set(records.map((r) => r.spec.id));
  const live = new Set(decisions.filter((d) => d.action === 'adopt').map((d) => d.id));
  const orphans: Orphan[] = facts.marked
    .filter((m) => !claimed.has(m.pid))
    .map((m) => ({
      pid: m.pid,
      childId: m.childId,
      startTicks: m.startTicks,
      reason: !known.has(m.childId) ? ('unknown child' as const) : live.has(m.childId) ? ('duplicate' as const) : ('child not running' as const),
    }));
  return { decisions, orphans };
}
