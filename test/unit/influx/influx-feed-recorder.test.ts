import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InfluxFeedRecorder, isInfluxRecorded } from '../../../lib/influx/influx-feed-recorder.js';
import { InfluxWriter } from '../../../lib/influx/influx-writer.js';
import { WampFloat } from '../../../lib/wamp/float.js';

const feed = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  agent_address: 'observatory.fake-data1',
  agg_params: { frame_length: 60 },
  feed_name: 'false_temperatures',
  address: 'observatory.fake-data1.feeds.false_temperatures',
  record: true,
  session_id: '1700000000.123456',
  agent_class: 'FakeDataAgent',
  ...over,
});

const message = {
  temps: { block_name: 'temps', data: { channel_00: [new WampFloat(0.5), new WampFloat(1)] }, timestamps: [new WampFloat(1700000000), new WampFloat(1700000000.5)] },
};

describe('InfluxFeedRecorder', () => {
  let written: string[];
  let writer: InfluxWriter;
  let recorder: InfluxFeedRecorder;

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_700_000_010_000);
    written = [];
    writer = new InfluxWriter({
      sink: {
        write: async (body) => {
          written.push(...body.split('\n'));
        },
      },
      flushIntervalMs: 0,
    });
    recorder = new InfluxFeedRecorder({ writer });
  });

  afterEach(async () => {
    await writer.close({ drainTimeoutMs: 0 }).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(0);
    vi.useRealTimers();
  });

  it('writes recorded feed events as OCS does', async () => {
    expect(recorder.handleFeedEvent([[message, feed()]])).toBe('queued');
    await vi.advanceTimersByTimeAsync(0);
    expect(written).toEqual([
      'observatory.fake-data1,feed=false_temperatures channel_00=0.5 1700000000000000000',
      'observatory.fake-data1,feed=false_temperatures channel_00=1.0 1700000000500000000',
    ]);
    expect(recorder.sessionData()).toEqual({
      written_points: 2,
      pending_points: 0,
      dropped_points: 0,
      rejected_points: 0,
      invalid_values: 0,
      invalid_messages: 0,
      excluded_messages: 0,
      retry_attempt: 0,
      last_write_time: 1_700_000_010,
      last_error: null,
      last_error_time: null,
      next_retry_time: null,
    });
  });

  it('ignores feeds that are not recorded and honours exclude_influx', async () => {
    expect(recorder.handleFeedEvent([[{ acq: 3 }, feed({ record: false, feed_name: 'heartbeat' })]])).toBe('not_recorded');
    expect(recorder.handleFeedEvent([[message, feed({ agg_params: { exclude_influx: true } })]])).toBe('excluded');
    await vi.advanceTimersByTimeAsync(0);
    expect(written).toEqual([]);
    expect(recorder.stats()).toMatchObject({ excludedMessages: 1, messages: 0 });
  });

  it('drops malformed events without throwing and counts them', () => {
    expect(recorder.handleFeedEvent('nope')).toBe('invalid');
    expect(recorder.handleFeedEvent([message, feed()])).toBe('invalid');
    expect(recorder.handleFeedEvent([[message, { agent_address: 'x' }]])).toBe('invalid');
    expect(recorder.handleFeedEvent([[null, feed()]])).toBe('invalid');
    expect(recorder.stats()).toMatchObject({ invalidMessages: 4, messages: 0 });
  });

  it('counts values it cannot write and writes the rest', async () => {
    const partly = { b: { block_name: 'b', data: { x: [1.5, null], time: [1, 2] }, timestamps: [1, 2] } };
    expect(recorder.handleFeedEvent([[partly, feed()]])).toBe('queued');
    await vi.advanceTimersByTimeAsync(0);
    expect(written).toEqual(['observatory.fake-data1,feed=false_temperatures x=1.5 1000000000']);
    expect(recorder.stats()).toMatchObject({ invalidValues: 2, messages: 1, queuedPoints: 1 });
  });
});

describe('isInfluxRecorded', () => {
  it('is true for recorded feeds unless exclude_influx is truthy', () => {
    expect(isInfluxRecorded({ agent_address: 'a', feed_name: 'f', record: true, agg_params: {} })).toBe(true);
    expect(isInfluxRecorded({ agent_address: 'a', feed_name: 'f', record: true, agg_params: null })).toBe(true);
    expect(isInfluxRecorded({ agent_address: 'a', feed_name: 'f', record: true, agg_params: { exclude_influx: 1 } })).toBe(false);
    expect(isInfluxRecorded({ agent_address: 'a', feed_name: 'f', record: false, agg_params: {} })).toBe(false);
  });
});
