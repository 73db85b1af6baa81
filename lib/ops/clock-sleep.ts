import type { Clock, TimerHandle } from '../clock.js';

/** Node's setTimeout fires at once above this; longer sleeps are chained. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Resolves after `durationMs` on `clock` (Infinity: never), or early when `signal` aborts.
 * Resolves `true` when the full time passed and `false` when cut short. Leaves no timer behind.
 * With `signal` already aborted it resolves on the next timer tick, not in a microtask, so a loop
 * that keeps sleeping after a stop cannot starve the event loop.
 */
export function clockSleep(clock: Clock, durationMs: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return new Promise((resolve) => clock.setTimeout(() => resolve(false), 0));
  const isForever = durationMs === Infinity;
  let remainingMs = isForever ? 0 : Math.max(0, durationMs || 0);
  return new Promise((resolve) => {
    let handle: TimerHandle | undefined;
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      resolve(false);
    };
    const arm = (): void => {
      const stepMs = isForever ? MAX_TIMER_MS : Math.min(remainingMs, MAX_TIMER_MS);
      remainingMs -= isForever ? 0 : stepMs;
      handle = clock.setTimeout(() => {
        if (isForever || remainingMs > 0) return arm();
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      }, stepMs);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    arm();
  });
}
