import { describe, expect, it } from 'vitest';
import {
  escapeFieldKey,
  escapeKey,
  escapeMeasurement,
  formatFeedMessage,
  formatFieldValue,
  formatFloat,
  timestampNs,
} from '../../../lib/influx/line-protocol.js';
import { WampFloat } from '../../../lib/wamp/float.js';

const FEED = { agent_address: 'observatory.fake-data1', feed_name: 'false_temperatures' };

describe('formatFeedMessage', () => {
  it('writes one point per timestamp with every field of the block, as OCS does', () => {
    const message = {
      temps: {
        block_name: 'temps',
        data: { channel_00: [new WampFloat(0.1012), new WampFloat(0.0998)], channel_01: [new WampFloat(0.0855), new WampFloat(20)] },
        timestamps: [new WampFloat(1700000000.0), new WampFloat(1700000000.105)],
      },
    };
    const { lines, issues } = formatFeedMessage(message, FEED);
    expect(issues).toEqual([]);
    expect(lines).toEqual([
      'observatory.fake-data1,feed=false_temperatures channel_00=0.1012,channel_01=0.0855 1700000000000000000',
      'observatory.fake-data1,feed=false_temperatures channel_00=0.0998,channel_01=20.0 1700000000104999936',
    ]);
  });

  it('writes the registry line of the OCS reference exactly', () => {
    const message = {
      observatory_fake_data1_acq: {
        block_name: 'observatory_fake_data1_acq',
        data: { observatory_fake_data1_acq: [3] },
        timestamps: [1700000000.123456789],
      },
    };
    expect(formatFeedMessage(message, { agent_address: 'observatory.registry', feed_name: 'agent_operations' }).lines).toEqual([
      'observatory.registry,feed=agent_operations observatory_fake_data1_acq=3i 1700000000123456768',
    ]);
  });

  it('types values: WampFloat and fractions as floats, integral numbers and bigints as ints, strings quoted, booleans', () => {
    const message = {
      b: {
        block_name: 'b',
        data: {
          f: [new WampFloat(1)],
          g: [2.5],
          i: [7],
          big: [12345678901234567n],
          neg: [-3],
          s: ['he said "hi" \\o/'],
          t: [true],
          u: [false],
        },
        timestamps: [1],
      },
    };
    expect(formatFeedMessage(message, FEED).lines).toEqual([
      'observatory.fake-data1,feed=false_temperatures f=1.0,g=2.5,i=7i,big=12345678901234567i,neg=-3i,s="he said \\"hi\\" \\\\o/",t=True,u=False 1000000000',
    ]);
  });

  it('leaves out values InfluxDB cannot store and reports each', () => {
    const message = {
      b: {
        block_name: 'b',
        data: { x: [1.5, Number.NaN, null], y: [new WampFloat(Number.POSITIVE_INFINITY), 2.5, { a: 1 }] },
        timestamps: [1, 2, 3],
      },
    };
    const { lines, issues } = formatFeedMessage(message, FEED);
    expect(lines).toEqual([
      'observatory.fake-data1,feed=false_temperatures x=1.5 1000000000',
      'observatory.fake-data1,feed=false_temperatures y=2.5 2000000000',
    ]);
    expect(issues.map((i) => [i.field, i.index])).toEqual([
      ['y', 0],
      ['x', 1],
      ['x', 2],
      ['y', 2],
    ]);
  });

  it('escapes spaces, commas and equals signs in names and leaves valid OCS names unchanged', () => {
    const message = { b: { block_name: 'b', data: { 'a b,c=d': [1.5] }, timestamps: [1] } };
    const { lines } = formatFeedMessage(message, { agent_address: 'obs.my agent,x', feed_name: 'f=1 2,3' });
    expect(lines).toEqual(['obs.my\\ agent\\,x,feed=f\\=1\\ 2\\,3 a\\ b\\,c\\=d=1.5 1000000000']);
  });

  it('refuses the field key time, empty keys and keys with line breaks, and keeps the other fields', () => {
    const message = { b: { block_name: 'b', data: { time: [1.5], '': [2.5], 'a\nb': [3.5], ok: [4.5] }, timestamps: [1] } };
    const { lines, issues } = formatFeedMessage(message, FEED);
    expect(lines).toEqual(['observatory.fake-data1,feed=false_temperatures ok=4.5 1000000000']);
    expect(issues.map((i) => i.field)).toEqual(['time', '', 'a\nb']);
  });

  it('skips a block whose lists do not match its timestamps, and writes the other blocks', () => {
    const message = {
      bad: { block_name: 'bad', data: { x: [1, 2] }, timestamps: [1] },
      good: { block_name: 'good', data: { y: [1.5] }, timestamps: [1] },
    };
    const { lines, issues } = formatFeedMessage(message, FEED);
    expect(lines).toEqual(['observatory.fake-data1,feed=false_temperatures y=1.5 1000000000']);
    expect(issues).toEqual([{ block: 'bad', field: 'x', reason: '2 values for 1 timestamps' }]);
  });

  it('skips samples with invalid timestamps', () => {
    const message = { b: { block_name: 'b', data: { x: [1.5, 2.5] }, timestamps: ['soon', 2] } };
    const { lines, issues } = formatFeedMessage(message, FEED);
    expect(lines).toEqual(['observatory.fake-data1,feed=false_temperatures x=2.5 2000000000']);
    expect(issues).toEqual([{ block: 'b', index: 0, reason: 'invalid timestamp "soon"' }]);
  });

  it('reports messages that are not objects of blocks, and unwritable measurements', () => {
    expect(formatFeedMessage([1, 2], FEED).issues[0]?.reason).toMatch(/object of blocks/);
    expect(formatFeedMessage({ b: { data: {} } }, FEED).issues[0]?.reason).toMatch(/block must be/);
    expect(formatFeedMessage({}, { agent_address: '#obs', feed_name: 'f' }).issues[0]?.reason).toMatch(/comment/);
    expect(formatFeedMessage({}, { agent_address: 'obs', feed_name: '' }).issues[0]?.reason).toMatch(/empty feed name/);
  });
});

describe('formatFieldValue', () => {
  it('writes integers beyond 2^53 exactly and refuses those outside int64', () => {
    expect(formatFieldValue(2 ** 60)).toBe('1152921504606846976i');
    expect(formatFieldValue(-(2 ** 63) + 1024)).toBe('-9223372036854774784i');
    expect(formatFieldValue(2 ** 63)).toBeInstanceOf(Error);
    expect(formatFieldValue(9223372036854775807n)).toBe('9223372036854775807i');
    expect(formatFieldValue(9223372036854775808n)).toBeInstanceOf(Error);
  });

  it('refuses null, undefined, arrays and objects', () => {
    for (const v of [null, undefined, [1], { a: 1 }, Symbol('x')]) expect(formatFieldValue(v)).toBeInstanceOf(Error);
  });
});

describe('formatFloat', () => {
  it('keeps a fraction on integral floats and uses exponents as JavaScript prints them', () => {
    expect(formatFloat(20)).toBe('20.0');
    expect(formatFloat(-0.5)).toBe('-0.5');
    expect(formatFloat(1e-7)).toBe('1e-7');
    expect(formatFloat(1.5e21)).toBe('1.5e+21');
    expect(formatFloat(Number.NaN)).toBeInstanceOf(Error);
  });
});

describe('timestampNs', () => {
  it('computes int(t * 1e9) exactly as Python does', () => {
    expect(timestampNs(1700000000.123456789)).toBe('1700000000123456768');
    expect(timestampNs(new WampFloat(1700000000.105))).toBe('1700000000104999936');
    expect(timestampNs(0.5)).toBe('500000000');
    expect(timestampNs(-1.5)).toBe('-1500000000');
    expect(timestampNs(Number.NaN)).toBeUndefined();
    expect(timestampNs('1')).toBeUndefined();
  });
});

describe('escaping', () => {
  it('refuses backslashes that InfluxDB would read as escapes and passes others', () => {
    expect(escapeMeasurement('a\\b')).toBe('a\\b');
    expect(escapeMeasurement('a\\')).toBeInstanceOf(Error);
    expect(escapeKey('a\\ b')).toBeInstanceOf(Error);
    expect(escapeFieldKey('x\\=y')).toBeInstanceOf(Error);
  });

  it('escapes only commas and spaces in measurements', () => {
    expect(escapeMeasurement('a=b c,d')).toBe('a=b\\ c\\,d');
  });
});
