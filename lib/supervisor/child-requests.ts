import { CHILD_STATES } from './child-record.js';
import { isIdleState, isLiveState, type ChildEvent } from './child-events.js';
import type { Step } from './child-step.js';
import { nextFireMs } from './schedule.js';

/** The machine's answer to operator requests (start, stop, kill, suspend, remove, schedule, …) and to config and shutdown. */

export function handleOp(s: Step, event: ChildEvent): void {
  const c = s.c;
  const spec = s.rec.spec;
  switch (event.type) {
    case 'start': {
      if (spec.cmd === null) return s.say(false, 'no command to start this child with (adopted without a command)');
      s.setTarget('up', 'start');
      c.isSettled = false;
      switch (c.state) {
        case CHILD_STATES.RUNNING:
        case CHILD_STATES.STARTING:
        case CHILD_STATES.UNKNOWN:
          return s.say(true, 'already running');
        case CHILD_STATES.SUSPENDED:
          return s.say(true, 'already running (suspended)');
        case CHILD_STATES.STOPPING:
          if (c.afterStop === 'remove') return s.say(false, 'being removed');
          c.afterStop = 'start';
          return s.say(true, 'will start once stopped');
        case CHILD_STATES.CRASHED:
          c.failTimesMs = [];
          c.consecutive = 0;
          s.beginStart('start (budget cleared)');
          return s.say(true, 'starting');
        default:
          if (c.state === CHILD_STATES.PENDING) s.consumeOnce();
          s.beginStart('start');
          return s.say(true, c.state === CHILD_STATES.PENDING ? `waiting for ${c.waitingFor.join(', ')} (not ready)` : 'starting');
      }
    }
    case 'restart': {
      if (spec.cmd === null) return s.say(false, 'no command to restart this child with (adopted without a command)');
      s.setTarget('up', 'restart');
      c.isSettled = false;
      if (c.state === CHILD_STATES.RUNNING || c.state === CHILD_STATES.SUSPENDED || (c.state === CHILD_STATES.STARTING && c.pid !== null)) {
        s.beginStop('start', 'restart');
        return s.say(true, 'restarting');
      }
      if (c.state === CHILD_STATES.STARTING) return s.say(true, 'starting');
      if (c.state === CHILD_STATES.STOPPING) {
        if (c.afterStop === 'remove') return s.say(false, 'being removed');
        c.afterStop = 'start';
        return s.say(true, 'will start once stopped');
      }
      if (c.state === CHILD_STATES.UNKNOWN) return s.say(false, 'state not known yet');
      if (c.state === CHILD_STATES.CRASHED) {
        c.failTimesMs = [];
        c.consecutive = 0;
      }
      if (c.state === CHILD_STATES.PENDING) s.consumeOnce();
      s.beginStart('restart');
      return s.say(true, c.state === CHILD_STATES.PENDING ? `waiting for ${c.waitingFor.join(', ')} (not ready)` : 'starting');
    }
    case 'stop':
    case 'update': {
      const target = event.type === 'update' ? event.target : 'down';
      if (target === 'up') {
        if (spec.cmd === null) return s.say(false, 'no command to start this child with (adopted without a command)');
        s.setTarget('up', 'update up');
        if (c.state === CHILD_STATES.STOPPING && c.afterStop === 'stopped') c.afterStop = 'start';
        if (c.state === CHILD_STATES.EXITED) return s.say(true, 'target up; exited and settled (use start to run it again)');
        if (c.state === CHILD_STATES.CRASHED) return s.say(true, 'target up; crashed (use start or reset)');
        return s.say(true, 'target up');
      }
      s.setTarget('down', event.type);
      switch (c.state) {
        case CHILD_STATES.PENDING:
        case CHILD_STATES.BACKOFF:
          s.consumeOnce();
          s.enter(CHILD_STATES.STOPPED, event.type);
          return s.say(true, 'stopped');
        case CHILD_STATES.STOPPING:
          if (c.afterStop === 'start') c.afterStop = 'stopped';
          return s.say(true, 'already stopping');
        case CHILD_STATES.STOPPED:
        case CHILD_STATES.EXITED:
        case CHILD_STATES.KILLED:
        case CHILD_STATES.CRASHED:
          return s.say(true, `not running (${c.state})`);
        default:
          s.requestStop('stopped', event.type);
          return;
      }
    }
    case 'kill': {
      s.setTarget('down', 'kill');
      if (c.state === CHILD_STATES.PENDING || c.state === CHILD_STATES.BACKOFF) {
        s.consumeOnce();
        s.enter(CHILD_STATES.KILLED, `kill (${event.signal})`);
        return s.say(true, 'killed (nothing was running)');
      }
      if (!isLiveState(c.state)) return s.say(true, `not running (${c.state})`);
      if (!c.isOperable) return s.say(false, 'not permitted to signal this process');
      s.requestStop('killed', `kill (${event.signal})`, event.signal);
      if (s.reply.message === '') s.say(true, 'killing');
      return;
    }
    case 'suspend': {
      if (c.state === CHILD_STATES.SUSPENDED) {
        s.d.suspended = true;
        c.isExternal = false;
        return s.say(true, 'already suspended');
      }
      if (c.state === CHILD_STATES.STARTING) return s.say(false, 'cannot suspend while starting');
      if (c.state !== CHILD_STATES.RUNNING) return s.say(false, `not running (${c.state})`);
      if (!c.isOperable) return s.say(false, 'not permitted to signal this process');
      s.d.suspended = true;
      s.d.reason = 'suspend';
      s.d.changedAtMs = s.now;
      c.suspendedAtMs = s.now;
      c.suspendOpAtMs = s.now;
      s.enter(CHILD_STATES.SUSPENDED, 'suspend');
      s.effects.push({ type: 'signal', signal: 'SIGSTOP' });
      return s.say(true, 'suspended');
    }
    case 'resume': {
      if (c.state === CHILD_STATES.RUNNING) {
        s.d.suspended = false;
        return s.say(true, 'not suspended');
      }
      if (c.state !== CHILD_STATES.SUSPENDED) return s.say(false, `not suspended (${c.state})`);
      if (!c.isOperable) return s.say(false, 'not permitted to signal this process');
      s.d.suspended = false;
      s.d.reason = 'resume';
      s.d.changedAtMs = s.now;
      if (c.suspendedAtMs !== null) c.suspendedMs += s.now - c.suspendedAtMs;
      c.suspendedAtMs = null;
      c.suspendOpAtMs = s.now;
      s.enter(CHILD_STATES.RUNNING, 'resume');
      s.effects.push({ type: 'signal', signal: 'SIGCONT' });
      return s.say(true, 'resumed');
    }
    case 'signal': {
      if (c.pid === null) return s.say(false, `not running (${c.state})`);
      if (!c.isOperable) return s.say(false, 'not permitted to signal this process');
      s.effects.push({ type: 'signal', signal: event.signal });
      return s.say(true, `sent ${event.signal}`);
    }
    case 'reset': {
      c.failTimesMs = [];
      c.consecutive = 0;
      c.isStuck = false;
      if (c.state === CHILD_STATES.CRASHED) {
        if (s.d.target === 'up' && spec.cmd !== null && !s.ctx.isHeld) {
          s.beginStart('reset');
          return s.say(true, 'reset; starting');
        }
        s.enter(CHILD_STATES.STOPPED, 'reset');
      }
      return s.say(true, 'reset');
    }
    case 'cancel': {
      if (c.state !== CHILD_STATES.PENDING) return s.say(false, `not pending (${c.state})`);
      s.d.schedule = null;
      c.scheduleNextMs = null;
      s.setTarget('down', 'cancel');
      s.enter(CHILD_STATES.STOPPED, 'cancel');
      if (!event.keep) {
        s.effects.push({ type: 'remove' });
        s.isRemoved = true;
        return s.say(true, 'cancelled and removed');
      }
      return s.say(true, 'cancelled');
    }
    case 'remove': {
      const hasProcess = isLiveState(c.state);
      if (!hasProcess) {
        s.effects.push({ type: 'remove' });
        s.isRemoved = true;
        return s.say(true, 'removed');
      }
      if (event.mode === 'disown') {
        s.effects.push({ type: 'disown' });
        s.isRemoved = true;
        return s.say(true, c.pid === null ? 'removed' : `removed; pid ${c.pid} left running`);
      }
      if (!c.isOperable) return s.say(false, 'not permitted to signal this process (use disown)');
      s.requestStop('remove', `remove (${event.mode})`, event.mode === 'kill' ? 'SIGKILL' : undefined);
      return s.say(true, 'stopping, then removing');
    }
    case 'schedule': {
      const schedule = event.schedule;
      s.d.schedule = schedule;
      s.d.reason = schedule === null ? 'schedule cleared' : 'schedule set';
      s.d.changedAtMs = s.now;
      c.scheduleLastFireMs = null;
      c.scheduleNextMs = schedule === null ? null : nextFireMs(schedule, s.now, null);
      if (schedule === null) {
        if (c.state === CHILD_STATES.PENDING) {
          s.setTarget('down', 'schedule cleared');
          s.enter(CHILD_STATES.STOPPED, 'schedule cleared');
        }
        return s.say(true, 'schedule cleared');
      }
      if (isIdleState(c.state) && spec.cmd !== null) {
        s.setTarget('up', 'schedule');
        c.isSettled = false;
        if (event.runNow && !s.ctx.isHeld) {
          s.beginStart('schedule: run now');
        } else if (c.state !== CHILD_STATES.PENDING) {
          s.enter(CHILD_STATES.PENDING, 'schedule');
        }
      }
      return s.say(true, c.scheduleNextMs === null ? 'scheduled; no further fire' : `next fire at ${new Date(c.scheduleNextMs).toISOString()}`);
    }
    default:
      return;
  }
}

export function handleLifecycle(s: Step, event: ChildEvent): void {
  const c = s.c;
  switch (event.type) {
    case 'config': {
      if (s.d.owner !== 'config') return s.say(true, 'kept operator target');
      if (s.d.target !== event.target) s.setTarget(event.target, 'config', 'config');
      return s.say(true, `target ${event.target}`);
    }
    case 'shutdown': {
      if (c.state === CHILD_STATES.STOPPING) {
        if (c.afterStop === 'start') c.afterStop = 'stopped';
        return;
      }
      if (c.state === CHILD_STATES.STARTING || c.state === CHILD_STATES.RUNNING || c.state === CHILD_STATES.SUSPENDED || c.state === CHILD_STATES.UNKNOWN) {
        s.requestStop('stopped', 'supervisor shutdown');
      }
      return;
    }
    default:
      return;
  }
}
