/**
 * Queues line-protocol points and writes them to InfluxDB in batches, so that an InfluxDB that is
 * slow, restarting or down loses nothing as long as the buffer holds.
 *
 * - Batching: a request carries at most `maxBatchPoints` points (default 5 000). Points are sent
 *   once a full batch is waiting or the oldest waiting point is `flushIntervalMs` old (default
 *   1 000), so a point waits at most about a second when InfluxDB is up. One request is in flight
 *   at a time, which keeps the points in order; a backlog goes out batch after batch without
 *   waiting.
 * - Retry: a retryable failure (InfluxDB unreachable, 5xx, 408, 429, 401/403, database not
 *   found) keeps the batch and retries it after an exponential backoff: `initialBackoffMs`
 *   (500) doubling up to `backoffCapMs` (30 000), with ±20 % jitter. After a "database not
 *   found" the sink's `createDatabase` runs first (an InfluxDB restarted without its data comes
 *   back empty).
 * - Bounded buffer: at most `maxBufferPoints` points wait, the one in flight included (default
 *   1 000 000: 16 minutes at the design load of 100 agents × 10 Hz, i.e. 1 000 points/s, and
 *   hours for a typical site). When it is full the OLDEST points are dropped and counted. A
 *   buffered point costs about the length of its line: ~600 bytes for a 16-channel fake-data
 *   point, so a full default buffer of such points takes ~0.6 GB of heap (~150 bytes and
 *   0.15 GB for 2-channel points). Size it with `maxBufferPoints` (lib/influx/README.md).
 * - Refused points: a non-retryable answer (HTTP 400: field type conflict, unparsable line,
 *   invalid field) ends the batch — InfluxDB 1.x has stored its valid points already — and the
 *   refused points are counted with the error text, so a bad point never blocks the queue.
 *
 * Timers go through the injected Clock and requests through the injected sink, so the whole
 * policy runs under fake timers in unit tests.
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { silentLogger, type Logger } from '../log.js';
import { InfluxHttpError } from './influx-http.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import { ChunkQueue, type Batch } from './chunk-queue.js';

export const DEFAULT_MAX_BATCH_POINTS = 5_000;
export const DEFAULT_FLUSH_INTERVAL_MS = 1_000;
export const DEFAULT_MAX_BUFFER_POINTS = 1_000_000;
export const DEFAULT_INITIAL_BACKOFF_MS = 500;
export const DEFAULT_BACKOFF_CAP_MS = 30_000;
export const DEFAULT_CLOSE_DRAIN_MS = 5_000;

/** Where batches go: InfluxHttp, or a fake in tests. */
export interface InfluxLineSink {
  /** Writes newline-separated points; throws (ideally an InfluxHttpError) on failure. */
  write(body: string): Promise<void>;
  /** Creates the database; called before retrying after a "database not found". */
  createDatabase?(): Promise<void>;
}

export interface InfluxWriterOptions {
  sink: InfluxLineSink;
  clock?: Clock;
  logger?: Logger;
  maxBatchPoints?: number;
  flushIntervalMs?: number;
  maxBufferPoints?: number;
  initialBackoffMs?: number;
  backoffCapMs?: number;
  /** Source of jitter in [0, 1); default Math.random. */
  random?: () => number;
}

export interface InfluxWriterStats {
  /** Points InfluxDB accepted. */
  writtenPoints: number;
  /** Points queued or in flight. */
  pendingPoints: number;
  /** Points dropped because the buffer was full (oldest first) or the writer closed with them. */
  droppedPoints: number;
  /** Points InfluxDB refused (HTTP 400 and other non-retryable answers). */
  rejectedPoints: number;
  /** Write requests sent, and how many failed. */
  requests: number;
  failedRequests: number;
  /** Consecutive failed attempts of the current batch (0 when healthy). */
  retryAttempt: number;
  lastWriteAtMs: number | null;
  lastError: string | null;
  lastErrorAtMs: number | null;
  /** When the next retry is due, while backing off. */
  nextRetryAtMs: number | null;
}

export class InfluxWriter {
  private readonly sink: InfluxLineSink;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly maxBatchPoints: number;
  private readonly flushIntervalMs: number;
  private readonly maxBufferPoints: number;
  private readonly initialBackoffMs: number;
  private readonly backoffCapMs: number;
  private readonly random: () => number;
  private readonly droppedWarning: RateLimitedLog;
  private readonly rejectedWarning: RateLimitedLog;

  private readonly queue = new ChunkQueue();
  /** The batch being sent, or waiting for its retry. */
  private batch: Batch | undefined;
  private inFlight: Promise<void> | undefined;
  private flushTimer: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  private isClosed = false;
  /** While > 0, points go out without waiting for the flush interval. */
  private flushRequests = 0;
  private readonly emptyWaiters = new Set<() => void>();

  private writtenPoints = 0;
  private droppedPoints = 0;
  private rejectedPoints = 0;
  private requests = 0;
  private failedRequests = 0;
  private retryAttempt = 0;
  private lastWriteAtMs: number | null = null;
  private lastError: string | null = null;
  private lastErrorAtMs: number | null = null;
  private nextRetryAtMs: number | null = null;

  constructor(options: InfluxWriterOptions) {
    this.sink = options.sink;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger()).child({ component: 'influx-writer' });
    this.maxBatchPoints = positiveInt(options.maxBatchPoints ?? DEFAULT_MAX_BATCH_POINTS, 'maxBatchPoints');
    this.flushIntervalMs = nonNegative(options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS, 'flushIntervalMs');
    this.maxBufferPoints = positiveInt(options.maxBufferPoints ?? DEFAULT_MAX_BUFFER_POINTS, 'maxBufferPoints');
    if (this.maxBufferPoints < this.maxBatchPoints) {
      throw new RangeError(`maxBufferPoints (${this.maxBufferPoints}) must be at least maxBatchPoints (${this.maxBatchPoints})`);
    }
    this.initialBackoffMs = nonNegative(options.initialBackoffMs ?? DEFAULT_INITIAL_BACKOFF_MS, 'initialBackoffMs');
    this.backoffCapMs = Math.max(this.initialBackoffMs, nonNegative(options.backoffCapMs ?? DEFAULT_BACKOFF_CAP_MS, 'backoffCapMs'));
    this.random = options.random ?? Math.random;
    this.droppedWarning = new RateLimitedLog({ clock: this.clock, logger: this.logger, message: 'influx buffer full, dropped oldest points' });
    this.rejectedWarning = new RateLimitedLog({ clock: this.clock, logger: this.logger, message: 'influx refused points' });
  }

  /**
   * Queues points (line-protocol lines without newlines). Returns the number queued: 0 after
   * `close()` (those points are counted as dropped).
   */
  enqueue(lines: readonly string[]): number {
    if (lines.length === 0) return 0;
    if (this.isClosed) {
      this.droppedPoints += lines.length;
      return 0;
    }
    const nowMs = this.clock.nowMs();
    for (let start = 0; start < lines.length; start += this.maxBatchPoints) {
      const part = start === 0 && lines.length <= this.maxBatchPoints ? lines : lines.slice(start, start + this.maxBatchPoints);
      this.queue.push({ text: part.join('\n'), points: part.length, enqueuedAtMs: nowMs });
    }
    this.enforceBound();
    this.schedule();
    return lines.length;
  }

  stats(): InfluxWriterStats {
    return {
      writtenPoints: this.writtenPoints,
      pendingPoints: this.pendingPoints(),
      droppedPoints: this.droppedPoints,
      rejectedPoints: this.rejectedPoints,
      requests: this.requests,
      failedRequests: this.failedRequests,
      retryAttempt: this.retryAttempt,
      lastWriteAtMs: this.lastWriteAtMs,
      lastError: this.lastError,
      lastErrorAtMs: this.lastErrorAtMs,
      nextRetryAtMs: this.nextRetryAtMs,
    };
  }

  /**
   * Sends everything queued without waiting for the flush interval (retries keep their
   * backoff). Resolves true once nothing is pending, false when `timeoutMs` passes first.
   */
  async flush(timeoutMs: number = DEFAULT_CLOSE_DRAIN_MS): Promise<boolean> {
    if (this.pendingPoints() === 0) return true;
    this.flushRequests++;
    try {
      this.schedule();
      return await new Promise<boolean>((resolve) => {
        const done = (ok: boolean): void => {
          this.emptyWaiters.delete(onEmpty);
          this.clock.clearTimeout(timer);
          resolve(ok);
        };
        const onEmpty = (): void => done(true);
        const timer = this.clock.setTimeout(() => done(false), timeoutMs);
        this.emptyWaiters.add(onEmpty);
      });
    } finally {
      this.flushRequests--;
    }
  }

  /**
   * Flushes for up to `drainTimeoutMs`, then stops every timer. Points still pending are counted
   * as dropped. Later `enqueue` calls drop their points.
   */
  async close(options: { drainTimeoutMs?: number } = {}): Promise<InfluxWriterStats> {
    if (this.isClosed) return this.stats();
    const isDrained = await this.flush(options.drainTimeoutMs ?? DEFAULT_CLOSE_DRAIN_MS);
    this.isClosed = true;
    this.clearTimers();
    await this.inFlight;
    const left = this.pendingPoints();
    if (!isDrained && left > 0) {
      this.logger.warn({ points: left }, 'influx writer closed with points not written');
    }
    this.droppedPoints += left;
    this.queue.clear();
    this.batch = undefined;
    this.notifyIfEmpty();
    return this.stats();
  }

  private pendingPoints(): number {
    return this.queue.points + (this.batch?.points ?? 0);
  }

  /** Starts a request, or arms the flush timer, as the queue and state require. */
  private schedule(): void {
    if (this.isClosed || this.inFlight || this.retryTimer) return;
    if (this.batch) {
      this.startSend();
      return;
    }
    const oldest = this.queue.peek();
    if (!oldest) return;
    const dueAtMs = oldest.enqueuedAtMs + this.flushIntervalMs;
    if (this.queue.points >= this.maxBatchPoints || this.flushRequests > 0 || this.clock.nowMs() >= dueAtMs) {
      this.startSend();
    } else if (!this.flushTimer) {
      this.flushTimer = this.clock.setTimeout(() => {
        this.flushTimer = undefined;
        this.schedule();
      }, dueAtMs - this.clock.nowMs());
    }
  }

  private startSend(): void {
    this.clock.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.batch ??= this.queue.takeBatch(this.maxBatchPoints);
    const batch = this.batch;
    if (!batch) return;
    batch.body ??= batch.chunks.map((c) => c.text).join('\n');
    this.requests++;
    this.inFlight = this.send(batch, batch.body).finally(() => {
      this.inFlight = undefined;
      this.notifyIfEmpty();
      this.schedule();
    });
  }

  private async send(batch: Batch, body: string): Promise<void> {
    try {
      await this.sink.write(body);
    } catch (err) {
      await this.onFailure(batch, err);
      return;
    }
    if (this.retryAttempt > 0) {
      this.logger.info({ attempts: this.retryAttempt + 1, points: batch.points }, 'influx write recovered');
    }
    this.writtenPoints += batch.points;
    this.lastWriteAtMs = this.clock.nowMs();
    this.retryAttempt = 0;
    this.nextRetryAtMs = null;
    if (this.batch === batch) this.batch = undefined;
  }

  private async onFailure(batch: Batch, err: unknown): Promise<void> {
    this.failedRequests++;
    const message = err instanceof Error ? err.message : String(err);
    this.lastError = message;
    this.lastErrorAtMs = this.clock.nowMs();
    if (err instanceof InfluxHttpError && !err.isRetryable) {
      const rejected = Math.min(batch.points, err.rejectedPoints ?? batch.points);
      this.rejectedPoints += rejected;
      this.writtenPoints += batch.points - rejected;
      this.lastWriteAtMs = this.clock.nowMs();
      this.retryAttempt = 0;
      this.nextRetryAtMs = null;
      if (this.batch === batch) this.batch = undefined;
      this.rejectedWarning.note('rejected', { err, rejectedPoints: rejected, batchPoints: batch.points });
      return;
    }
    this.retryAttempt++;
    if (this.retryAttempt === 1) this.logger.warn({ err, points: this.pendingPoints() }, 'influx write failed, retrying');
    else this.logger.debug({ err, attempt: this.retryAttempt }, 'influx write failed again');
    let delayMs = this.backoffMs(this.retryAttempt);
    if (err instanceof InfluxHttpError && err.kind === 'database_not_found' && this.sink.createDatabase) {
      try {
        await this.sink.createDatabase();
        this.logger.info({}, 'influx database created');
        if (this.retryAttempt === 1) delayMs = 0;
      } catch (createErr) {
        this.logger.warn({ err: createErr }, 'influx database creation failed');
      }
    }
    if (this.isClosed) return;
    this.nextRetryAtMs = this.clock.nowMs() + delayMs;
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.nextRetryAtMs = null;
      this.schedule();
    }, delayMs);
  }

  /** Exponential backoff with ±20 % jitter, capped. */
  private backoffMs(attempt: number): number {
    const base = Math.min(this.backoffCapMs, this.initialBackoffMs * 2 ** Math.min(attempt - 1, 30));
    return Math.min(this.backoffCapMs, Math.round(base * (0.8 + 0.4 * this.random())));
  }

  /** Drops the oldest points until the buffer bound holds (never the batch on the wire). */
  private enforceBound(): void {
    let dropped = 0;
    while (this.pendingPoints() > this.maxBufferPoints) {
      const batch = this.batch;
      if (batch && !this.inFlight && batch.chunks.length > 0) {
        const chunk = batch.chunks.shift()!;
        batch.points -= chunk.points;
        batch.body = undefined;
        dropped += chunk.points;
        if (batch.chunks.length === 0) {
          this.batch = undefined;
        }
        continue;
      }
      const chunk = this.queue.shift();
      if (!chunk) break;
      dropped += chunk.points;
    }
    if (dropped === 0) return;
    this.droppedPoints += dropped;
    this.droppedWarning.note('buffer_full', { droppedPoints: dropped, totalDropped: this.droppedPoints, maxBufferPoints: this.maxBufferPoints });
  }

  private notifyIfEmpty(): void {
    if (this.pendingPoints() > 0) return;
    for (const waiter of [...this.emptyWaiters]) waiter();
  }

  private clearTimers(): void {
    this.droppedWarning.close();
    this.rejectedWarning.close();
    this.clock.clearTimeout(this.flushTimer);
    this.clock.clearTimeout(this.retryTimer);
    this.flushTimer = undefined;
    this.retryTimer = undefined;
    this.nextRetryAtMs = null;
  }
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a number >= 0, got ${value}`);
  return value;
}
