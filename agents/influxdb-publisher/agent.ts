import { z } from 'zod';
import type { AgentRuntime } from '../../lib/agent/agent-runtime.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { InfluxPublisher, type InfluxConnection, type InfluxPublisherArgs, type InfluxPublisherSettings } from '../../lib/influx/influx-publisher.js';
import type { InfluxWriterStats } from '../../lib/influx/influx-writer.js';
import type { OpResult } from '../../lib/ops/op-spec.js';
import type { OpSession } from '../../lib/ops/op-session.js';
import { markFloats } from '../../lib/ops/session-data.js';

/** The parts of AgentRuntime the publisher uses. */
export type InfluxDBAgentHost = Pick<AgentRuntime, 'logger' | 'registerProcess' | 'subscribe'>;

/** The arguments both agent classes (InfluxDBAgent, InfluxDBAgentv2) take, the target aside. */
export type InfluxDBAgentSettings = InfluxPublisherSettings & Pick<InfluxPublisherArgs, 'initial_state'>;

export interface InfluxDBAgentOptions {
  /** `hub.address_root`: every feed is heard on `{root}..feeds.`. */
  addressRoot: string;
  args: InfluxDBAgentSettings;
  /** Where to write: from InfluxDBAgent's arguments or InfluxDBAgentv2's environment. */
  connection: InfluxConnection;
  clock?: Clock;
  /** Replaces the publisher built from `args` (tests). */
  publisher?: InfluxPublisher;
}

/** `record`'s session.data is refreshed this often. */
export const SESSION_DATA_INTERVAL_MS = 1000;

const RecordParamsSchema = z.object({ test_mode: z.boolean().default(false) });

/**
 * OCS's InfluxDB publishers (`InfluxDBAgent` and `InfluxDBAgentv2`, ocs-protocol §4.5–4.6; they
 * differ only in where the target comes from, see config.ts): subscribes at every join to
 * every feed (`{root}..feeds.`, wildcard) and, while its `record` process runs, writes each
 * recorded feed that is not `agg_params.exclude_influx` to InfluxDB — measurement = agent
 * address, tag `feed`, fields = data keys, nanosecond timestamps. The data path (batching,
 * retry with backoff, bounded buffer, types) is lib/influx; `record`'s session.data shows its
 * counters (written, pending, dropped, rejected, last error) and is refreshed every second.
 *
 * Feed events reach the publisher as the WAMP codec decoded them: the runtime must decode EVENT
 * frames with `floatPreservingJsonSerializer` (main.ts), so that `20.0` stays a float field.
 */
export class InfluxDBAgent {
  readonly publisher: InfluxPublisher;
  private readonly host: InfluxDBAgentHost;
  private readonly feedsTopic: string;
  private recordSession: OpSession | undefined;

  constructor(host: InfluxDBAgentHost, options: InfluxDBAgentOptions) {
    this.host = host;
    this.feedsTopic = `${options.addressRoot}..feeds.`;
    this.publisher =
      options.publisher ??
      new InfluxPublisher({
        args: options.args,
        connection: options.connection,
        clock: options.clock ?? systemClock,
        logger: host.logger,
      });
    host.registerProcess('record', {
      start: (session, params) => this.record(session, params),
      stop: (session) => this.stopRecord(session),
      params: RecordParamsSchema,
      blocking: true,
      startup: options.args.initial_state === 'record',
      docstring:
        'record(test_mode=False)\n\n**Process** - Listen to every recorded feed and write its data to InfluxDB.\n\nParameters:\n    test_mode (bool, optional): Run the record loop only once (about a second).\n\nNotes:\n    session.data holds the publisher counters, refreshed every second:\n    {"written_points": 12000, "pending_points": 0, "dropped_points": 0,\n     "rejected_points": 0, "invalid_values": 0, "invalid_messages": 0,\n     "excluded_messages": 0, "retry_attempt": 0, "last_write_time": 1700000000.5,\n     "last_error": null, "last_error_time": null, "next_retry_time": null}',
    });
  }

  /** Creates the database (without waiting for InfluxDB) and subscribes to every feed. Call before `runtime.run()`. */
  async start(): Promise<void> {
    void this.publisher.start();
    await this.host.subscribe(this.feedsTopic, (args) => this.onFeedEvent(args), { match: 'wildcard' });
    this.host.logger.info({ feeds_topic: this.feedsTopic }, 'influx publisher listening to every feed');
  }

  get isRecording(): boolean {
    return this.recordSession !== undefined;
  }

  /** Flushes what is pending for up to `drainTimeoutMs`, then stops the writer. */
  async close(options: { drainTimeoutMs?: number } = {}): Promise<InfluxWriterStats> {
    return await this.publisher.close(options);
  }

  private onFeedEvent(args: unknown[] | undefined): void {
    if (this.recordSession === undefined) return;
    this.publisher.recorder.handleFeedEvent(args ?? []);
  }

  private async record(session: OpSession, params: z.infer<typeof RecordParamsSchema>): Promise<OpResult> {
    this.recordSession = session;
    session.data = markFloats({ ...this.publisher.sessionData() });
    session.setStatus('running');
    try {
      while (await session.sleep(SESSION_DATA_INTERVAL_MS)) {
        session.data = markFloats({ ...this.publisher.sessionData() });
        if (params.test_mode) break;
      }
    } finally {
      this.recordSession = undefined;
      session.data = markFloats({ ...this.publisher.sessionData() });
    }
    return [true, 'Aggregation has ended'];
  }

  private stopRecord(session: OpSession): OpResult {
    if (this.recordSession !== session || session.status !== 'running') return [false, 'record is not running'];
    session.setStatus('stopping');
    return [true, 'Stopping aggregation'];
  }
}
