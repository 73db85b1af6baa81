/**
 * The InfluxDB publisher as it runs: `ocs agent` InfluxDBAgent and FakeDataAgent processes, the
 * embedded router and a real influxd. A source agent inside the test (an AgentRuntime with
 * recorded feeds) publishes known values and sequences, so every point can be counted.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime } from '../../../lib/agent/agent-runtime.js';
import type { EncodedSession } from '../../../lib/ops/op-session.js';
import { decodeJson, encodeJson } from '../../../lib/wamp/json-codec.js';
import { WampFloat } from '../../../lib/wamp/float.js';
import { floatPreservingJsonSerializer } from '../../../lib/wamp/serializers.js';
import { InfluxDBAgentArgsSchema } from '../../../agents/influxdb-publisher/config.js';
import { parseAgentArgs } from '../../../lib/agent/agent-args.js';
import { ConfigError } from '../../../lib/errors.js';
import { spawnOcs, type AgentProcess } from '../../helpers/agent-process.js';
import { startInfluxd, type RunningInfluxd } from '../../helpers/influxd.js';
import { startTestRouter, type TestRouter } from '../../helpers/router.js';
import type { TestSite } from '../../helpers/site-file.js';
import { delay, waitFor } from '../../helpers/wait.js';
import { influxFieldTypes, influxPointCount, influxRows, runFakeDataUntil, startPublisherAndSource, stopPublisherAndSource, waitForSession, writeLocalhostSite } from './publisher-fixture.js';

const DB = 'ocs_feeds';
const PUBLISHER = 'influxdb-publisher';

let influx: RunningInfluxd;
let router: TestRouter;
let site: TestSite;
let publisher: AgentProcess;
let source: AgentRuntime;

beforeAll(async () => {
  influx = await startInfluxd();
  router = await startTestRouter();
  site = writeLocalhostSite(router, [
    {
      'agent-class': 'InfluxDBAgent',
      'instance-id': PUBLISHER,
      arguments: ['--host', '127.0.0.1', '--port', String(influx.port), '--database', DB, '--flush-interval', '0.2', '--backoff-cap', '0.5'],
    },
    {
      'agent-class': 'InfluxDBAgent',
      'instance-id': 'idle-publisher',
      arguments: ['--host', '127.0.0.1', '--port', String(influx.port), '--database', 'idle_db', '--initial-state', 'idle'],
    },
    { 'agent-class': 'FakeDataAgent', 'instance-id': 'fake-data1', arguments: ['--mode', 'acq', '--num-channels', '4', '--sample-rate', '5'] },
  ]);
  ({ publisher, source } = await startPublisherAndSource(site, router, PUBLISHER));
  await waitForRecord((s) => s.status === 'running');
}, 90_000);

afterAll(async () => {
  await stopPublisherAndSource({ publisher, source });
  await influx?.stop();
  if (site) rmSync(site.dir, { recursive: true, force: true });
});

const measurement = (instanceId: string): string => `${site.addressRoot}.${instanceId}`;

const rows = (q: string): Promise<unknown[][]> => influxRows(influx, q, DB);

const fieldTypes = (m: string): Promise<Record<string, string>> => influxFieldTypes(influx, DB, m);

const pointCount = (m: string, field: string, feed: string): Promise<number> => influxPointCount(influx, DB, m, field, feed);

/** The publisher's `record` session as `ocs client status --json` prints it (`{}` when it never ran). */
async function recordStatus(instanceId = PUBLISHER): Promise<EncodedSession> {
  const client = spawnOcs(['client', 'status', instanceId, 'record', '--json', '--site-file', site.file]);
  const code = await client.exited;
  if (code !== 0) throw new Error(`ocs client status exited ${code}: ${client.stderr()}`);
  const reply = client.records.find((r) => r['op_name'] === 'record');
  if (!reply) throw new Error(`no status line: ${JSON.stringify(client.records)}`);
  return reply['session'] as EncodedSession;
}

async function waitForRecord(check: (s: EncodedSession) => boolean, what = 'record session', timeoutMs = 20_000, instanceId = PUBLISHER): Promise<EncodedSession> {
  return await waitForSession(() => recordStatus(instanceId), check, what, timeoutMs);
}

async function callPublisher(op: string, action: string, ...params: string[]): Promise<Record<string, unknown>> {
  const client = spawnOcs(['client', 'call', PUBLISHER, op, action, ...params, '--json', '--site-file', site.file]);
  const code = await client.exited;
  if (code !== 0) throw new Error(`ocs client call exited ${code}: ${client.stderr()} ${JSON.stringify(client.records)}`);
  return client.records.find((r) => 'status' in r && 'message' in r) ?? {};
}

describe('InfluxDBAgent arguments', () => {
  it("takes OCS's arguments with OCS's defaults", () => {
    expect(parseAgentArgs([], InfluxDBAgentArgsSchema, 'InfluxDBAgent')).toMatchObject({
      initial_state: 'record',
      host: 'influxdb',
      port: 8086,
      database: 'ocs_feeds',
      protocol: 'line',
      gzip: false,
    });
    const args = parseAgentArgs(['--initial-state', 'idle', '--host', 'db', '--port', '18086', '--database', 'x', '--protocol', 'json', '--gzip'], InfluxDBAgentArgsSchema, 'InfluxDBAgent');
    expect(args).toMatchObject({ initial_state: 'idle', host: 'db', port: 18086, database: 'x', protocol: 'json', gzip: true });
  });

  it('refuses InfluxDB 2.x settings given in part, and unknown arguments', () => {
    expect(() => parseAgentArgs(['--org', 'o', '--bucket', 'b'], InfluxDBAgentArgsSchema, 'InfluxDBAgent')).toThrow(ConfigError);
    expect(() => parseAgentArgs(['--org', 'o', '--bucket', 'b'], InfluxDBAgentArgsSchema, 'InfluxDBAgent')).toThrow(/--token: InfluxDB 2\.x needs/);
    expect(() => parseAgentArgs(['--colour', 'red'], InfluxDBAgentArgsSchema, 'InfluxDBAgent')).toThrow(ConfigError);
  });
});

describe('floatPreservingJsonSerializer', () => {
  it('decodes integral float literals of EVENT frames as WampFloat and other frames as plain numbers', () => {
    const event = floatPreservingJsonSerializer.unserialize('[36,1,2,{},[[{"b":{"data":{"x":[20.0],"n":[20]}}},{"record":true}]]]') as unknown[];
    const data = ((event[4] as unknown[][])[0]![0] as { b: { data: { x: unknown[]; n: unknown[] } } }).b.data;
    expect(data.x[0]).toBeInstanceOf(WampFloat);
    expect(data.n[0]).toBe(20);
    const result = floatPreservingJsonSerializer.unserialize('[50,7,{},[0,"ok",{"timeout":20.0}]]') as unknown[];
    expect((result[3] as unknown[])[2]).toEqual({ timeout: 20 });
    expect(floatPreservingJsonSerializer.serialize([16, 1, {}, 'x', [new WampFloat(2)]])).toBe(encodeJson([16, 1, {}, 'x', [new WampFloat(2)]]));
    expect(decodeJson('[20.0]')).toEqual([new WampFloat(20)]);
  });
});

describe('InfluxDBAgent with a real influxd', () => {
  it('writes FakeDataAgent temperatures as floats: measurement = agent address, tag feed', async () => {
    const m = measurement('fake-data1');
    await runFakeDataUntil(site, 'fake-data1', () => pointCount(m, 'channel_03', 'false_temperatures'));
    expect(await fieldTypes(m)).toEqual({ channel_00: 'float', channel_01: 'float', channel_02: 'float', channel_03: 'float' });
    const tags = await rows(`SHOW TAG VALUES FROM "${m}" WITH KEY = "feed"`);
    expect(tags).toEqual([['feed', 'false_temperatures']]);
    // 5 Hz samples: the timestamps are 200 ms apart, in nanoseconds.
    const times = (await rows(`SELECT channel_00 FROM "${m}" LIMIT 3`)).map((r) => Number(r[0]));
    expect(times[1]! - times[0]!).toBeGreaterThan(199_000_000);
    expect(times[1]! - times[0]!).toBeLessThan(201_000_000);
    expect(times[0]! / 1e9).toBeGreaterThan(Date.now() / 1000 - 120);
  });

  it('keeps ints, floats (integral ones too), strings and booleans with their InfluxDB types', async () => {
    const feed = source.registerFeed('typed', { record: true });
    const t0 = Math.floor(Date.now() / 1000);
    feed.publishMessage({ block_name: 'b', timestamp: t0, data: { x: 20, y: 0.25, n: 5n, s: 'on', ok: true } });
    feed.publishMessage({ block_name: 'b', timestamp: t0 + 1, data: { x: 21, y: 1, n: -3n, s: 'off "quoted"', ok: false } });
    const m = measurement('source');
    await waitFor(async () => (await pointCount(m, 'x', 'typed')) === 2, { what: 'typed points' });
    expect(await fieldTypes(m)).toMatchObject({ x: 'float', y: 'float', n: 'integer', s: 'string', ok: 'boolean' });
    expect(await rows(`SELECT n, ok, s, x, y FROM "${m}" WHERE "feed" = 'typed'`)).toEqual([
      [t0 * 1e9, 5, true, 'on', 20, 0.25],
      [(t0 + 1) * 1e9, -3, false, 'off "quoted"', 21, 1],
    ]);
  });

  it('skips feeds with exclude_influx and feeds that are not recorded', async () => {
    const excluded = source.registerFeed('excluded', { record: true, aggParams: { exclude_influx: true } });
    const live = source.registerFeed('unrecorded', { record: false });
    const marker = source.registerFeed('marker', { record: true });
    const before = (await recordStatus()).data['excluded_messages'] as number;
    const t0 = Date.now() / 1000;
    excluded.publishMessage({ block_name: 'b', timestamp: t0, data: { v: 1 } });
    live.publishMessage({ block_name: 'b', timestamp: t0, data: { v: 1 } });
    marker.publishMessage({ block_name: 'b', timestamp: t0, data: { v: 1 } });
    const m = measurement('source');
    // Events of one publisher arrive in order: once the marker is stored, the others were handled.
    await waitFor(async () => (await pointCount(m, 'v', 'marker')) === 1, { what: 'marker point' });
    expect(await rows(`SELECT count(v) FROM "${m}" WHERE "feed" = 'excluded' OR "feed" = 'unrecorded'`)).toEqual([]);
    const session = await waitForRecord((s) => (s.data['excluded_messages'] as number) > before, 'excluded message counted');
    expect(session.data['excluded_messages']).toBe(before + 1);
  });

  it('refuses bad field names at publish, and the field name InfluxDB cannot store at the publisher', async () => {
    const feed = source.registerFeed('names', { record: true });
    const t0 = Date.now() / 1000;
    expect(() => feed.publishMessage({ block_name: 'b', timestamp: t0, data: { 'bad name': 1 } })).toThrow(/invalid character ' '/);
    expect(() => feed.publishMessage({ block_name: 'b', timestamp: t0, data: { '9lives': 1 } })).toThrow(/does not start with a letter/);
    const before = (await recordStatus()).data['invalid_values'] as number;
    // `time` is a valid OCS field name, but InfluxDB refuses it: the rest of the point is written.
    feed.publishMessage({ block_name: 'c', timestamp: t0, data: { time: 1, temp: 2.5 } });
    const m = measurement('source');
    await waitFor(async () => (await pointCount(m, 'temp', 'names')) === 1, { what: 'point without its time field' });
    expect(await fieldTypes(m)).not.toHaveProperty('time');
    const session = await waitForRecord((s) => (s.data['invalid_values'] as number) > before, 'invalid value counted');
    expect(session.data).toMatchObject({ invalid_values: before + 1, rejected_points: 0 });
  });

  it('loses no point when influxd stops and restarts mid-stream, and shows it in the record session', async () => {
    const feed = source.registerFeed('sequence', { record: true });
    const m = measurement('source');
    const t0 = Math.floor(Date.now() / 1000);
    let sent = 0;
    let isRunning = true;
    const producer = (async () => {
      while (isRunning) {
        for (let k = 0; k < 5; k++) {
          sent++;
          feed.publishMessage({ block_name: 'seq', timestamp: t0 + sent / 1000, data: { i: BigInt(sent), v: sent / 2 } });
        }
        await delay(20);
      }
    })();
    try {
      await waitFor(async () => (await pointCount(m, 'i', 'sequence')) > 100, { timeoutMs: 20_000, what: 'first points stored' });
      await influx.pause();
      // A write in flight when influxd went away may fail otherwise (e.g. a 5xx while it shuts
      // down); the attempts after it find nothing listening.
      const down = await waitForRecord(
        (s) => /unreachable/.test(String(s.data['last_error'])) && (s.data['retry_attempt'] as number) >= 1,
        'write failures while influxd is down',
      );
      expect(down.status).toBe('running');
      // next_retry_time is null while a retry is on the wire (between its timer and its failure):
      // wait for a refresh that falls in a backoff, as most do.
      const pendingWhileDown = (
        await waitForRecord(
          (s) => (s.data['pending_points'] as number) > (down.data['pending_points'] as number) && s.data['next_retry_time'] !== null,
          'points pending and a retry scheduled while influxd is down',
        )
      ).data;
      expect(pendingWhileDown['next_retry_time']).toBeGreaterThan(pendingWhileDown['last_error_time'] as number);
      await influx.start();
      await waitForRecord((s) => s.data['retry_attempt'] === 0 && (s.data['written_points'] as number) > (pendingWhileDown['written_points'] as number), 'writes resumed');
    } finally {
      isRunning = false;
      await producer;
    }
    await waitFor(async () => (await pointCount(m, 'i', 'sequence')) === sent, { timeoutMs: 30_000, what: `all ${sent} points stored` });
    expect(await rows(`SELECT count(i), min(i), max(i), sum(i) FROM "${m}" WHERE "feed" = 'sequence'`)).toEqual([[0, sent, 1, sent, (sent * (sent + 1)) / 2]]);
    const after = await waitForRecord((s) => s.data['pending_points'] === 0, 'nothing pending');
    expect(after.data).toMatchObject({ dropped_points: 0, rejected_points: 0, retry_attempt: 0, next_retry_time: null });
    expect(after.data['written_points']).toBeGreaterThanOrEqual(sent);
    expect(after.data['last_error']).toMatch(/unreachable/);
  });

  it('with --initial-state idle, writes nothing until record is started', async () => {
    const idle = spawnOcs(['agent', '--site-file', site.file, '--instance-id', 'idle-publisher']);
    await idle.waitForLog('joined and registered', 30_000);
    expect(await recordStatus('idle-publisher')).toEqual({});
    const marker = source.registerFeed('idle_marker', { record: true });
    const t0 = Date.now() / 1000;
    marker.publishMessage({ block_name: 'b', timestamp: t0, data: { n: 1n } });
    // Started by the same session after that publish: only the second marker may be written.
    const [code] = await source.call<[number]>(`${site.addressRoot}.idle-publisher.ops`, ['start', 'record']);
    expect(code).toBe(0);
    await waitForRecord((s) => s.status === 'running', 'idle publisher recording', 20_000, 'idle-publisher');
    marker.publishMessage({ block_name: 'b', timestamp: t0 + 1, data: { n: 2n } });
    const query = async () => (await influx.query(`SELECT n FROM "${measurement('source')}"`, 'idle_db'))[0]?.series?.[0]?.values ?? [];
    await waitFor(async () => (await query()).length > 0, { what: 'second marker in idle_db' });
    expect((await query()).map((r) => r[1])).toEqual([2]);
    idle.kill('SIGTERM');
    expect(await idle.exited).toBe(0);
  });

  it('writes only while record runs; test_mode records once and ends', async () => {
    const feed = source.registerFeed('gated', { record: true });
    const m = measurement('source');
    const ops = `${site.addressRoot}.${PUBLISHER}.ops`;
    const stop = await callPublisher('record', 'stop');
    expect(stop['status']).toBe(0);
    const stopped = await waitForRecord((s) => s.status === 'done', 'record stopped');
    expect(stopped).toMatchObject({ success: true, op_code: 5 });
    const t0 = Date.now() / 1000;
    // Published while record is stopped; the start below goes out on the same session after it.
    feed.publishMessage({ block_name: 'b', timestamp: t0, data: { phase: 1n } });
    const [code] = await source.call<[number]>(ops, ['start', 'record'], { params: { test_mode: true } });
    expect(code).toBe(0);
    const ended = await waitForRecord((s) => s.status === 'done' && s.start_time !== stopped.start_time, 'test_mode run ended');
    expect(ended).toMatchObject({ success: true });
    expect(ended.messages.map((msg) => msg[1])).toContain('Aggregation has ended');
    const start = await callPublisher('record', 'start');
    expect(start['status']).toBe(0);
    await waitForRecord((s) => s.status === 'running', 'record running again');
    feed.publishMessage({ block_name: 'b', timestamp: t0 + 1, data: { phase: 2n } });
    await waitFor(async () => (await pointCount(m, 'phase', 'gated')) >= 1, { what: 'point published while recording' });
    expect((await rows(`SELECT phase FROM "${m}" WHERE "feed" = 'gated'`)).map((r) => r[1])).toEqual([2]);
  });
});
