import { CHILD_STATES } from './child-record.js';
import { isIdleState } from './child-events.js';
import type { Step } from './child-step.js';
import { nextFireMs, shouldRunFire } from './schedule.js';

/** The machine's deadlines, delivered as `tick`: start and stop timeouts, backoff, cooldown, hung children, schedule fires. */

function fireSchedule(s: Step): void {
  const c = s.c;
  const schedule = s.d.schedule;
  const dueMs = c.scheduleNextMs;
  if (schedule === null || dueMs === null) {
    c.scheduleNextMs = null;
    return;
  }
  const shouldRun = shouldRunFire(schedule, dueMs, s.now);
  c.scheduleLastFireMs = dueMs;
  if (schedule.kind === 'once') {
    s.d.schedule = null;
    c.scheduleNextMs = null;
  } else {
    c.scheduleNextMs = nextFireMs(schedule, s.now, dueMs);
  }
  if (!shouldRun) {
    if (c.state === CHILD_STATES.PENDING && s.d.schedule === null) {
      s.setTarget('down', 'schedule missed');
      s.enter(CHILD_STATES.STOPPED, 'scheduled start missed (skipped)');
    }
    return;
  }
  const state = c.state;
  if (isIdleState(state)) {
    s.setTarget('up', 'schedule', s.d.owner);
    s.beginStart(`schedule (${schedule.kind})`);
    return;
  }
  if (schedule.action === 'restart' && (state === CHILD_STATES.RUNNING || state === CHILD_STATES.SUSPENDED)) {
    s.beginStop('start', 'schedule (restart)');
  }
  // start while running, or while in BACKOFF / CRASHED / STOPPING: the fire is skipped.
}

export function handleTick(s: Step): void {
  const c = s.c;
  const spec = s.rec.spec;
  const now = s.now;
  if (c.state === CHILD_STATES.STARTING && c.startDeadlineMs !== null && c.startDeadlineMs <= now && c.pid !== null) {
    if (spec.ready === 'uptime') {
      s.enter(CHILD_STATES.RUNNING, 'ready: min uptime reached');
    } else {
      s.beginStop('fail', `no heartbeat within ${spec.readyTimeoutMs} ms (start timeout)`);
    }
  } else if (c.state === CHILD_STATES.STOPPING && c.stopDeadlineMs !== null && c.stopDeadlineMs <= now) {
    if (c.stopPhase === 'signal') {
      c.stopPhase = 'kill';
      c.stopDeadlineMs = now + spec.killTimeoutMs;
      c.reason = `${c.stopCause ?? 'stop'}; no exit after ${spec.stopTimeoutMs} ms, SIGKILL`;
      s.effects.push({ type: 'signal', signal: 'SIGKILL' });
    } else {
      c.stopPhase = 'stuck';
      c.stopDeadlineMs = null;
      c.isStuck = true;
      c.reason = `${c.stopCause ?? 'stop'}; still alive ${spec.killTimeoutMs} ms after SIGKILL (stuck)`;
    }
  } else if (c.state === CHILD_STATES.BACKOFF && c.nextAtMs !== null && c.nextAtMs <= now && !s.ctx.isHeld) {
    s.beginStart('backoff elapsed');
  } else if (c.state === CHILD_STATES.CRASHED && c.nextAtMs !== null && c.nextAtMs <= now && !s.ctx.isHeld) {
    c.failTimesMs = [];
    c.consecutive = 0;
    s.beginStart('cooldown elapsed (fresh budget)');
  } else if (c.state === CHILD_STATES.PENDING && c.dependencyDeadlineMs !== null && c.dependencyDeadlineMs <= now) {
    const waiting = c.waitingFor.join(', ');
    s.enter(CHILD_STATES.CRASHED, `dependency timeout: ${waiting} not ready within ${spec.dependencyTimeoutMs / 1000} s`);
    c.nextAtMs = spec.restart.cooldownMs === null ? null : now + spec.restart.cooldownMs;
  } else if (c.state === CHILD_STATES.RUNNING && c.livenessDeadlineMs !== null && c.livenessDeadlineMs <= now) {
    s.beginStop('fail', `heartbeats expired for ${spec.hungRestartAfterMs} ms while the process lives (hung)`);
  }
  if (c.scheduleNextMs !== null && c.scheduleNextMs <= now && !s.ctx.isHeld) fireSchedule(s);
}
