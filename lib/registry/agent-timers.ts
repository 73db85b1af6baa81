/**
 * Each tracked agent's one timer and its pending expiry confirmation (liveness-tracker.ts): arming
 * no later than a due time (an earlier pending timer is kept, so a heartbeat costs no timer call),
 * and confirming a due deadline only after the input that had arrived by then was handled.
 */
import type { Clock } from '../clock.js';
import type { AfterPendingInput } from './after-pending-input.js';
import type { TrackedAgent } from './tracked-agent.js';

/** Longest delay a Node timer takes; longer waits re-arm. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;
/** Marks a confirmation being queued (see `queueConfirm`). */
const CONFIRM_QUEUING = (): void => undefined;

export class AgentTimers {
  constructor(
    private readonly clock: Clock,
    private readonly afterPendingInput: AfterPendingInput,
  ) {}

  /** Makes sure the agent's timer fires no later than `dueMs`; an earlier pending timer is kept. */
  schedule(agent: TrackedAgent, dueMs: number, nowMs: number): void {
    if (agent.timer !== undefined) {
      if (agent.timerDueMs <= dueMs) return;
      this.clock.clearTimeout(agent.timer);
    }
    const delayMs = Math.min(Math.max(0, dueMs - nowMs), MAX_TIMER_DELAY_MS);
    agent.timerDueMs = nowMs + delayMs;
    agent.timer = this.clock.setTimeout(agent.fire, delayMs);
    agent.timer.unref?.();
  }

  clear(agent: TrackedAgent): void {
    this.clock.clearTimeout(agent.timer);
    agent.timer = undefined;
  }

  /** Runs `agent.confirm` once the pending input has been handled (at most one pending per agent). */
  queueConfirm(agent: TrackedAgent): void {
    if (agent.cancelConfirm !== undefined) return;
    agent.cancelConfirm = CONFIRM_QUEUING;
    const cancel = this.afterPendingInput(agent.confirm);
    // an `afterPendingInput` that runs `fn` at once has already cleared it
    if (agent.cancelConfirm === CONFIRM_QUEUING) agent.cancelConfirm = cancel;
  }

  cancelConfirm(agent: TrackedAgent): void {
    agent.cancelConfirm?.();
    agent.cancelConfirm = undefined;
  }
}
