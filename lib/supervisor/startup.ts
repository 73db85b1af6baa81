import { CHILD_STATES, nextWakeMs } from './child-record.js';
import { markUnknown } from './child-state.js';
import { applyEntries } from './config-sync.js';
import type { SupervisorCore } from './event-loop.js';
import { InstanceLock } from './instance-lock.js';
import type { ProbeResult } from './proc-identity.js';
import { planReconcile } from './reconcile.js';
import type { SupervisedEntry } from './supervised-entry.js';
import type { InitReport } from './supervisor-types.js';

/**
 * The supervisor's start: takes the lock, loads the state file, re-adopts children that still
 * run (found by recorded pid + start time, or by env marker), records the ones that vanished
 * (exit unknown), applies the site entries, then starts what should run. Throws ConfigError when
 * another live supervisor holds the lock; on any failure the lock is released again.
 */
export function startSupervisor(core: SupervisorCore, entries: readonly SupervisedEntry[] | undefined): InitReport {
  if (core.phase !== 'new') throw new Error(`supervisor already ${core.phase}`);
  core.phase = 'initialising';
  const now = core.clock.nowMs();
  const proc = core.control.proc;
  core.bootId = proc.bootId();
  const self = proc.readStat(core.pid);
  let lock: InstanceLock;
  try {
    lock = InstanceLock.acquire(core.lockFile, { pid: core.pid, startTicks: self?.startTicks ?? null, bootId: core.bootId }, proc, now);
  } catch (err) {
    core.phase = 'closed';
    throw err;
  }
  core.lock = lock;
  try {
    return startLocked(core, lock, entries, now);
  } catch (err) {
    core.processes.stopPolling();
    core.resources.stop();
    core.clearWakes();
    core.persistence.isBatching = false;
    core.phase = 'closed';
    core.historyLog.close();
    lock.release();
    core.lock = null;
    throw err;
  }
}

function startLocked(core: SupervisorCore, lock: InstanceLock, entries: readonly SupervisedEntry[] | undefined, now: number): InitReport {
  const proc = core.control.proc;
  core.historyLog.open();
  core.startedAtMs = now;
  core.audit({ kind: 'event', id: null, event: 'supervisor.started', message: `supervisor ${core.supervisorId} pid ${core.pid}` });
  if (lock.takenOverFrom !== null) core.problem(`took over a stale lock from pid ${lock.takenOverFrom.pid}`);

  core.persistence.isBatching = true;
  const loaded = core.persistence.store.load(now);
  for (const p of loaded.problems) core.problem(p);
  const saved = loaded.state;
  core.persistence.seq = saved?.supervisor.seq ?? 0;
  for (const [id, rec] of Object.entries(saved?.children ?? {})) {
    if (rec.spec.id !== id) continue;
    core.addChild(rec.current.pid !== null ? markUnknown(rec, now) : rec);
  }

  const report: InitReport = {
    stateSource: loaded.source,
    problems: [...loaded.problems],
    adopted: [],
    vanished: [],
    started: [],
    orphans: [],
    lockTakenOver: lock.takenOverFrom !== null,
  };

  // New config entries first (nothing starts yet): a run spawned for one just before a crash is
  // then found by its marker and adopted. Updates and retirements wait for the reconciliation.
  if (entries !== undefined) applyEntries(core, entries, 'add');
  // Reconcile before anything can start, so a live child is never started twice.
  const records = [...core.children.values()].map((rt) => rt.record);
  const probes = new Map<number, ProbeResult>();
  for (const r of records) if (r.current.pid !== null) probes.set(r.current.pid, proc.probe(r.current.pid, r.current.startTicks));
  const plan = planReconcile(
    records,
    { bootId: core.bootId, savedBootId: saved?.supervisor.bootId ?? null, savedAtMs: saved?.supervisor.writtenAtMs ?? null, probes, marked: core.processes.scanMarked() },
    now,
  );
  for (const d of plan.decisions) {
    if (d.action === 'adopt') {
      core.dispatch(d.id, {
        type: 'adopted',
        pid: d.pid,
        pgid: d.pgid,
        startTicks: d.startTicks,
        bootId: core.bootId,
        isStopped: d.isStopped,
        isOperable: core.control.isPermitted(d.pid),
        cause: d.cause,
      });
      report.adopted.push(d.id);
    } else if (d.action === 'vanish') {
      core.dispatch(d.id, { type: 'vanished', cause: d.cause, isCharged: d.isCharged });
      report.vanished.push(d.id);
    }
  }
  core.orphans = plan.orphans;
  report.orphans = plan.orphans;
  for (const o of plan.orphans) core.problem(`orphan process ${o.pid} (${o.childId}): ${o.reason}`);

  core.resources.setUp();
  if (entries !== undefined) applyEntries(core, entries, 'full');
  if (core.initialState !== 'keep') {
    for (const id of core.children.keys()) core.dispatch(id, { type: 'update', target: core.initialState });
  }

  core.phase = 'running';
  const attemptsBefore = new Map([...core.children].map(([id, rt]) => [id, rt.record.current.attempt]));
  for (const id of [...core.children.keys()]) {
    core.dispatch(id, { type: 'settle' });
    const rt = core.children.get(id);
    const due = rt === undefined ? null : nextWakeMs(rt.record);
    if (due !== null && due <= core.clock.nowMs()) core.dispatch(id, { type: 'tick' });
  }
  for (const [id, rt] of core.children) {
    if (rt.record.current.attempt > (attemptsBefore.get(id) ?? 0) || (rt.record.current.state === CHILD_STATES.STARTING && rt.record.current.pid === null)) {
      report.started.push(id);
    }
  }
  core.processes.startPolling();
  core.resources.start();
  core.persistence.isBatching = false;
  core.persistence.persistNow();
  core.audit({
    kind: 'event',
    id: null,
    event: 'supervisor.reconciled',
    message: `adopted ${report.adopted.length}, vanished ${report.vanished.length}, started ${report.started.length}, orphans ${report.orphans.length}`,
    data: { adopted: report.adopted, vanished: report.vanished, started: report.started },
  });
  return report;
}
