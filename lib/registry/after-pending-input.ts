/**
 * How the liveness tracker makes sure that an agent whose deadline passed really sent nothing in
 * time. Node runs due timers before it reads the sockets, so a deadline timer can fire while the
 * heartbeat that beat the deadline still waits to be read: behind a long synchronous job, a GC
 * pause, or a backlog of messages the process has not worked off yet. So the tracker does not
 * expire an agent when its timer fires; it asks an `AfterPendingInput` to call back once the
 * input that had arrived by then has been handled, and expires the agent only if no heartbeat
 * moved its deadline meanwhile. An idle process confirms within the same loop turn (or one
 * router round trip); a busy one expires late rather than wrongly.
 *
 * - `afterCheckPhase` (the default): Node's check phase (`setImmediate`) comes after the poll
 *   phase has handled the I/O that was ready. A check phase that comes more than
 *   LOOP_LAG_TOLERANCE_MS after it was queued means the loop is still working off a backlog, so
 *   it waits for the next one, for at most `maxWaitMs`.
 * - When the loop was found behind, more may still be on its way (in the socket buffers, or held
 *   by the router while this process was not reading): `ifBehind` then confirms once more. The
 *   RegistryAgent passes a router round trip there (router-barrier.ts). An idle process does not
 *   pay for it: its expiries are confirmed in the same loop turn.
 */
import { systemClock, type Clock } from '../clock.js';

/** Calls `fn` once the input that has arrived by now has been handled; returns a canceller. */
export type AfterPendingInput = (fn: () => void) => () => void;

/** A check phase later than this after it was queued means the event loop is still busy with queued work. */
export const LOOP_LAG_TOLERANCE_MS = 25;
/** `afterCheckPhase` gives up waiting for a quiet loop after this long. */
export const CHECK_PHASE_MAX_WAIT_MS = 5000;

export interface CheckPhaseOptions {
  clock?: Clock;
  toleranceMs?: number;
  maxWaitMs?: number;
  /** Confirms once more when the loop was found behind (default: nothing more). */
  ifBehind?: AfterPendingInput;
}

/** The default `AfterPendingInput`: Node's check phase, once the loop keeps up. Reads the globals at call time (vitest fake timers). */
export function afterCheckPhase(options: CheckPhaseOptions = {}): AfterPendingInput {
  const clock = options.clock ?? systemClock;
  const toleranceMs = options.toleranceMs ?? LOOP_LAG_TOLERANCE_MS;
  const maxWaitMs = options.maxWaitMs ?? CHECK_PHASE_MAX_WAIT_MS;
  return (fn) => {
    const startMs = clock.nowMs();
    let queuedAtMs = startMs;
    let wasBehind = false;
    let cancelMore: (() => void) | undefined;
    const run = (): void => {
      handle = undefined;
      const nowMs = clock.nowMs();
      if (nowMs - queuedAtMs > toleranceMs) {
        wasBehind = true;
        if (nowMs - startMs < maxWaitMs) {
          queuedAtMs = nowMs;
          handle = setImmediate(run);
          return;
        }
      }
      if (wasBehind && options.ifBehind !== undefined) cancelMore = options.ifBehind(fn);
      else fn();
    };
    let handle: ReturnType<typeof setImmediate> | undefined = setImmediate(run);
    return () => {
      if (handle !== undefined) clearImmediate(handle);
      handle = undefined;
      cancelMore?.();
    };
  };
}
