/**
 * Rate-limited warnings for dropped input. The first drop of a reason is logged at once; later
 * drops of that reason within `intervalMs` are counted, and the count goes out in one warning
 * when the interval ends. So a flood of junk costs at most one log line per reason per interval,
 * and no drop goes unreported.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../log.js';

export const DROP_WARN_INTERVAL_MS = 10_000;

export interface DropWarnerOptions {
  clock: Clock;
  logger: Logger;
  /** Default DROP_WARN_INTERVAL_MS. */
  intervalMs?: number;
  /** The log message, e.g. `heartbeat dropped`. */
  message: string;
}

interface ReasonState {
  total: number;
  /** Drops not yet reported. */
  pending: number;
  lastWarnAtMs: number;
  /** Fields of the latest unreported drop. */
  lastFields: Record<string, unknown> | undefined;
  timer: TimerHandle | undefined;
}

export class DropWarner {
  private readonly reasons = new Map<string, ReasonState>();
  private readonly intervalMs: number;

  constructor(private readonly options: DropWarnerOptions) {
    this.intervalMs = options.intervalMs ?? DROP_WARN_INTERVAL_MS;
  }

  /** Counts one drop; warns now or schedules the next warning for this reason. */
  note(reason: string, fields?: Record<string, unknown>): void {
    const nowMs = this.options.clock.nowMs();
    let state = this.reasons.get(reason);
    if (state === undefined) {
      state = { total: 0, pending: 0, lastWarnAtMs: -Infinity, lastFields: undefined, timer: undefined };
      this.reasons.set(reason, state);
    }
    state.total++;
    state.pending++;
    state.lastFields = fields;
    if (nowMs - state.lastWarnAtMs >= this.intervalMs) {
      this.warn(reason, state, nowMs);
    } else if (state.timer === undefined) {
      const s = state;
      s.timer = this.options.clock.setTimeout(() => {
        s.timer = undefined;
        if (s.pending > 0) this.warn(reason, s, this.options.clock.nowMs());
      }, s.lastWarnAtMs + this.intervalMs - nowMs);
      s.timer.unref?.();
    }
  }

  /** Drops counted per reason since construction. */
  totals(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [reason, state] of this.reasons) out[reason] = state.total;
    return out;
  }

  /** Clears pending timers (unreported counts stay in `totals()`). */
  close(): void {
    for (const state of this.reasons.values()) {
      this.options.clock.clearTimeout(state.timer);
      state.timer = undefined;
    }
  }

  private warn(reason: string, state: ReasonState, nowMs: number): void {
    this.options.logger.warn({ ...state.lastFields, reason, dropped: state.pending, dropped_total: state.total }, this.options.message);
    state.pending = 0;
    state.lastFields = undefined;
    state.lastWarnAtMs = nowMs;
  }
}
