import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** The cap `ocs router` and `ocs up` use. */
export const ROUTER_YOUNG_GEN_MB = 8;

/**
 * Keeps V8's young generation of a router process at or below a size.
 *
 * Under sustained traffic V8 doubles the new space after scavenges until it reaches its maximum
 * (32 MB on 64-bit: two 16 MB semi-spaces), so a router relaying 100k+ messages a second sits
 * at about 25 MB more resident memory than it needs. `--max-semi-space-size` would set the limit
 * but only on the node command line, which the `ocs` commands do not control (npx, npm start,
 * a HostManager launching `ocs`). So after every GC this looks at the new space and turns V8's
 * growth off (`--semi-space-growth-factor=1`) once it has reached `capMb`, and on again when V8
 * has shrunk it below. GC notifications arrive between event-loop turns, so one turn that
 * allocates many megabytes can still grow it a step past the cap; a router's turns are short.
 * Measured with `npm run bench -- router` (A/B, `--young-gen-mb 0`): peak RSS 83–84 MB instead
 * of 97–103 MB at 80k–140k messages/s, 72 instead of 93 MB with 1,000 heartbeat sessions, 153
 * instead of 178 MB with 10,000; router CPU per message within the run-to-run spread. The flag
 * is process-wide: call this only in a process that is a router.
 *
 * Returns a function that stops watching (V8's growth is left as it then is).
 */
export function capYoungGeneration(capMb: number): () => void {
  if (!(capMb > 0)) return () => undefined;
  const capBytes = capMb * 1024 * 1024;
  let isPinned = false;
  const check = (): void => {
    const shouldPin = newSpaceBytes() >= capBytes;
    if (shouldPin === isPinned) return;
    setFlagsFromString(shouldPin ? '--semi-space-growth-factor=1' : '--semi-space-growth-factor=2');
    isPinned = shouldPin;
  };
  const observer = new PerformanceObserver(check);
  observer.observe({ entryTypes: ['gc'] });
  check();
  return () => observer.disconnect();
}

/** The new space's current size (both semi-spaces), in bytes. */
export function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}
