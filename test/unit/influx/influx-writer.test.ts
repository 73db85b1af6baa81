import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InfluxWriter, type InfluxLineSink } from '../../../lib/influx/influx-writer.js';
import { InfluxHttpError, classifyWriteResponse } from '../../../lib/influx/influx-http.js';

/** A sink that records every request and fails while `failure` is set. */
class FakeSink implements InfluxLineSink {
  bodies: string[] = [];
  attempts: Array<{ atMs: number; points: number }> = [];
  failure: (() => Error) | undefined;
  created = 0;
  written: string[] = [];

  async write(body: string): Promise<void> {
    const lines = body.split('\n');
    this.attempts.push({ atMs: Date.now(), points: lines.length });
    if (this.failure) throw this.failure();
    this.bodies.push(body);
    this.written.push(...lines);
  }

  async createDatabase(): Promise<void> {
    this.created++;
  }
}

const lines = (from: number, count: number): string[] => Array.from({ length: count }, (_, i) => `m,feed=f x=${from + i}i ${from + i}`);

describe('InfluxWriter', () => {
  let sink: FakeSink;
  const writers: InfluxWriter[] = [];
  const make = (options: Partial<ConstructorParameters<typeof InfluxWriter>[0]> = {}): InfluxWriter => {
    const writer = new InfluxWriter({ sink, random: () => 0.5, ...options });
    writers.push(writer);
    return writer;
  };

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_700_000_000_000);
    sink = new FakeSink();
  });

  afterEach(async () => {
    sink.failure = undefined;
    for (const w of writers.splice(0)) {
      const closed = w.close({ drainTimeoutMs: 0 });
      await vi.advanceTimersByTimeAsync(0);
      await closed;
    }
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
  });

  it('sends a full batch at once and holds a partial one for the flush interval', async () => {
    const writer = make({ maxBatchPoints: 100, flushIntervalMs: 1000 });
    writer.enqueue(lines(0, 250));
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.attempts.map((a) => a.points)).toEqual([100, 100]);
    await vi.advanceTimersByTimeAsync(999);
    expect(sink.attempts).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(sink.attempts.map((a) => a.points)).toEqual([100, 100, 50]);
    expect(sink.written).toEqual(lines(0, 250));
    expect(writer.stats()).toMatchObject({ writtenPoints: 250, pendingPoints: 0, requests: 3, lastWriteAtMs: 1_700_000_001_000 });
  });

  it('flushes a point at most one flush interval after it was queued', async () => {
    const writer = make({ flushIntervalMs: 1000 });
    writer.enqueue(lines(0, 1));
    await vi.advanceTimersByTimeAsync(600);
    writer.enqueue(lines(1, 1));
    await vi.advanceTimersByTimeAsync(400);
    expect(sink.bodies).toEqual([lines(0, 2).join('\n')]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sink.bodies).toHaveLength(1);
  });

  it('retries with exponential backoff while InfluxDB is down and loses nothing', async () => {
    const writer = make({ maxBatchPoints: 10, flushIntervalMs: 100, initialBackoffMs: 500, backoffCapMs: 4000 });
    sink.failure = () => new InfluxHttpError('unreachable', 'connect ECONNREFUSED');
    writer.enqueue(lines(0, 10));
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(20_000);
    const gaps = sink.attempts.slice(1).map((a, i) => a.atMs - sink.attempts[i]!.atMs);
    expect(gaps.slice(0, 5)).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(writer.stats()).toMatchObject({ writtenPoints: 0, pendingPoints: 10, lastError: 'connect ECONNREFUSED' });
    expect(writer.stats().retryAttempt).toBeGreaterThan(4);
    expect(writer.stats().nextRetryAtMs).not.toBeNull();

    writer.enqueue(lines(10, 25));
    sink.failure = undefined;
    await vi.advanceTimersByTimeAsync(4000);
    expect(sink.written).toEqual(lines(0, 35));
    expect(writer.stats()).toMatchObject({ writtenPoints: 35, pendingPoints: 0, droppedPoints: 0, retryAttempt: 0, nextRetryAtMs: null });
  });

  it('applies jitter within ±20 % of the backoff', async () => {
    const randoms = [0, 1 - 1e-12];
    const writer = make({ initialBackoffMs: 1000, backoffCapMs: 60_000, flushIntervalMs: 0, random: () => randoms.shift() ?? 0.5 });
    sink.failure = () => new InfluxHttpError('server', 'HTTP 503');
    writer.enqueue(lines(0, 1));
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(10_000);
    const gaps = sink.attempts.slice(1, 4).map((a, i) => a.atMs - sink.attempts[i]!.atMs);
    expect(gaps).toEqual([800, 2400, 4000]);
  });

  it('drops the oldest points when the buffer is full and counts them', async () => {
    const writer = make({ maxBatchPoints: 10, maxBufferPoints: 30, flushIntervalMs: 100, initialBackoffMs: 1000, backoffCapMs: 1000 });
    sink.failure = () => new InfluxHttpError('unreachable', 'down');
    writer.enqueue(lines(0, 10));
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 1; i < 6; i++) writer.enqueue(lines(i * 10, 10));
    expect(writer.stats()).toMatchObject({ pendingPoints: 30, droppedPoints: 30 });
    sink.failure = undefined;
    await vi.advanceTimersByTimeAsync(1000);
    expect(sink.written).toEqual(lines(30, 30));
    expect(writer.stats()).toMatchObject({ writtenPoints: 30, droppedPoints: 30, pendingPoints: 0 });
  });

  it('never drops the batch that is on the wire', async () => {
    let release: (() => void) | undefined;
    const slow: InfluxLineSink = {
      write: (body) =>
        new Promise<void>((resolve) => {
          release = () => {
            sink.written.push(...body.split('\n'));
            resolve();
          };
        }),
    };
    const writer = make({ sink: slow, maxBatchPoints: 10, maxBufferPoints: 20, flushIntervalMs: 0 });
    writer.enqueue(lines(0, 10));
    await vi.advanceTimersByTimeAsync(0);
    writer.enqueue(lines(10, 10));
    writer.enqueue(lines(20, 10));
    expect(writer.stats()).toMatchObject({ pendingPoints: 20, droppedPoints: 10 });
    release!();
    await vi.advanceTimersByTimeAsync(0);
    release!();
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.written).toEqual([...lines(0, 10), ...lines(20, 10)]);
  });

  it('counts points InfluxDB refuses, keeps the error text, and keeps writing later points', async () => {
    const writer = make({ maxBatchPoints: 5, flushIntervalMs: 0 });
    sink.failure = () =>
      classifyWriteResponse(
        400,
        JSON.stringify({ error: 'partial write: field type conflict: input field "x" on measurement "m" is type integer, already exists as type float dropped=2' }),
      );
    writer.enqueue(lines(0, 5));
    await vi.advanceTimersByTimeAsync(0);
    sink.failure = undefined;
    writer.enqueue(lines(5, 5));
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.written).toEqual(lines(5, 5));
    const stats = writer.stats();
    expect(stats).toMatchObject({ rejectedPoints: 2, writtenPoints: 8, pendingPoints: 0, retryAttempt: 0, failedRequests: 1 });
    expect(stats.lastError).toContain('field type conflict');
    expect(sink.attempts).toHaveLength(2);
  });

  it('counts a whole batch as refused when the error does not say how many points', async () => {
    const writer = make({ flushIntervalMs: 0 });
    sink.failure = () => classifyWriteResponse(413, '{"error":"Request Entity Too Large"}');
    writer.enqueue(lines(0, 7));
    await vi.advanceTimersByTimeAsync(0);
    expect(writer.stats()).toMatchObject({ rejectedPoints: 7, writtenPoints: 0, pendingPoints: 0 });
  });

  it('creates the database and retries at once when InfluxDB says it is missing', async () => {
    const writer = make({ flushIntervalMs: 0, initialBackoffMs: 10_000 });
    sink.failure = () => {
      sink.failure = undefined;
      return classifyWriteResponse(404, '{"error":"database not found: \\"ocs_feeds\\""}');
    };
    writer.enqueue(lines(0, 3));
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.created).toBe(1);
    expect(sink.written).toEqual(lines(0, 3));
  });

  it('flush() sends without waiting for the interval and resolves when nothing is pending', async () => {
    const writer = make({ flushIntervalMs: 60_000 });
    writer.enqueue(lines(0, 3));
    const flushed = writer.flush(1000);
    await vi.advanceTimersByTimeAsync(0);
    await expect(flushed).resolves.toBe(true);
    expect(sink.written).toEqual(lines(0, 3));
  });

  it('close() gives up after the drain timeout and counts what is left as dropped', async () => {
    const writer = make({ flushIntervalMs: 0, initialBackoffMs: 100, backoffCapMs: 100 });
    sink.failure = () => new InfluxHttpError('unreachable', 'down');
    writer.enqueue(lines(0, 4));
    const closed = writer.close({ drainTimeoutMs: 1000 });
    await vi.advanceTimersByTimeAsync(1000);
    const stats = await closed;
    expect(stats).toMatchObject({ droppedPoints: 4, pendingPoints: 0, writtenPoints: 0 });
    expect(writer.enqueue(lines(4, 2))).toBe(0);
    expect(writer.stats().droppedPoints).toBe(6);
  });

  it('treats errors that are not InfluxHttpError as retryable', async () => {
    const writer = make({ flushIntervalMs: 0, initialBackoffMs: 100 });
    sink.failure = () => new Error('boom');
    writer.enqueue(lines(0, 1));
    await vi.advanceTimersByTimeAsync(0);
    expect(writer.stats()).toMatchObject({ retryAttempt: 1, lastError: 'boom', pendingPoints: 1 });
    sink.failure = undefined;
    await vi.advanceTimersByTimeAsync(200);
    expect(sink.written).toEqual(lines(0, 1));
  });

  it('refuses inconsistent settings', () => {
    expect(() => new InfluxWriter({ sink, maxBatchPoints: 0 })).toThrow(RangeError);
    expect(() => new InfluxWriter({ sink, maxBatchPoints: 100, maxBufferPoints: 10 })).toThrow(/at least maxBatchPoints/);
    expect(() => new InfluxWriter({ sink, flushIntervalMs: -1 })).toThrow(RangeError);
  });
});
