import { CHILD_STATES, newChildRecord } from './child-record.js';
import { isLiveState } from './child-state.js';
import type { SupervisorCore } from './event-loop.js';
import { ChildLogFiles } from './log-files.js';
import { isLaunchChanged, planEntry, type SupervisedEntry } from './supervised-entry.js';
import type { SyncReport } from './supervisor-types.js';

/**
 * Applies the site file's entries to the table. `full` (startup after re-adoption, a config
 * reload): new entries are added with the target their `manage` says; existing ones get the new
 * spec (a changed command line sets restart_required, applied at the next start) and follow config
 * targets unless an operator overrode them; config entries no longer listed are retired (stopped,
 * then removed). `add` (startup, before re-adoption): only new entries are added.
 */
export function applyEntries(core: SupervisorCore, entries: readonly SupervisedEntry[], mode: 'add' | 'full'): SyncReport {
  const report: SyncReport = { added: [], updated: [], restartRequired: [], retired: [], skipped: [] };
  const seen = new Set<string>();
  const now = core.clock.nowMs();
  for (const entry of entries) {
    let plan;
    try {
      plan = planEntry(entry);
    } catch (err) {
      report.skipped.push({ id: entry.instanceId, reason: `invalid entry: ${(err as Error).message}` });
      continue;
    }
    if (plan === null) {
      report.skipped.push({ id: entry.instanceId, reason: `manage ${entry.manage} is not run by this supervisor` });
      continue;
    }
    const id = plan.spec.id;
    if (seen.has(id)) {
      report.skipped.push({ id, reason: 'duplicate instance id' });
      continue;
    }
    seen.add(id);
    const rt = core.children.get(id);
    if (rt === undefined) {
      core.addChild(newChildRecord(plan.spec, now, 'config'));
      core.audit({ kind: 'event', id, event: 'child.added', message: `from config, target ${plan.target}` });
      core.dispatch(id, { type: 'config', target: plan.target });
      report.added.push(id);
      continue;
    }
    if (mode === 'add') continue;
    if (rt.record.spec.source !== 'config') {
      report.skipped.push({ id, reason: `id already used by a child from ${rt.record.spec.source}` });
      continue;
    }
    const changed = isLaunchChanged(rt.record.spec, plan.spec);
    if (JSON.stringify(rt.record.spec) !== JSON.stringify(plan.spec)) {
      const live = isLiveState(rt.record.current.state) && rt.record.current.state !== CHILD_STATES.STOPPING;
      rt.record = { ...rt.record, spec: plan.spec, current: { ...rt.record.current, isRestartRequired: rt.record.current.isRestartRequired || (changed && live) } };
      rt.logs = new ChildLogFiles(core.logDir, id, plan.spec.log);
      report.updated.push(id);
      if (changed && live) report.restartRequired.push(id);
      core.persistence.markDirty(false);
    }
    core.dispatch(id, { type: 'config', target: plan.target });
  }
  for (const rt of mode === 'full' ? [...core.children.values()] : []) {
    const id = rt.record.spec.id;
    if (rt.record.spec.source === 'config' && !seen.has(id)) {
      core.audit({ kind: 'event', id, event: 'child.retired', message: 'no longer in the config' });
      core.dispatch(id, { type: 'remove', mode: 'stop' });
      report.retired.push(id);
    }
  }
  return report;
}
