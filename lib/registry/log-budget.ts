/**
 * Lifecycle lines (agent appeared, expired, ...) within a budget. A registry restart at 10,000
 * agents makes 10,000 agents appear within a second; writing 10,000 log lines then costs the
 * registry time it needs for heartbeats, and buries everything else in the log. The first
 * `burst` lines of a kind in an interval are logged as they come; the rest are counted and one
 * summary line per kind goes out when the interval ends. The change events themselves are all
 * published on `agent_status`.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../log.js';

export const LOG_BUDGET_INTERVAL_MS = 10_000;
export const LOG_BUDGET_BURST = 50;

export interface LogBudgetOptions {
  clock: Clock;
  logger: Logger;
  /** Default LOG_BUDGET_INTERVAL_MS. */
  intervalMs?: number;
  /** Lines of one kind logged per interval before they are only counted. Default LOG_BUDGET_BURST. */
  burst?: number;
}

interface KindState {
  logged: number;
  suppressed: number;
  timer: TimerHandle | undefined;
}

export class LogBudget {
  private readonly kinds = new Map<string, KindState>();
  private readonly intervalMs: number;
  private readonly burst: number;

  constructor(private readonly options: LogBudgetOptions) {
    this.intervalMs = options.intervalMs ?? LOG_BUDGET_INTERVAL_MS;
    this.burst = options.burst ?? LOG_BUDGET_BURST;
  }

  /** Logs `message` at info with `fields`, or counts it when its kind (the message) is over budget. */
  info(fields: Record<string, unknown>, message: string): void {
    let state = this.kinds.get(message);
    if (state === undefined) {
      state = { logged: 0, suppressed: 0, timer: undefined };
      this.kinds.set(message, state);
    }
    if (state.timer === undefined) {
      const s = state;
      s.timer = this.options.clock.setTimeout(() => this.endInterval(message, s), this.intervalMs);
      s.timer.unref?.();
    }
    if (state.logged < this.burst) {
      state.logged++;
      this.options.logger.info(fields, message);
    } else {
      state.suppressed++;
    }
  }

  /** Clears the timers; counts not yet summarised are dropped. */
  close(): void {
    for (const state of this.kinds.values()) {
      this.options.clock.clearTimeout(state.timer);
      state.timer = undefined;
    }
  }

  private endInterval(message: string, state: KindState): void {
    state.timer = undefined;
    if (state.suppressed > 0) {
      this.options.logger.info({ not_logged: state.suppressed, interval_ms: this.intervalMs }, `${message} (more, not logged one by one)`);
    }
    state.logged = 0;
    state.suppressed = 0;
  }
}
