import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { InfluxHttp } from '../../../lib/influx/influx-http.js';
import { InfluxWriter } from '../../../lib/influx/influx-writer.js';
import { InfluxFeedRecorder } from '../../../lib/influx/influx-feed-recorder.js';
import { formatFeedMessage } from '../../../lib/influx/line-protocol.js';
import { InfluxPublisher, InfluxPublisherArgsSchema, influxConnectionFromArgs } from '../../../lib/influx/influx-publisher.js';
import { WampFloat } from '../../../lib/wamp/float.js';
import { startInfluxd, type RunningInfluxd } from '../../helpers/influxd.js';
import { delay, waitFor } from '../../helpers/wait.js';
import { startV2WriteShim } from './v2-write-shim.js';

let influx: RunningInfluxd;
let dbCounter = 0;

beforeAll(async () => {
  influx = await startInfluxd();
});

afterAll(async () => {
  await influx?.stop();
});

interface Pipeline {
  db: string;
  http: InfluxHttp;
  writer: InfluxWriter;
  recorder: InfluxFeedRecorder;
}

async function pipeline(options: { shouldCreate?: boolean; shouldGzip?: boolean; backoffCapMs?: number } = {}): Promise<Pipeline> {
  const db = `test_${++dbCounter}`;
  const http = new InfluxHttp({ target: { version: 1, url: influx.url, database: db }, shouldGzip: options.shouldGzip ?? false, requestTimeoutMs: 5000 });
  if (options.shouldCreate ?? true) await http.createDatabase();
  const writer = new InfluxWriter({ sink: http, flushIntervalMs: 100, initialBackoffMs: 50, backoffCapMs: options.backoffCapMs ?? 300 });
  onTestFinished(async () => {
    await writer.close({ drainTimeoutMs: 1000 });
  });
  return { db, http, writer, recorder: new InfluxFeedRecorder({ writer }) };
}

const feed = (agentAddress: string, feedName: string) => ({
  agent_address: agentAddress,
  agg_params: {},
  feed_name: feedName,
  address: `${agentAddress}.feeds.${feedName}`,
  record: true,
  session_id: '1700000000.5',
  agent_class: 'TestAgent',
});

async function fieldTypes(db: string, measurement: string): Promise<Record<string, string>> {
  const [result] = await influx.query(`SHOW FIELD KEYS FROM "${measurement}"`, db);
  return Object.fromEntries((result?.series?.[0]?.values ?? []).map(([k, t]) => [String(k), String(t)]));
}

async function rows(db: string, q: string): Promise<unknown[][]> {
  const [result] = await influx.query(q, db);
  return result?.series?.[0]?.values ?? [];
}

describe('InfluxWriter against influxd', () => {
  it('round-trips ints, floats (integral ones too), strings and booleans with their types', async () => {
    const { db, writer, recorder } = await pipeline();
    const message = {
      b: {
        block_name: 'b',
        data: {
          f_integral: [new WampFloat(20), new WampFloat(21)],
          f_frac: [0.25, new WampFloat(-1e-7)],
          i: [3, -(2 ** 40)],
          s: ['say "hi"', 'back\\slash\nnew line'],
          flag: [true, false],
        },
        timestamps: [1700000000.25, 1700000001.5],
      },
    };
    expect(recorder.handleFeedEvent([[message, feed('observatory.types-agent', 'types')]])).toBe('queued');
    expect(await writer.flush(5000)).toBe(true);
    expect(await fieldTypes(db, 'observatory.types-agent')).toEqual({
      f_frac: 'float',
      f_integral: 'float',
      flag: 'boolean',
      i: 'integer',
      s: 'string',
    });
    expect(await rows(db, 'SELECT f_integral, f_frac, i, s, flag, feed FROM "observatory.types-agent"')).toEqual([
      [1700000000250000000, 20, 0.25, 3, 'say "hi"', true, 'types'],
      [1700000001500000000, 21, -1e-7, -(2 ** 40), 'back\\slash\nnew line', false, 'types'],
    ]);
    expect(writer.stats()).toMatchObject({ writtenPoints: 2, rejectedPoints: 0, droppedPoints: 0 });
  });

  it('stores names with spaces, commas and equals signs through escaping', async () => {
    const { db, writer, recorder } = await pipeline();
    const message = { b: { block_name: 'b', data: { 'odd key,=': [1.5] }, timestamps: [1700000000] } };
    recorder.handleFeedEvent([[message, feed('obs.odd agent,x', 'feed=1 2')]]);
    expect(await writer.flush(5000)).toBe(true);
    const [result] = await influx.query('SHOW TAG VALUES WITH KEY = "feed"', db);
    expect(result?.series?.[0]).toMatchObject({ name: 'obs.odd agent,x', values: [['feed', 'feed=1 2']] });
    expect(await fieldTypes(db, 'obs.odd agent,x')).toEqual({ 'odd key,=': 'float' });
  });

  it('reports a field type conflict and keeps writing later points', async () => {
    const { db, writer } = await pipeline();
    const f = { agent_address: 'observatory.conflict', feed_name: 'f' };
    const batch = (field: string, values: unknown[], t0: number) =>
      formatFeedMessage({ b: { block_name: 'b', data: { [field]: values }, timestamps: values.map((_, i) => t0 + i) } }, f).lines;
    writer.enqueue(batch('x', [new WampFloat(1), new WampFloat(2)], 1700000000));
    expect(await writer.flush(5000)).toBe(true);
    writer.enqueue(batch('x', [5], 1700000010));
    expect(await writer.flush(5000)).toBe(true);
    writer.enqueue(batch('x', [new WampFloat(3), new WampFloat(4)], 1700000020));
    expect(await writer.flush(5000)).toBe(true);
    const stats = writer.stats();
    expect(stats.rejectedPoints).toBe(1);
    expect(stats.writtenPoints).toBe(4);
    expect(stats.lastError).toMatch(/field type conflict/);
    expect(stats.pendingPoints).toBe(0);
    expect((await rows(db, 'SELECT x FROM "observatory.conflict"')).map((r) => r[1])).toEqual([1, 2, 3, 4]);
  });

  it('refuses fields InfluxDB cannot store before sending and writes the others', async () => {
    const { db, writer, recorder } = await pipeline();
    const message = { b: { block_name: 'b', data: { time: [1.5], 'bad\nname': [2.5], nan: [Number.NaN], ok: [4.5] }, timestamps: [1700000000] } };
    expect(recorder.handleFeedEvent([[message, feed('observatory.valid', 'f')]])).toBe('queued');
    expect(await writer.flush(5000)).toBe(true);
    expect(recorder.stats().invalidValues).toBe(3);
    expect(await fieldTypes(db, 'observatory.valid')).toEqual({ ok: 'float' });
    expect(writer.stats()).toMatchObject({ writtenPoints: 1, rejectedPoints: 0 });
  });

  it('writes gzip bodies', async () => {
    const { db, writer, recorder } = await pipeline({ shouldGzip: true });
    const values = Array.from({ length: 50 }, (_, i) => new WampFloat(i / 10));
    const message = { b: { block_name: 'b', data: { v: values }, timestamps: values.map((_, i) => 1700000000 + i) } };
    recorder.handleFeedEvent([[message, feed('observatory.gz', 'f')]]);
    expect(await writer.flush(5000)).toBe(true);
    expect(await rows(db, 'SELECT count(v) FROM "observatory.gz"')).toEqual([[0, 50]]);
  });

  it('creates a missing database on the first write', async () => {
    const { db, writer, recorder } = await pipeline({ shouldCreate: false });
    recorder.handleFeedEvent([[{ b: { block_name: 'b', data: { v: [1.5] }, timestamps: [1700000000] } }, feed('observatory.newdb', 'f')]]);
    expect(await writer.flush(5000)).toBe(true);
    expect(await rows(db, 'SELECT v FROM "observatory.newdb"')).toEqual([[1700000000000000000, 1.5]]);
  });

  it('loses no point when influxd stops and restarts mid-stream', async () => {
    const { db, writer, recorder } = await pipeline({ backoffCapMs: 200 });
    const f = feed('observatory.restart', 'stream');
    let sent = 0;
    let t = 1700000000;
    let isRunning = true;
    const producer = (async () => {
      while (isRunning) {
        const n = 20;
        const timestamps = Array.from({ length: n }, () => new WampFloat((t += 0.01)));
        const data = { seq: timestamps.map(() => ++sent), v: timestamps.map((x) => new WampFloat(x.value % 1)) };
        recorder.handleFeedEvent([[{ b: { block_name: 'b', data, timestamps } }, f]]);
        await delay(20);
      }
    })();
    await waitFor(() => writer.stats().writtenPoints > 100, { timeoutMs: 10_000, what: 'first writes' });
    await influx.pause();
    await waitFor(() => writer.stats().retryAttempt >= 2, { timeoutMs: 10_000, what: 'write failures while influxd is down' });
    const pendingWhileDown = writer.stats().pendingPoints;
    await delay(500);
    expect(writer.stats().pendingPoints).toBeGreaterThan(pendingWhileDown);
    await influx.start();
    // Points are written in order: once every point sent before the restart is written, the
    // backlog of the outage is in, while the stream goes on.
    const sentBeforeRestart = sent;
    await waitFor(() => writer.stats().retryAttempt === 0 && writer.stats().writtenPoints >= sentBeforeRestart, { timeoutMs: 15_000, what: 'recovery' });
    isRunning = false;
    await producer;
    expect(await writer.flush(10_000)).toBe(true);
    const stats = writer.stats();
    expect(stats).toMatchObject({ writtenPoints: sent, droppedPoints: 0, rejectedPoints: 0, pendingPoints: 0 });
    expect(stats.lastError).toMatch(/unreachable/);
    expect(await rows(db, 'SELECT count(seq), max(seq) FROM "observatory.restart"')).toEqual([[0, sent, sent]]);
  });

  it('InfluxPublisher built from OCS arguments creates its database and writes feed events', async () => {
    const args = InfluxPublisherArgsSchema.parse({ host: '127.0.0.1', port: String(influx.port), database: 'publisher_db', gzip: true, flush_interval: '0.1' });
    const publisher = new InfluxPublisher({ args, connection: influxConnectionFromArgs(args) });
    onTestFinished(async () => {
      await publisher.close({ drainTimeoutMs: 1000 });
    });
    expect(await publisher.start()).toBe(true);
    const message = { temps: { block_name: 'temps', data: { channel_00: [new WampFloat(0.5)] }, timestamps: [new WampFloat(1700000000)] } };
    expect(publisher.recorder.handleFeedEvent([[message, feed('observatory.fake-data1', 'false_temperatures')]])).toBe('queued');
    expect(publisher.recorder.handleFeedEvent([[{ acq: 3 }, { ...feed('observatory.fake-data1', 'heartbeat'), record: false }]])).toBe('not_recorded');
    expect(await publisher.writer.flush(5000)).toBe(true);
    expect(await rows('publisher_db', 'SELECT channel_00 FROM "observatory.fake-data1" WHERE "feed" = \'false_temperatures\'')).toEqual([[1700000000000000000, 0.5]]);
    expect(publisher.sessionData()).toMatchObject({ written_points: 1, pending_points: 0, dropped_points: 0, rejected_points: 0, last_error: null });
    expect(publisher.sessionData().last_write_time).toBeCloseTo(Date.now() / 1000, -1);
  });

  it('InfluxPublisher with a 2.x connection writes through /api/v2/write to bucket database/retention-policy', async () => {
    await influx.query('CREATE DATABASE "v2_db"');
    const shim = await startV2WriteShim(influx.url, { token: 'user:password' });
    onTestFinished(() => shim.close());
    const args = InfluxPublisherArgsSchema.parse({ flush_interval: '0.1', gzip: 'true' });
    const target = { version: 2, url: shim.url, org: 'ocs', bucket: 'v2_db/autogen', token: 'user:password' } as const;
    const publisher = new InfluxPublisher({ args, connection: { target, requestTimeoutMs: 2000 } });
    onTestFinished(async () => {
      await publisher.close({ drainTimeoutMs: 1000 });
    });
    const message = { temps: { block_name: 'temps', data: { channel_00: [new WampFloat(1.5), new WampFloat(2)] }, timestamps: [new WampFloat(1700000000), new WampFloat(1700000001)] } };
    expect(publisher.recorder.handleFeedEvent([[message, feed('observatory.fake-data2', 'false_temperatures')]])).toBe('queued');
    expect(await publisher.writer.flush(5000)).toBe(true);
    expect(await rows('v2_db', 'SELECT channel_00 FROM "observatory.fake-data2" WHERE "feed" = \'false_temperatures\'')).toEqual([
      [1700000000000000000, 1.5],
      [1700000001000000000, 2],
    ]);
    expect(await rows('v2_db', 'SHOW FIELD KEYS FROM "observatory.fake-data2"')).toEqual([['channel_00', 'float']]);
    expect(publisher.sessionData()).toMatchObject({ written_points: 2, pending_points: 0, last_error: null });
    expect(shim.requests).toEqual([
      { method: 'POST', path: '/api/v2/write', org: 'ocs', bucket: 'v2_db/autogen', precision: 'ns', authorization: 'Token user:password', contentEncoding: 'gzip' },
    ]);
  });
});
