import type { TimerHandle } from '../clock.js';
import type { ChildRecord } from './child-record.js';
import { childStateEntry, serviceView, type ChildStateEntry, type ServiceView } from './child-view.js';
import type { SupervisorCore } from './event-loop.js';
import type { ChildSummary, SupervisorStatus, TransitionEvent } from './supervisor-types.js';

/** What the supervisor shows: HostManager `child_states`, summaries, the `manager` status, waits. */

/** A copy of one child's record (spec, desired, current), or null. */
export function childRecord(core: SupervisorCore, id: string): ChildRecord | null {
  const rt = core.children.get(id);
  return rt === undefined ? null : structuredClone(rt.record);
}

/** HostManager-compatible `child_states` for the manager session data. */
export function childStates(core: SupervisorCore): ChildStateEntry[] {
  const now = core.clock.nowMs();
  return [...core.children.values()].map((rt) => childStateEntry(rt.record, now, rt.usage));
}

/** A light per-child summary (no copies of records): for feeds and health checks every few seconds. */
export function childSummaries(core: SupervisorCore): ChildSummary[] {
  return [...core.children.values()].map((rt) => {
    const c = rt.record.current;
    return { id: rt.record.spec.id, state: c.state, restarts: c.restarts, isStuck: c.isStuck, ready: rt.record.spec.ready, pid: c.pid };
  });
}

/** The full session-data picture (design §3.5 `manager`). */
export function supervisorStatus(core: SupervisorCore, historyLimit: number): SupervisorStatus {
  const now = core.clock.nowMs();
  const services: Record<string, ServiceView> = {};
  for (const [id, rt] of core.children) services[id] = serviceView(rt.record, now, rt.usage);
  const orphans: SupervisorStatus['orphans'] = {};
  for (const o of core.orphans) orphans[String(o.pid)] = { pid: o.pid, service_id: o.childId, starttime: o.startTicks, reason: o.reason };
  return {
    supervisor: {
      supervisor_id: core.supervisorId,
      index: core.instanceIndex,
      pid: core.pid,
      boot_id: core.bootId,
      started_at: core.startedAtMs === null ? null : core.startedAtMs / 1000,
      phase: core.phase,
      reconciled: core.phase === 'running' || core.phase === 'closing',
      allow_exec: core.allowExec,
      limits_enforcement: core.resources.enforcement,
      state_file: core.stateFile,
      log_dir: core.logDir,
      persist_seq: core.persistence.seq,
      problems: [...core.problems],
    },
    services,
    child_states: childStates(core),
    orphans,
    history: core.historyLog.recent(historyLimit),
  };
}

/** Resolves once `check` holds for the child (checked on each transition), or rejects after timeoutMs. */
export function waitForChild(core: SupervisorCore, id: string, check: (rec: ChildRecord | null) => boolean, timeoutMs: number): Promise<ChildRecord | null> {
  return new Promise((resolveWait, reject) => {
    if (check(childRecord(core, id))) return resolveWait(childRecord(core, id));
    let timer: TimerHandle | undefined;
    const done = () => {
      core.off('child.transitioned', onTransition);
      core.off('child.removed', onRemoved);
      core.clock.clearTimeout(timer);
    };
    const probe = () => {
      const rec = childRecord(core, id);
      if (check(rec)) {
        done();
        resolveWait(rec);
      }
    };
    const onTransition = (t: TransitionEvent) => {
      if (t.id === id) probe();
    };
    const onRemoved = (r: { id: string }) => {
      if (r.id === id) probe();
    };
    core.on('child.transitioned', onTransition);
    core.on('child.removed', onRemoved);
    timer = core.clock.setTimeout(() => {
      done();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for child '${id}' (state ${childRecord(core, id)?.current.state ?? 'none'})`));
    }, timeoutMs);
  });
}
