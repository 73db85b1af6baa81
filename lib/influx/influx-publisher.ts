/**
 * The InfluxDB publisher's data path in one object: the HTTP client, the batching writer and the
 * feed-event recorder, built from the arguments and the resolved connection (InfluxConnection)
 * of OCS's `InfluxDBAgent` or `InfluxDBAgentv2`. The agent wires it:
 * `start()` at startup (creates the database), `recorder.handleFeedEvent(args)` for each event
 * of its `{root}..feeds.` wildcard subscription while its `record` process runs,
 * `sessionData()` into the `record` session, `close()` at shutdown.
 */
import { z } from 'zod';
import { systemClock, type Clock } from '../clock.js';
import { silentLogger, type Logger } from '../log.js';
import { InfluxFeedRecorder, type InfluxPublisherSessionData } from './influx-feed-recorder.js';
import { InfluxHttp, type InfluxTarget } from './influx-http.js';
import {
  DEFAULT_BACKOFF_CAP_MS,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_MAX_BATCH_POINTS,
  DEFAULT_MAX_BUFFER_POINTS,
  InfluxWriter,
  type InfluxWriterStats,
} from './influx-writer.js';

/** `--gzip`, `--gzip true|false|1|0|yes|no` (unlike OCS's argparse `type=bool`, "False" means false). */
const flag = z
  .union([z.boolean(), z.enum(['true', 'false', 'True', 'False', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === 'True' || v === '1' || v === 'yes');

/**
 * OCS `InfluxDBAgent` arguments (snake_case keys, as the agent argument parser produces them)
 * plus the buffer settings. `protocol` is accepted for compatibility: OCS's JSON protocol is
 * converted to line protocol by its client library, so both write the same lines. With `org`,
 * `bucket` and `token` the publisher writes to InfluxDB 2.x instead of database `database`.
 */
export const InfluxPublisherArgsSchema = z.strictObject({
  initial_state: z.enum(['idle', 'record']).default('record'),
  host: z.string().min(1).default('influxdb'),
  port: z.coerce.number().int().min(1).max(65535).default(8086),
  database: z.string().min(1).default('ocs_feeds'),
  protocol: z.enum(['line', 'json']).default('line'),
  ssl: flag.default(false),
  verify_ssl: flag.default(true),
  gzip: flag.default(false),
  org: z.string().min(1).optional(),
  bucket: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  max_batch_points: z.coerce.number().int().min(1).default(DEFAULT_MAX_BATCH_POINTS),
  max_buffer_points: z.coerce.number().int().min(1).default(DEFAULT_MAX_BUFFER_POINTS),
  flush_interval: z.coerce.number().positive().default(DEFAULT_FLUSH_INTERVAL_MS / 1000),
  backoff_cap: z.coerce.number().positive().default(DEFAULT_BACKOFF_CAP_MS / 1000),
});
export type InfluxPublisherArgs = z.infer<typeof InfluxPublisherArgsSchema>;

/** What the publisher takes from the arguments of either agent class (target aside). */
export type InfluxPublisherSettings = Pick<InfluxPublisherArgs, 'gzip' | 'max_batch_points' | 'max_buffer_points' | 'flush_interval' | 'backoff_cap'>;

/** Where the publisher writes: from `InfluxDBAgent`'s arguments or `InfluxDBAgentv2`'s environment. */
export interface InfluxConnection {
  target: InfluxTarget;
  /** Per request; default DEFAULT_REQUEST_TIMEOUT_MS. */
  requestTimeoutMs?: number;
  /** false asks for no certificate check, which is not supported (a warning says so). */
  shouldVerifySsl?: boolean;
}

export interface InfluxPublisherOptions {
  args: InfluxPublisherSettings;
  connection: InfluxConnection;
  clock?: Clock;
  logger?: Logger;
  fetch?: typeof fetch;
}

/** The InfluxDB target the arguments describe. */
export function influxTargetFromArgs(args: InfluxPublisherArgs, credentials?: { username: string; password: string }): InfluxTarget {
  const url = `${args.ssl ? 'https' : 'http'}://${args.host.includes(':') ? `[${args.host}]` : args.host}:${args.port}`;
  if (args.org !== undefined || args.bucket !== undefined || args.token !== undefined) {
    if (args.org === undefined || args.bucket === undefined || args.token === undefined) {
      throw new RangeError('InfluxDB 2.x needs all of --org, --bucket and --token');
    }
    return { version: 2, url, org: args.org, bucket: args.bucket, token: args.token };
  }
  return { version: 1, url, database: args.database, ...(credentials ?? {}) };
}

/**
 * `InfluxDBAgent`'s connection: the target its arguments describe; 1.x `credentials` come from
 * INFLUXDB_USERNAME / INFLUXDB_PASSWORD (none ⇒ no auth).
 */
export function influxConnectionFromArgs(args: InfluxPublisherArgs, credentials?: { username: string; password: string }): InfluxConnection {
  return { target: influxTargetFromArgs(args, credentials), shouldVerifySsl: args.verify_ssl };
}

export class InfluxPublisher {
  readonly http: InfluxHttp;
  readonly writer: InfluxWriter;
  readonly recorder: InfluxFeedRecorder;
  private readonly logger: Logger;

  constructor(options: InfluxPublisherOptions) {
    const clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger();
    const { args, connection } = options;
    this.http = new InfluxHttp({
      target: connection.target,
      shouldGzip: args.gzip,
      ...(connection.requestTimeoutMs !== undefined ? { requestTimeoutMs: connection.requestTimeoutMs } : {}),
      clock,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    this.writer = new InfluxWriter({
      sink: this.http,
      clock,
      logger: this.logger,
      maxBatchPoints: args.max_batch_points,
      maxBufferPoints: Math.max(args.max_buffer_points, args.max_batch_points),
      flushIntervalMs: args.flush_interval * 1000,
      backoffCapMs: args.backoff_cap * 1000,
    });
    this.recorder = new InfluxFeedRecorder({ writer: this.writer, logger: this.logger, clock });
    if (connection.target.url.startsWith('https:') && connection.shouldVerifySsl === false) {
      this.logger.warn({}, 'turning certificate verification off is not supported; certificates are verified');
    }
  }

  /**
   * Creates the database (1.x). Never throws: when InfluxDB is not reachable yet, the writer
   * creates it on its first "database not found" answer.
   */
  async start(): Promise<boolean> {
    try {
      await this.http.createDatabase();
      return true;
    } catch (err) {
      this.logger.warn({ err }, 'influx database not created yet');
      return false;
    }
  }

  sessionData(): InfluxPublisherSessionData {
    return this.recorder.sessionData();
  }

  /** Flushes pending points for up to `drainTimeoutMs`, then stops the writer. */
  async close(options: { drainTimeoutMs?: number } = {}): Promise<InfluxWriterStats> {
    return await this.writer.close(options);
  }
}
