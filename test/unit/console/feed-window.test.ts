import { describe, expect, it } from 'vitest';
import { FeedWindow, fieldKey } from '../../../lib/console/feed-window.js';

const FEED = { agent_address: 'observatory.fd', agg_params: {}, feed_name: 'false_temperatures', address: 'observatory.fd.feeds.false_temperatures', record: true, session_id: '1', agent_class: 'FakeDataAgent' };
const block = (name: string, t0: number, n: number, fields: Record<string, (i: number) => unknown>) => ({
  [name]: { block_name: name, timestamps: Array.from({ length: n }, (_, i) => t0 + i), data: Object.fromEntries(Object.entries(fields).map(([f, v]) => [f, Array.from({ length: n }, (_, i) => v(i))])) },
});

describe('FeedWindow', () => {
  it('appends the samples of each block and gives one table per block with the chosen fields', () => {
    const w = new FeedWindow();
    expect(w.applyEvent([[block('temps', 100, 3, { c0: (i) => i, c1: (i) => 10 + i }), FEED]])).toEqual({ ok: true, samples: 3 });
    w.applyMessage({ ...block('temps', 103, 2, { c0: () => 7, c1: () => 8 }), ...block('other', 100, 1, { x: () => true }) });
    expect(w.fieldKeys()).toEqual(['other/x', 'temps/c0', 'temps/c1']);
    expect(w.tables([fieldKey('temps', 'c1'), 'other/x'])).toEqual([
      { block: 'temps', fields: ['c1'], data: [[100, 101, 102, 103, 104], [10, 11, 12, 8, 8]] },
      { block: 'other', fields: ['x'], data: [[100], [1]] },
    ]);
    expect(w.sampleCount).toBe(6);
  });

  it('drops samples older than the window behind the newest', () => {
    const w = new FeedWindow(10);
    w.applyMessage(block('b', 0, 30, { v: (i) => i }));
    expect(w.tables(['b/v'])[0]!.data).toEqual([Array.from({ length: 11 }, (_, i) => 19 + i), Array.from({ length: 11 }, (_, i) => 19 + i)]);
    expect(w.heldSamples()).toBe(11);
  });

  it('keeps columns aligned when a field appears late or is missing from a message', () => {
    const w = new FeedWindow();
    w.applyMessage(block('b', 0, 2, { a: () => 1 }));
    w.applyMessage(block('b', 2, 1, { a: () => 2, late: () => 5 }));
    w.applyMessage(block('b', 3, 1, { late: () => 6 }));
    expect(w.tables(['b/a', 'b/late'])[0]!.data).toEqual([
      [0, 1, 2, 3],
      [1, 1, 2, null],
      [null, null, 5, 6],
    ]);
  });

  it('refuses what is not a recorded feed message, saying why, and keeps what it has', () => {
    const w = new FeedWindow();
    w.applyMessage(block('b', 0, 1, { a: () => 1 }));
    expect(w.applyEvent('junk')).toEqual({ ok: false, error: 'feed event is not [[message, feed]]' });
    expect(w.applyEvent([[{}, { ...FEED, record: false }]])).toEqual({ ok: false, error: 'feed false_temperatures is not recorded (record=false)' });
    expect(w.applyMessage({ b: { block_name: 'c', timestamps: [1], data: { a: [1] } } })).toMatchObject({ ok: false, error: expect.stringContaining('block_name c differs from its key b') });
    expect(w.applyMessage({ b: { block_name: 'b', timestamps: [1, 2], data: { a: [1] } } })).toMatchObject({ ok: false, error: expect.stringContaining('1 values for 2 timestamps') });
    expect(w.heldSamples()).toBe(1);
  });

  it('plots strings as gaps', () => {
    const w = new FeedWindow();
    w.applyMessage(block('b', 0, 2, { s: (i) => (i === 0 ? 'on' : 2) }));
    expect(w.tables(['b/s'])[0]!.data[1]).toEqual([null, 2]);
  });
});

describe('FeedWindow with samples out of order', () => {
  it('keeps times ascending (as uPlot needs) and trims by time when a block arrives late', () => {
    const w = new FeedWindow(10);
    w.applyMessage(block('b', 100, 2, { v: (i) => 100 + i }));
    w.applyMessage(block('b', 95, 3, { v: (i) => 95 + i }));
    expect(w.tables(['b/v'])[0]!.data).toEqual([
      [95, 96, 97, 100, 101],
      [95, 96, 97, 100, 101],
    ]);
    w.applyMessage(block('b', 106, 2, { v: (i) => 106 + i }));
    expect(w.tables(['b/v'])[0]!.data[0]).toEqual([97, 100, 101, 106, 107]);
  });
});
