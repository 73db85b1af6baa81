/** Time and timers behind one interface so a fake clock can drive pure logic in tests. */
export interface TimerHandle {
  unref?(): unknown;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  nowMs(): number;
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  setInterval(fn: () => void, intervalMs: number): TimerHandle;
  clearInterval(handle: TimerHandle | undefined): void;
}

/** The system clock. Reads the globals at call time so vitest fake timers control it. */
export const systemClock: Clock = {
  nowMs: () => Date.now(),
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimeout: (handle) => {
    if (handle !== undefined) clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
  setInterval: (fn, intervalMs) => setInterval(fn, intervalMs),
  clearInterval: (handle) => {
    if (handle !== undefined) clearInterval(handle as ReturnType<typeof setInterval>);
  },
};

/** Unix time in float seconds, the unit OCS uses on the wire. */
export function unixSeconds(clock: Clock = systemClock): number {
  return clock.nowMs() / 1000;
}
