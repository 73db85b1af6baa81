/**
 * Turns feed events, as an InfluxDB publisher receives them from its `{root}..feeds.` wildcard
 * subscription, into points for an InfluxWriter — OCS's `InfluxDBAgent` behaviour:
 * - only recorded feeds (`feed.record` true) are written;
 * - feeds whose `agg_params.exclude_influx` is truthy are skipped;
 * - measurement = agent address, tag `feed`, one point per sample (line-protocol.ts).
 * Event payloads come from any peer, so they are checked here; a bad event or value is dropped,
 * counted and reported with a rate-limited warning, and never throws.
 */
import { z } from 'zod';
import { systemClock, type Clock } from '../clock.js';
import { silentLogger, type Logger } from '../log.js';
import { formatFeedMessage, type FeedIdentity } from './line-protocol.js';
import type { InfluxWriter, InfluxWriterStats } from './influx-writer.js';
import { RateLimitedLog } from '../rate-limited-log.js';

/** The parts of `Feed.encoded()` the publisher reads; other keys pass. */
export const RecordedFeedDescriptionSchema = z.looseObject({
  agent_address: z.string().min(1),
  feed_name: z.string().min(1),
  record: z.boolean(),
  agg_params: z.record(z.string(), z.unknown()).nullish(),
});
export type RecordedFeedDescription = z.infer<typeof RecordedFeedDescriptionSchema>;

export type FeedEventOutcome = 'queued' | 'not_recorded' | 'excluded' | 'invalid';

export interface InfluxFeedRecorderStats {
  /** Recorded-feed messages turned into points. */
  messages: number;
  queuedPoints: number;
  /** Events that were not `[[message, feed]]` with a valid feed description, or whose message could not be read. */
  invalidMessages: number;
  /** Values, fields, samples or blocks left out because InfluxDB cannot store them. */
  invalidValues: number;
  /** Messages skipped because of `agg_params.exclude_influx`. */
  excludedMessages: number;
}

/** What the publisher's `record` session data shows (OCS wire style: snake_case, unix seconds). */
export interface InfluxPublisherSessionData {
  written_points: number;
  pending_points: number;
  dropped_points: number;
  rejected_points: number;
  invalid_values: number;
  invalid_messages: number;
  excluded_messages: number;
  retry_attempt: number;
  last_write_time: number | null;
  last_error: string | null;
  last_error_time: number | null;
  next_retry_time: number | null;
}

export interface InfluxFeedRecorderOptions {
  writer: InfluxWriter;
  logger?: Logger;
  clock?: Clock;
}

/** True when OCS's publisher writes this feed: recorded and not `exclude_influx`. */
export function isInfluxRecorded(feed: RecordedFeedDescription): boolean {
  return feed.record && !feed.agg_params?.['exclude_influx'];
}

export class InfluxFeedRecorder {
  private readonly writer: InfluxWriter;
  private readonly logger: Logger;
  private readonly invalidWarning: RateLimitedLog;
  private readonly counts: InfluxFeedRecorderStats = { messages: 0, queuedPoints: 0, invalidMessages: 0, invalidValues: 0, excludedMessages: 0 };

  constructor(options: InfluxFeedRecorderOptions) {
    this.writer = options.writer;
    this.logger = (options.logger ?? silentLogger()).child({ component: 'influx-recorder' });
    this.invalidWarning = new RateLimitedLog({ clock: options.clock ?? systemClock, logger: this.logger, message: 'feed data not written to influx' });
  }

  /** Handles the positional arguments of a feed EVENT, `[[message, feed_encoded]]`. */
  handleFeedEvent(args: unknown): FeedEventOutcome {
    const pair = Array.isArray(args) ? (args[0] as unknown) : undefined;
    if (!Array.isArray(pair) || pair.length < 2) {
      this.counts.invalidMessages++;
      this.invalidWarning.note('not_message_and_feed', { detail: 'event arguments are not [[message, feed]]' });
      return 'invalid';
    }
    const feed = RecordedFeedDescriptionSchema.safeParse(pair[1]);
    if (!feed.success) {
      this.counts.invalidMessages++;
      this.invalidWarning.note('bad_feed_description', { detail: `invalid feed description: ${feed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
      return 'invalid';
    }
    if (!feed.data.record) return 'not_recorded';
    if (!isInfluxRecorded(feed.data)) {
      this.counts.excludedMessages++;
      return 'excluded';
    }
    return this.handleFeedMessage(pair[0], feed.data) > 0 ? 'queued' : 'invalid';
  }

  /** Formats one recorded message of `feed` and queues its points; returns how many were queued. */
  handleFeedMessage(message: unknown, feed: FeedIdentity): number {
    const { lines, issues } = formatFeedMessage(message, feed);
    if (issues.length > 0) {
      const isMessageLevel = lines.length === 0 && issues.every((i) => i.field === undefined && i.index === undefined);
      if (isMessageLevel) this.counts.invalidMessages++;
      else this.counts.invalidValues += issues.length;
      const first = issues[0]!;
      this.invalidWarning.note('bad_values', { feed: `${feed.agent_address}.feeds.${feed.feed_name}`, issues: issues.length, block: first.block, field: first.field, detail: first.reason });
    }
    if (lines.length === 0) return 0;
    this.counts.messages++;
    this.counts.queuedPoints += lines.length;
    this.writer.enqueue(lines);
    return lines.length;
  }

  stats(): InfluxFeedRecorderStats {
    return { ...this.counts };
  }

  /** Writer and recorder counters for the `record` op's session data. */
  sessionData(): InfluxPublisherSessionData {
    return influxSessionData(this.writer.stats(), this.counts);
  }

}

/** Builds the session data from writer and recorder stats (times in unix seconds). */
export function influxSessionData(writer: InfluxWriterStats, recorder: InfluxFeedRecorderStats): InfluxPublisherSessionData {
  const seconds = (ms: number | null): number | null => (ms === null ? null : ms / 1000);
  return {
    written_points: writer.writtenPoints,
    pending_points: writer.pendingPoints,
    dropped_points: writer.droppedPoints,
    rejected_points: writer.rejectedPoints,
    invalid_values: recorder.invalidValues,
    invalid_messages: recorder.invalidMessages,
    excluded_messages: recorder.excludedMessages,
    retry_attempt: writer.retryAttempt,
    last_write_time: seconds(writer.lastWriteAtMs),
    last_error: writer.lastError,
    last_error_time: seconds(writer.lastErrorAtMs),
    next_retry_time: seconds(writer.nextRetryAtMs),
  };
}
