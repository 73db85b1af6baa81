import { CHILD_STATES } from './child-record.js';
import { SUSPEND_PROBE_GRACE_MS, type ChildEvent } from './child-events.js';
import type { Step } from './child-step.js';
import type { ExitInfo } from './restart-policy.js';

/** The machine's answer to what is observed: spawned, spawn failed, exited, adopted, vanished, heartbeats, /proc probes. */

export function handleObservation(s: Step, event: ChildEvent): void {
  const c = s.c;
  const spec = s.rec.spec;
  switch (event.type) {
    case 'spawned': {
      if (c.state !== CHILD_STATES.STARTING || c.pid !== null) return;
      c.pid = event.pid;
      c.pgid = event.pgid;
      c.startTicks = event.startTicks;
      c.bootId = event.bootId;
      c.startedAtMs = s.now;
      c.isAdopted = false;
      c.isOperable = true;
      c.attempt += 1;
      c.isRestartRequired = false;
      if (c.afterStop !== null) {
        s.beginStop(c.afterStop, c.stopCause ?? 'stop');
        return;
      }
      if (spec.ready === 'heartbeat') {
        c.startDeadlineMs = s.now + spec.readyTimeoutMs;
      } else if (spec.restart.minUptimeMs === 0) {
        s.enter(CHILD_STATES.RUNNING, 'ready: spawned');
      } else {
        c.startDeadlineMs = s.now + spec.restart.minUptimeMs;
      }
      return;
    }
    case 'spawn_failed': {
      if (c.state !== CHILD_STATES.STARTING || c.pid !== null) return;
      c.attempt += 1;
      const exit: ExitInfo = { code: null, signal: null, isKnown: true, uptimeMs: 0, isEarly: true, isForcedFailure: true };
      if (c.afterStop !== null && c.afterStop !== 'fail') {
        s.finishStop(exit, `spawn failed: ${event.message}`);
        return;
      }
      s.handleUnrequestedExit(exit, `spawn failed: ${event.message}`);
      if (c.lastExit) c.lastExit.classification = 'spawn_error';
      return;
    }
    case 'exited': {
      if (c.pid === null || event.pid !== c.pid) return;
      const uptimeMs = s.uptimeMs();
      const early = c.state === CHILD_STATES.STARTING || uptimeMs < spec.restart.minUptimeMs;
      const exit: ExitInfo = { code: event.code, signal: event.signal, isKnown: event.isKnown, uptimeMs, isEarly: early };
      const what = !event.isKnown ? 'process gone (exit unknown)' : event.signal ? `killed by ${event.signal}` : `exited with code ${event.code}`;
      if (c.state === CHILD_STATES.STOPPING) {
        s.finishStop(exit, what);
        return;
      }
      if (c.state === CHILD_STATES.UNKNOWN) return;
      s.handleUnrequestedExit(exit, what);
      return;
    }
    case 'adopted': {
      const prior = c.state === CHILD_STATES.UNKNOWN ? (c.priorState ?? CHILD_STATES.RUNNING) : c.state;
      c.pid = event.pid;
      c.pgid = event.pgid;
      c.startTicks = event.startTicks;
      c.bootId = event.bootId;
      c.isAdopted = true;
      c.isOperable = event.isOperable;
      c.startedAtMs ??= s.now;
      if (prior === CHILD_STATES.STOPPING && c.afterStop !== null) {
        // An interrupted stop: finish it.
        s.beginStop(c.afterStop, c.stopCause ?? 'stop (resumed after restart)');
        return;
      }
      if (prior === CHILD_STATES.STARTING) {
        s.enter(CHILD_STATES.STARTING, event.cause);
        // Heartbeats sent while no supervisor listened were not seen, and a saved state (above
        // all a `.prev` fallback) may be older than the child's readiness: the heartbeat window
        // starts again at adoption. Uptime readiness counts from the recorded start as before.
        c.startDeadlineMs = spec.ready === 'heartbeat' ? s.now + spec.readyTimeoutMs : (c.startedAtMs ?? s.now) + spec.restart.minUptimeMs;
        return;
      }
      if (s.d.suspended) {
        c.suspendedAtMs ??= s.now;
        s.enter(CHILD_STATES.SUSPENDED, event.cause);
        if (!event.isStopped && event.isOperable) {
          c.suspendOpAtMs = s.now;
          s.effects.push({ type: 'signal', signal: 'SIGSTOP' });
        }
        return;
      }
      if (event.isStopped) {
        c.suspendedAtMs ??= s.now;
        s.enter(CHILD_STATES.SUSPENDED, `${event.cause}; stopped by someone else`);
        c.isExternal = true;
        return;
      }
      c.suspendedAtMs = null;
      s.enter(CHILD_STATES.RUNNING, event.cause);
      return;
    }
    case 'vanished': {
      const prior = c.state === CHILD_STATES.UNKNOWN ? (c.priorState ?? CHILD_STATES.RUNNING) : c.state;
      const uptimeMs = s.uptimeMs();
      const exit: ExitInfo = { code: null, signal: null, isKnown: false, uptimeMs, isEarly: prior === CHILD_STATES.STARTING, isCharged: event.isCharged };
      const what = `process ${event.cause === 'reboot' ? 'lost in a reboot' : event.cause === 'reused' ? 'gone (pid reused)' : event.cause === 'zombie' ? 'gone (zombie)' : 'gone'}; exit unknown`;
      if (prior === CHILD_STATES.STOPPING) {
        s.finishStop(exit, what);
        return;
      }
      if (event.cause === 'reboot') {
        s.clearProcess();
        s.recordExit(exit, 'vanished', what);
        s.enter(CHILD_STATES.STOPPED, what);
        return;
      }
      s.handleUnrequestedExit(exit, what);
      return;
    }
    case 'heartbeat': {
      c.heartbeatAtMs = s.now;
      c.isExpired = false;
      c.livenessDeadlineMs = null;
      if (c.state === CHILD_STATES.STARTING && c.pid !== null) s.enter(CHILD_STATES.RUNNING, 'ready: heartbeat');
      return;
    }
    case 'expired': {
      c.isExpired = true;
      if (c.state === CHILD_STATES.RUNNING && spec.hungRestartAfterMs !== null && c.livenessDeadlineMs === null) {
        c.livenessDeadlineMs = s.now + spec.hungRestartAfterMs;
      }
      return;
    }
    case 'probe': {
      const isFresh = c.suspendOpAtMs !== null && s.now - c.suspendOpAtMs < SUSPEND_PROBE_GRACE_MS;
      if (isFresh) return;
      if (c.state === CHILD_STATES.RUNNING && event.isStopped) {
        c.suspendedAtMs = s.now;
        s.enter(CHILD_STATES.SUSPENDED, 'stopped by someone else (SIGSTOP observed)');
        c.isExternal = true;
      } else if (c.state === CHILD_STATES.SUSPENDED && !event.isStopped) {
        if (c.suspendedAtMs !== null) c.suspendedMs += s.now - c.suspendedAtMs;
        c.suspendedAtMs = null;
        s.d.suspended = false;
        s.enter(CHILD_STATES.RUNNING, 'continued by someone else (SIGCONT observed)');
      }
      return;
    }
    case 'dependencies': {
      if (c.state !== CHILD_STATES.PENDING || c.waitingFor.length === 0) return;
      const waiting = s.ctx.waitingFor ?? [];
      if (waiting.length === 0) s.beginStart(`ready: ${c.waitingFor.join(', ')}`);
      else s.waitForDependencies(waiting, 'dependencies');
      return;
    }
    case 'requirement_down': {
      const isLive = c.state === CHILD_STATES.RUNNING || c.state === CHILD_STATES.SUSPENDED || (c.state === CHILD_STATES.STARTING && c.pid !== null);
      if (!isLive || s.d.target !== 'up') return;
      s.beginStop('start', `requirement ${event.id} stopped`);
      return;
    }
    case 'limit_exceeded': {
      if (c.pid === null || (c.state !== CHILD_STATES.RUNNING && c.state !== CHILD_STATES.STARTING)) return;
      c.limitBreach = event.reason;
      s.beginStop('fail', event.reason, 'SIGTERM');
      return;
    }
    default:
      return;
  }
}
