/**
 * When this host publishes its placement message: on every change of its body, and at least every
 * `publishIntervalMs`. Numbers the messages (`seq`) and stamps them with the local time and load.
 */
import type { PlacementMessage } from './placement-message.js';

export type PlacementBody = Omit<PlacementMessage, 'seq' | 'time' | 'load1'>;

export class PlacementPublisher {
  private seq = 0;
  private lastPublishedAtMs: number | null = null;
  private lastPublishedBody = '';

  constructor(
    private readonly publishIntervalMs: number,
    private readonly load1: () => number | null,
  ) {}

  /** The message to publish now (the body changed, the interval passed, or `isForced`), else null. */
  next(body: PlacementBody, now: number, isForced: boolean): PlacementMessage | null {
    const json = JSON.stringify(body);
    const isDue = this.lastPublishedAtMs === null || now - this.lastPublishedAtMs >= this.publishIntervalMs;
    if (!isForced && !isDue && json === this.lastPublishedBody) return null;
    this.lastPublishedBody = json;
    this.lastPublishedAtMs = now;
    this.seq += 1;
    return { ...body, seq: this.seq, time: now / 1000, load1: this.load1() };
  }
}
