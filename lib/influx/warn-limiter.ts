import type { Clock } from '../clock.js';

/**
 * Lets a repeated warning through at most once per interval and counts the ones held back, so a
 * flood of bad payloads or a long outage logs a line every few seconds instead of one per event.
 */
export class WarnLimiter {
  private lastAtMs: number | undefined;
  private suppressed = 0;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  /** Calls `log` with the number of warnings held back since the last one, or holds this one back. */
  run(log: (suppressed: number) => void): void {
    const nowMs = this.clock.nowMs();
    if (this.lastAtMs !== undefined && nowMs - this.lastAtMs < this.intervalMs) {
      this.suppressed++;
      return;
    }
    const suppressed = this.suppressed;
    this.lastAtMs = nowMs;
    this.suppressed = 0;
    log(suppressed);
  }
}
