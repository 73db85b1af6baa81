import type { Clock, TimerHandle } from './clock.js';
import type { Logger } from './log.js';

/**
 * The one rate-limited logger: for lines that can come in floods (junk input, a registry seeing
 * 10,000 agents appear at once, a full buffer). Per key, the first `burst` lines of an interval
 * are logged as they come; the rest are counted, and one summary line goes out when the interval
 * ends, which opens the next interval (the summary counts as its first line). So a flood costs at
 * most `burst` lines per key per interval, and nothing goes unreported.
 *
 * Two styles of line:
 * - `drops` (default): a fixed `message` ("heartbeat dropped"); the key is the reason. Every line
 *   carries `reason`, `dropped` (what it reports: 1, or the count held back) and `dropped_total`;
 *   a summary carries the fields of the latest held-back line. `totals()` gives counts per reason.
 * - `summary`: the key is the line's own message; lines are logged as given, at `info` unless
 *   `level` says otherwise, and the summary is `<message> (more, not logged one by one)` with
 *   `not_logged` and `interval_ms`.
 */

export const RATE_LIMIT_INTERVAL_MS = 10_000;

export interface RateLimitedLogOptions {
  clock: Clock;
  logger: Logger;
  /** `drops` (default) or `summary`; see above. */
  style?: 'drops' | 'summary';
  /** The message of every line in the `drops` style. */
  message?: string;
  /** Default warn for `drops`, info for `summary`. */
  level?: 'info' | 'warn';
  /** Default RATE_LIMIT_INTERVAL_MS. */
  intervalMs?: number;
  /** Lines of one key logged per interval before they are only counted. Default 1. */
  burst?: number;
}

interface KeyState {
  total: number;
  /** Lines counted and not yet reported. */
  pending: number;
  logged: number;
  intervalStartMs: number;
  /** Fields of the latest held-back line. */
  lastFields: Record<string, unknown> | undefined;
  timer: TimerHandle | undefined;
}

export class RateLimitedLog {
  private readonly keys = new Map<string, KeyState>();
  private readonly style: 'drops' | 'summary';
  private readonly level: 'info' | 'warn';
  private readonly intervalMs: number;
  private readonly burst: number;

  constructor(private readonly options: RateLimitedLogOptions) {
    this.style = options.style ?? 'drops';
    if (this.style === 'drops' && options.message === undefined) throw new TypeError('RateLimitedLog: the drops style needs a message');
    this.level = options.level ?? (this.style === 'drops' ? 'warn' : 'info');
    this.intervalMs = options.intervalMs ?? RATE_LIMIT_INTERVAL_MS;
    this.burst = Math.max(1, options.burst ?? 1);
  }

  /** One line for `key` (a reason, or in the summary style the message): logged now, or counted. */
  note(key: string, fields?: Record<string, unknown>): void {
    const nowMs = this.options.clock.nowMs();
    let state = this.keys.get(key);
    if (state === undefined) {
      state = { total: 0, pending: 0, logged: 0, intervalStartMs: nowMs, lastFields: undefined, timer: undefined };
      this.keys.set(key, state);
    }
    state.total++;
    if (nowMs - state.intervalStartMs >= this.intervalMs && state.pending === 0) {
      state.intervalStartMs = nowMs;
      state.logged = 0;
    }
    if (state.logged < this.burst && state.pending === 0) {
      state.logged++;
      this.write(key, state, fields, 1);
      return;
    }
    state.pending++;
    state.lastFields = fields;
    if (state.timer === undefined) {
      const s = state;
      s.timer = this.options.clock.setTimeout(() => this.endInterval(key, s), Math.max(0, s.intervalStartMs + this.intervalMs - nowMs));
      s.timer.unref?.();
    }
  }

  /** Lines noted per key since construction (logged or not). */
  totals(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, state] of this.keys) out[key] = state.total;
    return out;
  }

  /** Clears pending timers; counts not yet reported stay in `totals()`. */
  close(): void {
    for (const state of this.keys.values()) {
      this.options.clock.clearTimeout(state.timer);
      state.timer = undefined;
    }
  }

  private endInterval(key: string, state: KeyState): void {
    state.timer = undefined;
    if (state.pending === 0) return;
    const held = state.pending;
    state.pending = 0;
    state.intervalStartMs = this.options.clock.nowMs();
    state.logged = 1;
    if (this.style === 'drops') {
      this.write(key, state, state.lastFields, held);
    } else {
      this.options.logger[this.level]({ not_logged: held, interval_ms: this.intervalMs }, `${key} (more, not logged one by one)`);
    }
    state.lastFields = undefined;
  }

  private write(key: string, state: KeyState, fields: Record<string, unknown> | undefined, count: number): void {
    const log = this.options.logger;
    if (this.style === 'summary') log[this.level](fields ?? {}, key);
    else log[this.level]({ ...fields, reason: key, dropped: count, dropped_total: state.total }, this.options.message ?? key);
  }
}
