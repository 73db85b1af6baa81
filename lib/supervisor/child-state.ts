import { CHILD_STATES, type ChildRecord } from './child-record.js';
import type { ChildEvent, StepContext, StepResult } from './child-events.js';
import { handleObservation } from './child-observations.js';
import { handleLifecycle, handleOp } from './child-requests.js';
import { Step } from './child-step.js';
import { handleTick } from './child-timers.js';

export * from './child-events.js';

/**
 * The per-child state machine, as one pure function: (record, event, context) → (record,
 * effects, transitions, reply). Operator requests change the desired state (child-requests.ts);
 * observations (spawn, exit, /proc probes, heartbeats) change the current state
 * (child-observations.ts); timers are deadlines kept in the record and delivered as `tick`
 * (child-timers.ts). The caller executes the effects (spawn, signals).
 */

/** Brings current toward desired when nothing else is going on. */
function settle(s: Step): void {
  if (s.isRemoved) return;
  const c = s.c;
  const target = s.d.target;
  if (target === 'up') {
    if ((c.state === CHILD_STATES.STOPPED || c.state === CHILD_STATES.KILLED) && s.rec.spec.cmd !== null && !s.ctx.isHeld) {
      s.beginStart('target up');
    }
    return;
  }
  if (target === 'down') {
    if (c.state === CHILD_STATES.RUNNING || c.state === CHILD_STATES.SUSPENDED || (c.state === CHILD_STATES.STARTING && c.afterStop === null)) {
      s.requestStop('stopped', 'target down');
    } else if (c.state === CHILD_STATES.BACKOFF || c.state === CHILD_STATES.PENDING) {
      s.enter(CHILD_STATES.STOPPED, 'target down');
    }
  }
}

/**
 * Marks a record loaded from disk whose process is not verified yet (supervisor restart). The
 * saved state is kept in `priorState`, and the stop in progress (if any) is kept, so that
 * `adopted` / `vanished` can carry on from where the previous incarnation was.
 */
export function markUnknown(record: ChildRecord, nowMs: number): ChildRecord {
  const rec = structuredClone(record);
  const c = rec.current;
  if (c.state === CHILD_STATES.UNKNOWN) return rec;
  c.priorState = c.state;
  c.state = CHILD_STATES.UNKNOWN;
  c.sinceMs = nowMs;
  c.reason = `supervisor restarted; was ${c.priorState}`;
  c.startDeadlineMs = null;
  c.stopDeadlineMs = null;
  c.livenessDeadlineMs = null;
  return rec;
}

/** The state machine: one event applied to one child record. Never mutates its input. */
export function stepChild(record: ChildRecord, event: ChildEvent, ctx: StepContext): StepResult {
  const before = JSON.stringify(record.desired);
  const s = new Step(structuredClone(record), ctx);
  switch (event.type) {
    case 'start':
    case 'stop':
    case 'restart':
    case 'kill':
    case 'suspend':
    case 'resume':
    case 'signal':
    case 'reset':
    case 'cancel':
    case 'update':
    case 'remove':
    case 'schedule':
      handleOp(s, event);
      break;
    case 'config':
    case 'shutdown':
      handleLifecycle(s, event);
      break;
    case 'tick':
      handleTick(s);
      break;
    case 'settle':
      break;
    default:
      handleObservation(s, event);
  }
  if (s.reply.message === '') s.reply = { ok: true, message: s.rec.current.state };
  settle(s);
  return {
    record: s.rec,
    effects: s.effects,
    transitions: s.transitions,
    reply: s.reply,
    isDesiredChanged: JSON.stringify(s.rec.desired) !== before,
    isRemoved: s.isRemoved,
  };
}
