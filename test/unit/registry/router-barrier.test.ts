import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AfterPendingInput } from '../../../lib/registry/after-pending-input.js';
import { RouterBarrier } from '../../../lib/registry/router-barrier.js';
import { recordingLogger } from './recording-logger.js';

describe('RouterBarrier', () => {
  let trips: Array<{ resolve: () => void; reject: (err: Error) => void }>;
  let barrier: RouterBarrier;
  let fallbackRuns: Array<() => void>;
  let logger: ReturnType<typeof recordingLogger>;

  beforeEach(() => {
    vi.useFakeTimers();
    trips = [];
    fallbackRuns = [];
    logger = recordingLogger();
    const fallback: AfterPendingInput = (fn) => {
      fallbackRuns.push(fn);
      return () => undefined;
    };
    barrier = new RouterBarrier({
      roundTrip: () => new Promise<void>((resolve, reject) => trips.push({ resolve, reject })),
      retryAfterMs: 5000,
      fallback,
      logger,
    });
  });

  afterEach(() => {
    barrier.close();
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
  });

  it('releases the waiters of a round trip when it comes back; later waiters wait for the next one', async () => {
    const ran: string[] = [];
    barrier.afterPendingInput(() => ran.push('a'));
    expect(trips).toHaveLength(1);
    // queued while the first round trip is under way: it may already be behind them
    barrier.afterPendingInput(() => ran.push('b'));
    barrier.afterPendingInput(() => ran.push('c'));
    expect(trips).toHaveLength(1);
    trips[0]!.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(ran).toEqual(['a']);
    expect(trips).toHaveLength(2);
    trips[1]!.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(trips).toHaveLength(2);
  });

  it('does not run a cancelled waiter', async () => {
    const ran: string[] = [];
    const cancel = barrier.afterPendingInput(() => ran.push('a'));
    cancel();
    trips[0]!.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(ran).toEqual([]);
  });

  it('falls back when the round trip fails (not joined), with a rate-limited warning', async () => {
    const ran: string[] = [];
    barrier.afterPendingInput(() => ran.push('a'));
    trips[0]!.reject(new Error('not connected'));
    await vi.advanceTimersByTimeAsync(0);
    expect(ran).toEqual([]);
    expect(fallbackRuns).toHaveLength(1);
    fallbackRuns[0]!();
    expect(ran).toEqual(['a']);
    expect(logger.at('warn').map((e) => e.msg)).toEqual(['expiry confirmation round trip slow or failed']);
  });

  it('keeps the waiters of a slow round trip and sends it again; whichever comes back first releases them', async () => {
    const ran: string[] = [];
    barrier.afterPendingInput(() => ran.push('a'));
    await vi.advanceTimersByTimeAsync(5000);
    expect(trips).toHaveLength(2);
    expect(ran).toEqual([]);
    expect(logger.at('warn').map((e) => e.fields['reason'])).toEqual(['slow']);
    trips[0]!.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(ran).toEqual(['a']);
    trips[1]!.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(ran).toEqual(['a']);
  });
});
