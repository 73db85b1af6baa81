/**
 * An `AfterPendingInput` (after-pending-input.ts) for a WAMP session: a call to one of the
 * session's own procedures comes back to it as an INVOCATION on the same connection, behind every
 * message the router had already sent it, so once the call's RESULT is in, all input the router
 * had routed to the session before it has been handled. That covers a backlog anywhere between
 * the router and this process (socket buffers included), which the event loop alone cannot see.
 *
 * Waiters that arrive while a round trip is under way wait for the next one (the current
 * invocation may already be behind them); one round trip serves every waiter queued before it.
 * When the round trip fails (not joined), the waiters fall back to `fallback`. A round trip that
 * takes longer than `retryAfterMs` is sent again (with a warning) while the first one may still
 * come back: a slow round trip means a backlog, and releasing the waiters then would expire agents
 * whose heartbeats are in that backlog.
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { silentLogger, type Logger } from '../log.js';
import { afterCheckPhase, type AfterPendingInput } from './after-pending-input.js';
import { RateLimitedLog } from '../rate-limited-log.js';

export interface RouterBarrierOptions {
  /** One round trip through the router to this session, e.g. `runtime.call(address, ['get_agent_class'])`. */
  roundTrip(): Promise<unknown>;
  /** A round trip not back after this long is sent again (its waiters keep waiting). */
  retryAfterMs: number;
  /** Used when a round trip fails; default `afterCheckPhase()`. */
  fallback?: AfterPendingInput;
  clock?: Clock;
  logger?: Logger;
}

interface Waiter {
  readonly fn: () => void;
  isCancelled: boolean;
  cancelFallback: (() => void) | undefined;
}

export class RouterBarrier {
  private waiting = new Set<Waiter>();
  private isInFlight = false;
  private isClosed = false;
  private timer: TimerHandle | undefined;
  private readonly clock: Clock;
  private readonly fallback: AfterPendingInput;
  private readonly warnings: RateLimitedLog;

  constructor(private readonly options: RouterBarrierOptions) {
    this.clock = options.clock ?? systemClock;
    this.fallback = options.fallback ?? afterCheckPhase({ clock: this.clock });
    this.warnings = new RateLimitedLog({ clock: this.clock, logger: options.logger ?? silentLogger(), message: 'expiry confirmation round trip slow or failed' });
  }

  /** The `AfterPendingInput` to hand to LivenessTracker. */
  readonly afterPendingInput: AfterPendingInput = (fn) => {
    const waiter: Waiter = { fn, isCancelled: false, cancelFallback: undefined };
    this.waiting.add(waiter);
    if (!this.isInFlight) this.send();
    return () => {
      waiter.isCancelled = true;
      this.waiting.delete(waiter);
      waiter.cancelFallback?.();
    };
  };

  /** Releases nothing more; pending waiters are dropped. */
  close(): void {
    this.isClosed = true;
    this.waiting.clear();
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.warnings.close();
  }

  private send(): void {
    if (this.isClosed || this.waiting.size === 0) return;
    const batch = this.waiting;
    this.waiting = new Set();
    this.isInFlight = true;
    let isSettled = false;
    const settle = (outcome: 'done' | 'failed', err?: unknown): void => {
      if (isSettled) return;
      isSettled = true;
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
      this.isInFlight = false;
      if (this.isClosed) return;
      if (outcome === 'failed') this.warnings.note('failed', { waiters: batch.size, err });
      for (const waiter of batch) {
        if (waiter.isCancelled) continue;
        if (outcome === 'failed') waiter.cancelFallback = this.fallback(waiter.fn);
        else waiter.fn();
      }
      this.send();
    };
    const trip = (): void => {
      let promise: Promise<unknown>;
      try {
        promise = this.options.roundTrip();
      } catch (err) {
        settle('failed', err);
        return;
      }
      promise.then(
        () => settle('done'),
        (err: unknown) => settle('failed', err),
      );
    };
    const retry = (): void => {
      if (isSettled || this.isClosed) return;
      this.warnings.note('slow', { waiters: batch.size, retry_after_ms: this.options.retryAfterMs });
      this.timer = this.clock.setTimeout(retry, this.options.retryAfterMs);
      this.timer.unref?.();
      trip();
    };
    this.timer = this.clock.setTimeout(retry, this.options.retryAfterMs);
    this.timer.unref?.();
    trip();
  }
}
