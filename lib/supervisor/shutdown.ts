import { startLayers } from '../site-config/dependencies.js';
import type { SupervisorCore } from './event-loop.js';
import type { VerbResult } from './supervisor-types.js';
import { DieParamsSchema, parseParams, type DieParams } from './verb-params.js';

/**
 * Orderly shutdown (`die`). stop: every child gets its stop sequence, stragglers SIGKILL; the
 * persisted desired state is unchanged, so the same set comes back on the next start. disown:
 * children keep running and are re-adopted by the next incarnation. Writes the state file one
 * last time, closes the audit trail and releases the lock.
 */
export async function shutDownSupervisor(core: SupervisorCore, params: DieParams): Promise<VerbResult> {
  const p = parseParams(DieParamsSchema, params, 'die');
  if (core.phase === 'closed' || core.phase === 'closing') return { ok: true, message: 'already stopped', results: [] };
  if (core.phase === 'new') {
    core.phase = 'closed';
    return { ok: true, message: 'never started', results: [] };
  }
  core.phase = 'closing';
  core.audit({ kind: 'request', id: null, verb: 'die', params: { ...p }, ok: true, message: `shutting down (${p.mode})` });
  const deadlineMs = core.clock.nowMs() + p.timeoutMs;
  if (p.mode === 'stop') {
    // Dependants first: the start layers reversed, each layer gone before the next is told.
    const layers = startLayers([...core.children.values()].map((rt) => ({ id: rt.record.spec.id, requires: rt.record.spec.requires, after: rt.record.spec.after })));
    for (const layer of layers.reverse()) {
      for (const id of layer) if (core.children.has(id)) core.dispatch(id, { type: 'shutdown' });
      await core.waitUntil(() => layer.every((id) => core.children.get(id)?.record.current.pid == null), deadlineMs);
    }
    await core.waitUntil(() => core.liveChildren().length === 0, deadlineMs);
    const stragglers = core.liveChildren();
    for (const rt of stragglers) {
      const c = rt.record.current;
      if (c.pid !== null) core.control.signal(c.pid, c.pgid, 'SIGKILL');
    }
    if (stragglers.length > 0) await core.waitUntil(() => core.liveChildren().length === 0, core.clock.nowMs() + 2000);
  }
  const left = core.liveChildren().map((rt) => rt.record.spec.id);
  core.processes.stopPolling();
  core.resources.stop();
  core.persistence.cancelPending();
  for (const rt of core.children.values()) {
    core.clock.clearTimeout(rt.wakeTimer);
    rt.handle?.detach();
    rt.handle = null;
  }
  core.persistence.persistNow();
  core.audit({ kind: 'event', id: null, event: 'supervisor.stopped', message: `mode ${p.mode}; left running: ${left.join(', ') || 'none'}` });
  core.phase = 'closed';
  core.historyLog.close();
  core.lock?.release();
  core.lock = null;
  const ok = p.mode === 'disown' || left.length === 0;
  return { ok, message: ok ? `stopped (${p.mode})` : `stopped; still alive: ${left.join(', ')}`, results: [] };
}
