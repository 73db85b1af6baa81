import type { Clock, TimerHandle } from '../clock.js';

export const HEARTBEAT_INTERVAL_MS = 1000;

/**
 * The 1 Hz heartbeat: `beat` runs once at start (OCS beats at join) and then every interval.
 * `isEnabled` lets an agent switch beating off without stopping the timer (FakeDataAgent's
 * `set_heartbeat`, used to test expiry).
 */
export class Heartbeat {
  private timer: TimerHandle | undefined;
  isEnabled = true;

  constructor(
    private readonly options: { clock: Clock; intervalMs?: number; beat: () => void },
  ) {}

  get isRunning(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    this.stop();
    this.tick();
    this.timer = this.options.clock.setInterval(() => this.tick(), this.options.intervalMs ?? HEARTBEAT_INTERVAL_MS);
  }

  stop(): void {
    if (this.timer !== undefined) this.options.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    if (this.isEnabled) this.options.beat();
  }
}
