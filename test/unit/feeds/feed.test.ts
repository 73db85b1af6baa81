import { describe, expect, it } from 'vitest';
import { Feed, type FeedOptions } from '../../../lib/feeds/feed.js';
import { RecordedFeedMessageSchema, FeedEventArgsSchema } from '../../../lib/feeds/feed-schemas.js';
import { InvalidParamsError } from '../../../lib/errors.js';
import { WampFloat } from '../../../lib/wamp/float.js';
import type { Clock } from '../../../lib/clock.js';

interface Published {
  topic: string;
  args: unknown[];
}

function fakeClock(startMs = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let now = startMs;
  return {
    nowMs: () => now,
    advance: (ms) => {
      now += ms;
    },
    setTimeout: () => ({}),
    clearTimeout: () => {},
    setInterval: () => ({}),
    clearInterval: () => {},
  };
}

function makeFeed(options: Partial<FeedOptions> = {}) {
  const published: Published[] = [];
  const clock = fakeClock();
  const feed = new Feed({
    agentAddress: 'observatory.fake-data1',
    feedName: 'false_temperatures',
    agentClass: 'FakeDataAgent',
    agentSessionId: '1700000000.123456',
    record: true,
    aggParams: { frame_length: 60 },
    clock,
    publish: (topic, args) => published.push({ topic, args }),
    ...options,
  });
  return { feed, published, clock };
}

/** The first element of the single event argument: the message. */
function messageOf(p: Published | undefined): Record<string, unknown> {
  const pair = p?.args[0] as [Record<string, unknown>, unknown];
  return pair[0];
}

/** The event payload with every WampFloat replaced by its number, as a subscriber decodes it. */
function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

describe('Feed', () => {
  it('encodes the feed description with the 7 OCS keys in order', () => {
    const { feed } = makeFeed();
    expect(feed.address).toBe('observatory.fake-data1.feeds.false_temperatures');
    const encoded = feed.encoded();
    expect(Object.keys(encoded)).toEqual(['agent_address', 'agg_params', 'feed_name', 'address', 'record', 'session_id', 'agent_class']);
    expect(encoded).toEqual({
      agent_address: 'observatory.fake-data1',
      agg_params: { frame_length: 60 },
      feed_name: 'false_temperatures',
      address: 'observatory.fake-data1.feeds.false_temperatures',
      record: true,
      session_id: '1700000000.123456',
      agent_class: 'FakeDataAgent',
    });
  });

  it('never sends null agg_params', () => {
    expect(makeFeed({ aggParams: null }).feed.encoded().agg_params).toEqual({});
    expect(makeFeed({ aggParams: undefined }).feed.encoded().agg_params).toEqual({});
  });

  it('publishes a non-recorded message at once as ONE argument [message, encoded]', () => {
    const { feed, published } = makeFeed({ feedName: 'heartbeat', record: false, aggParams: {}, bufferTimeS: 10 });
    const beat = { acq: 3, delay_task: 5 };
    feed.publishMessage(beat);
    feed.publishMessage(beat);
    expect(published).toHaveLength(2);
    expect(published[0]?.topic).toBe('observatory.fake-data1.feeds.heartbeat');
    expect(published[0]?.args).toEqual([[beat, feed.encoded()]]);
    expect(FeedEventArgsSchema.safeParse(published[0]?.args).success).toBe(true);
    // sent as it is: no float wrapping
    expect(messageOf(published[0])).toBe(beat);
  });

  it('publishes a single-sample block as a block of plural lists', () => {
    const { feed, published } = makeFeed();
    feed.publishMessage({ block_name: 'temps', timestamp: 1700000000.5, data: { channel_00: 0.1012, channel_01: 0.0855 } });
    expect(published).toHaveLength(1);
    expect(plain(published[0]?.args)).toEqual([
      [
        { temps: { block_name: 'temps', data: { channel_00: [0.1012], channel_01: [0.0855] }, timestamps: [1700000000.5] } },
        feed.encoded(),
      ],
    ]);
    const block = messageOf(published[0])['temps'] as Record<string, unknown>;
    expect(Object.keys(block)).toEqual(['block_name', 'data', 'timestamps']);
    expect(RecordedFeedMessageSchema.safeParse(messageOf(published[0])).success).toBe(true);
  });

  it('publishes a multi-sample block', () => {
    const { feed, published } = makeFeed();
    feed.publishMessage({ block_name: 'temps', timestamps: [1700000000, 1700000000.105], data: { channel_00: [0.1012, 0.0998], label: ['a', 'b'] } });
    expect(plain(messageOf(published[0]))).toEqual({
      temps: { block_name: 'temps', data: { channel_00: [0.1012, 0.0998], label: ['a', 'b'] }, timestamps: [1700000000, 1700000000.105] },
    });
  });

  describe('floats', () => {
    it('sends every number of a recorded block as a WampFloat and a bigint as a plain integer', () => {
      const { feed, published } = makeFeed();
      feed.publishMessage({ block_name: 'b', timestamp: 1700000000, data: { t: 20, n: 20n, f: 20.5, s: 'on', ok: true } });
      const block = messageOf(published[0])['b'] as { data: Record<string, unknown[]>; timestamps: unknown[] };
      expect(block.data['t']).toEqual([new WampFloat(20)]);
      expect(block.data['t']?.[0]).toBeInstanceOf(WampFloat);
      expect(block.data['f']?.[0]).toBeInstanceOf(WampFloat);
      expect(block.data['n']).toEqual([20]);
      expect(typeof block.data['n']?.[0]).toBe('number');
      expect(block.data['s']).toEqual(['on']);
      expect(block.data['ok']).toEqual([true]);
      expect(block.timestamps[0]).toBeInstanceOf(WampFloat);
      expect((block.timestamps[0] as WampFloat).value).toBe(1700000000);
    });

    it('refuses a bigint outside the safe-integer range', () => {
      const { feed } = makeFeed();
      expect(() => feed.publishMessage({ block_name: 'b', timestamp: 1, data: { n: 2n ** 60n } })).toThrow(/field n: invalid value 1152921504606846976n/);
    });

    it('refuses a field that switches between float and int', () => {
      const { feed } = makeFeed({ bufferTimeS: 60 });
      feed.publishMessage({ block_name: 'b', timestamp: 1, data: { x: 1.5 } });
      expect(() => feed.publishMessage({ block_name: 'b', timestamp: 2, data: { x: 2n } })).toThrow('block b field x: value 2n is int but the field is float');
      expect(() => feed.publishMessage({ block_name: 'c', timestamps: [1, 2], data: { x: [1, 'one'] } })).toThrow('field x: value "one" is string but the field is float');
    });
  });

  describe('validation', () => {
    it.each([
      ['null', null, 'invalid value null'],
      ['NaN', Number.NaN, 'invalid value NaN'],
      ['Infinity', Number.POSITIVE_INFINITY, 'invalid value Infinity'],
      ['-Infinity', Number.NEGATIVE_INFINITY, 'invalid value -Infinity'],
      ['an object', { a: 1 }, 'invalid value {"a":1}'],
      ['undefined', undefined, 'invalid value undefined'],
      ['a list in a single sample', [1, 2], 'invalid value [1,2]'],
    ])('refuses %s, naming block, field and value', (_what, value, text) => {
      const { feed, published } = makeFeed();
      let error: unknown;
      try {
        feed.publishMessage({ block_name: 'temps', timestamp: 1, data: { ok: 1, channel_00: value } });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidParamsError);
      expect((error as Error).message).toContain(`feed false_temperatures: block temps field channel_00: ${text}`);
      expect((error as InvalidParamsError).details).toMatchObject({ feed: 'false_temperatures', block: 'temps', field: 'channel_00' });
      expect(published).toHaveLength(0);
    });

    it('refuses invalid values inside a multi-sample list', () => {
      const { feed } = makeFeed();
      expect(() => feed.publishMessage({ block_name: 'b', timestamps: [1, 2], data: { x: [1, null] } })).toThrow('block b field x: invalid value null');
      expect(() => feed.publishMessage({ block_name: 'b', timestamps: [1, 2], data: { x: [1, Number.NaN] } })).toThrow('invalid value NaN');
    });

    it('refuses a message with neither timestamp nor timestamps', () => {
      const { feed } = makeFeed();
      expect(() => feed.publishMessage({ block_name: 'b', data: { x: 1 } })).toThrow('block b: message has neither "timestamp" nor "timestamps" (keys: block_name, data)');
    });

    it('refuses messages that are not blocks', () => {
      const { feed } = makeFeed();
      for (const bad of [null, 3, 'x', [1], { data: { x: 1 }, timestamp: 1 }, { block_name: 'b', timestamp: 1 }, { block_name: 'b', timestamp: 1, data: [1] }]) {
        expect(() => feed.publishMessage(bad)).toThrow(InvalidParamsError);
      }
    });

    it('refuses bad timestamps', () => {
      const { feed } = makeFeed();
      expect(() => feed.publishMessage({ block_name: 'b', timestamp: null, data: { x: 1 } })).toThrow('block b: invalid timestamp null');
      expect(() => feed.publishMessage({ block_name: 'b', timestamp: '1', data: { x: 1 } })).toThrow('invalid timestamp "1"');
      expect(() => feed.publishMessage({ block_name: 'b', timestamps: 1, data: { x: [1] } })).toThrow('"timestamps" must be a list');
      expect(() => feed.publishMessage({ block_name: 'b', timestamps: [Number.NaN], data: { x: [1] } })).toThrow('invalid timestamp NaN');
    });

    it('refuses multi-sample lists whose length differs from the timestamps', () => {
      const { feed } = makeFeed();
      expect(() => feed.publishMessage({ block_name: 'b', timestamps: [1, 2], data: { x: [1, 2], y: [1] } })).toThrow('block b field y: 1 values for 2 timestamps');
      expect(() => feed.publishMessage({ block_name: 'b', timestamps: [1, 2], data: { x: 3 } })).toThrow('block b field x: a multi-sample block needs a list of values, got 3');
    });

    it('refuses invalid field names with the OCS message', () => {
      const { feed } = makeFeed();
      expect(() => feed.publishMessage({ block_name: 'b', timestamp: 1, data: { 'temp K': 1 } })).toThrow(
        "feed false_temperatures: block b: message 'data' block contains the key temp K with the invalid character ' '.",
      );
      expect(() => feed.publishMessage({ block_name: 'b', timestamp: 1, data: { '1abc': 1 } })).toThrow('does not start with a letter');
      expect(() => feed.publishMessage({ block_name: 'b', timestamp: 1, data: { '': 1 } })).toThrow('Empty field name');
    });

    it('freezes the field set of a block name, naming old and new fields', () => {
      const { feed, published } = makeFeed();
      feed.publishMessage({ block_name: 'temps', timestamp: 1, data: { a: 1, b: 2 } });
      feed.publishMessage({ block_name: 'temps', timestamp: 2, data: { b: 3, a: 4 } });
      expect(() => feed.publishMessage({ block_name: 'temps', timestamp: 3, data: { a: 1, c: 2 } })).toThrow(
        'Block structure does not match: temps (fields [a, b], got [a, c])',
      );
      expect(() => feed.publishMessage({ block_name: 'temps', timestamp: 3, data: { a: 1 } })).toThrow('Block structure does not match: temps');
      // another block name may have other fields
      feed.publishMessage({ block_name: 'temps2', timestamp: 3, data: { a: 1, c: 2 } });
      expect(published).toHaveLength(3);
      // key order of the block stays the first use's order
      expect(Object.keys((messageOf(published[1])['temps'] as { data: object }).data)).toEqual(['a', 'b']);
    });

    it('buffers nothing from a message that fails', () => {
      const { feed, published } = makeFeed({ bufferTimeS: 60 });
      feed.publishMessage({ block_name: 'b', timestamp: 1, data: { x: 1, y: 2 } });
      expect(() => feed.publishMessage({ block_name: 'b', timestamp: 2, data: { x: 1, y: null } })).toThrow(InvalidParamsError);
      feed.flushBuffer();
      expect(plain(messageOf(published[0]))).toEqual({ b: { block_name: 'b', data: { x: [1], y: [2] }, timestamps: [1] } });
    });

    it('refuses invalid feed names and buffer times', () => {
      expect(() => makeFeed({ feedName: 'a.b' })).toThrow(InvalidParamsError);
      expect(() => makeFeed({ feedName: '' })).toThrow(InvalidParamsError);
      expect(() => makeFeed({ feedName: 'a b' })).toThrow(InvalidParamsError);
      expect(() => makeFeed({ bufferTimeS: -1 })).toThrow('buffer time must be a number >= 0');
      expect(makeFeed({ feedName: 'LS-372_temps' }).feed.address).toBe('observatory.fake-data1.feeds.LS-372_temps');
    });
  });

  describe('buffering', () => {
    it('publishes on every publish when the buffer time is 0', () => {
      const { feed, published } = makeFeed({ bufferTimeS: 0 });
      for (let i = 0; i < 3; i++) feed.publishMessage({ block_name: 'b', timestamp: i, data: { x: i } });
      expect(published.map((p) => plain(messageOf(p)))).toEqual([0, 1, 2].map((i) => ({ b: { block_name: 'b', data: { x: [i] }, timestamps: [i] } })));
    });

    it('holds samples until a publish comes after the buffer time, then sends them per block', () => {
      const { feed, published, clock } = makeFeed({ bufferTimeS: 1 });
      feed.publishMessage({ block_name: 'a', timestamp: 1, data: { x: 1 } });
      clock.advance(400);
      feed.publishMessage({ block_name: 'b', timestamps: [2, 2.5], data: { y: ['p', 'q'] } });
      clock.advance(599);
      feed.publishMessage({ block_name: 'a', timestamp: 3, data: { x: 3 } });
      expect(published).toHaveLength(0);
      clock.advance(1);
      feed.publishMessage({ block_name: 'a', timestamp: 4, data: { x: 4 } });
      expect(published).toHaveLength(1);
      expect(plain(messageOf(published[0]))).toEqual({
        a: { block_name: 'a', data: { x: [1, 3, 4] }, timestamps: [1, 3, 4] },
        b: { block_name: 'b', data: { y: ['p', 'q'] }, timestamps: [2, 2.5] },
      });
      // the next window starts at the next publish; empty blocks are left out
      clock.advance(5000);
      feed.publishMessage({ block_name: 'a', timestamp: 5, data: { x: 5 } });
      expect(published).toHaveLength(1);
      clock.advance(1000);
      feed.publishMessage({ block_name: 'a', timestamp: 6, data: { x: 6 } });
      expect(published).toHaveLength(2);
      expect(plain(messageOf(published[1]))).toEqual({ a: { block_name: 'a', data: { x: [5, 6] }, timestamps: [5, 6] } });
    });

    it('flushBuffer publishes what is buffered and does nothing when empty', () => {
      const { feed, published } = makeFeed({ bufferTimeS: 60 });
      feed.flushBuffer();
      expect(published).toHaveLength(0);
      feed.publishMessage({ block_name: 'a', timestamp: 1, data: { x: 1 } });
      feed.flushBuffer();
      feed.flushBuffer();
      expect(published).toHaveLength(1);
      expect(plain(published[0]?.args)).toEqual([[{ a: { block_name: 'a', data: { x: [1] }, timestamps: [1] } }, feed.encoded()]]);
    });

    it('keeps the field set frozen across flushes', () => {
      const { feed } = makeFeed();
      feed.publishMessage({ block_name: 'a', timestamp: 1, data: { x: 1 } });
      expect(() => feed.publishMessage({ block_name: 'a', timestamp: 2, data: { z: 1 } })).toThrow('Block structure does not match: a');
    });
  });
});
