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
      maxWaitMs: 5000,
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
    expect(logger.at('warn').map((e) => e.msg)).toEqual(['router round trip did not confirm']);
  });

  it('releases the waiters after maxWaitMs when the round trip does not come back', async () => {
    const ran: string[] = [];
    barrier.afterPendingInput(() => ran.push('a'));
    await vi.advanceTimersByTimeAsync(4999);
    expect(ran).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(ran).toEqual(['a']);
    trips[0]!.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(ran).toEqual(['a']);
  });
});
