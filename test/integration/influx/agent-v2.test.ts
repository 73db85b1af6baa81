/**
 * `ocs agent` with agent class InfluxDBAgentv2: its target comes from INFLUXDB_V2_* (as OCS's
 * `InfluxDBClient.from_env_properties()`), it writes through the InfluxDB 2.x API, and it
 * applies InfluxDBAgent's record / exclude_influx rules. The server is the test influxd behind
 * InfluxDB 1.8's 2.x write API (v2-write-shim.ts: bucket `database/retention-policy`, token).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime } from '../../../lib/agent/agent-runtime.js';
import { EXIT_CONFIG } from '../../../lib/errors.js';
import type { EncodedSession } from '../../../lib/ops/op-session.js';
import { spawnOcs, type AgentProcess } from '../../helpers/agent-process.js';
import { startInfluxd, type RunningInfluxd } from '../../helpers/influxd.js';
import { startTestRouter, type TestRouter } from '../../helpers/router.js';
import type { TestSite } from '../../helpers/site-file.js';
import { waitFor } from '../../helpers/wait.js';
import { influxFieldTypes, influxPointCount, influxRows, runFakeDataUntil, startPublisherAndSource, stopPublisherAndSource, waitForSession, writeLocalhostSite } from './publisher-fixture.js';
import { startV2WriteShim, type V2WriteShim } from './v2-write-shim.js';

const DB = 'ocs_v2';
const ARGS_DB = 'ocs_v2_args';
const TOKEN = 'ocs:s3cret-token';
const PUBLISHER = 'influxdb-v2';
const REQUIRED_VARS = ['INFLUXDB_V2_URL', 'INFLUXDB_V2_TOKEN', 'INFLUXDB_V2_ORG', 'INFLUXDB_V2_BUCKET'];

let influx: RunningInfluxd;
let shim: V2WriteShim;
let router: TestRouter;
let site: TestSite;
let publisher: AgentProcess;
let source: AgentRuntime;
let v2Env: Record<string, string>;

beforeAll(async () => {
  influx = await startInfluxd();
  shim = await startV2WriteShim(influx.url, { token: TOKEN });
  router = await startTestRouter();
  // InfluxDB 1.8 maps a bucket to a database that must exist.
  await influx.query(`CREATE DATABASE "${DB}"`);
  await influx.query(`CREATE DATABASE "${ARGS_DB}"`);
  v2Env = {
    INFLUXDB_V2_URL: shim.url,
    INFLUXDB_V2_TOKEN: TOKEN,
    INFLUXDB_V2_ORG: 'ocs',
    INFLUXDB_V2_BUCKET: `${DB}/autogen`,
    INFLUXDB_V2_TIMEOUT: '5000',
    INFLUXDB_V2_VERIFY_SSL: 'True',
  };
  site = writeLocalhostSite(router, [
    { 'agent-class': 'InfluxDBAgentv2', 'instance-id': PUBLISHER, arguments: ['--initial-state', 'record', '--flush-interval', '0.2', '--backoff-cap', '0.5'] },
    { 'agent-class': 'InfluxDBAgentv2', 'instance-id': 'influxdb-v2-args', arguments: ['--bucket', ARGS_DB, '--token', TOKEN, '--flush-interval', '0.2'] },
    { 'agent-class': 'InfluxDBAgentv2', 'instance-id': 'influxdb-v2-host', arguments: ['--host', '127.0.0.1'] },
    { 'agent-class': 'FakeDataAgent', 'instance-id': 'fake-data1', arguments: ['--mode', 'acq', '--num-channels', '2', '--sample-rate', '5'] },
  ]);
  ({ publisher, source } = await startPublisherAndSource(site, router, PUBLISHER, v2Env));
  await waitForRecord((s) => s.status === 'running');
}, 90_000);

afterAll(async () => {
  await stopPublisherAndSource({ publisher, source });
  await shim?.close();
  await influx?.stop();
});

const measurement = (instanceId: string): string => `${site.addressRoot}.${instanceId}`;

const rows = (q: string): Promise<unknown[][]> => influxRows(influx, q, DB);
const pointCount = (m: string, field: string, feed: string, db = DB): Promise<number> => influxPointCount(influx, db, m, field, feed);

async function recordStatus(): Promise<EncodedSession> {
  const [, , session] = await source.call<[number, string, EncodedSession]>(`${site.addressRoot}.${PUBLISHER}.ops`, ['status', 'record']);
  return session;
}

const waitForRecord = (check: (s: EncodedSession) => boolean, what = 'record session'): Promise<EncodedSession> => waitForSession(recordStatus, check, what);

/** The publisher's environment with the named variables blank (a blank variable counts as unset). */
function envWithout(...unset: string[]): Record<string, string> {
  return { ...v2Env, ...Object.fromEntries(unset.map((name) => [name, ''])) };
}

describe('InfluxDBAgentv2 with a real influxd behind the 2.x write API', () => {
  it('writes FakeDataAgent temperatures to the bucket from INFLUXDB_V2_*, with the token, as floats tagged by feed', async () => {
    const m = measurement('fake-data1');
    await runFakeDataUntil(site, 'fake-data1', () => pointCount(m, 'channel_01', 'false_temperatures'));
    expect(await influxFieldTypes(influx, DB, m)).toEqual({ channel_00: 'float', channel_01: 'float' });
    expect(await rows(`SHOW TAG VALUES FROM "${m}" WITH KEY = "feed"`)).toEqual([['feed', 'false_temperatures']]);
    expect(shim.requests.length).toBeGreaterThan(0);
    for (const request of shim.requests) {
      expect(request).toEqual({ method: 'POST', path: '/api/v2/write', org: 'ocs', bucket: `${DB}/autogen`, precision: 'ns', authorization: `Token ${TOKEN}`, contentEncoding: null });
    }
    expect(publisher.records.find((r) => r['msg'] === 'influx publisher configured')).toMatchObject({
      agent_class: 'InfluxDBAgentv2',
      url: shim.url,
      org: 'ocs',
      bucket: `${DB}/autogen`,
      initial_state: 'record',
    });
    expect(JSON.stringify(publisher.records)).not.toContain(TOKEN);
  });

  it('writes recorded feeds only, and skips exclude_influx ones', async () => {
    const excluded = source.registerFeed('excluded', { record: true, aggParams: { exclude_influx: true } });
    const unrecorded = source.registerFeed('unrecorded', { record: false });
    const marker = source.registerFeed('marker', { record: true });
    const before = (await recordStatus()).data['excluded_messages'] as number;
    const t0 = Math.floor(Date.now() / 1000);
    excluded.publishMessage({ block_name: 'b', timestamp: t0, data: { v: 1 } });
    unrecorded.publishMessage({ block_name: 'b', timestamp: t0, data: { v: 2 } });
    marker.publishMessage({ block_name: 'b', timestamp: t0, data: { v: 3 } });
    const m = measurement('source');
    // Events of one publisher arrive in order: once the marker is stored, the others were handled.
    await waitFor(async () => (await pointCount(m, 'v', 'marker')) === 1, { what: 'marker point' });
    expect(await rows(`SELECT feed, v FROM "${m}"`)).toEqual([[t0 * 1e9, 'marker', 3]]);
    const session = await waitForRecord((s) => (s.data['excluded_messages'] as number) > before, 'excluded message counted');
    expect(session.data).toMatchObject({ excluded_messages: before + 1, rejected_points: 0, dropped_points: 0 });
  });

  it('lets --bucket and --token stand in for unset INFLUXDB_V2_BUCKET and INFLUXDB_V2_TOKEN', async () => {
    const p = spawnOcs(['agent', '--site-file', site.file, '--instance-id', 'influxdb-v2-args'], envWithout('INFLUXDB_V2_BUCKET', 'INFLUXDB_V2_TOKEN'));
    await p.waitForLog('joined and registered', 30_000);
    expect(p.records.find((r) => r['msg'] === 'influx publisher configured')).toMatchObject({ url: shim.url, org: 'ocs', bucket: ARGS_DB });
    const feed = source.registerFeed('args_marker', { record: true });
    const m = measurement('source');
    // It records from startup; publish until its subscription is in place and a point lands.
    await waitFor(
      async () => {
        feed.publishMessage({ block_name: 'b', timestamp: Date.now() / 1000, data: { n: 1n } });
        return (await pointCount(m, 'n', 'args_marker', ARGS_DB)) > 0;
      },
      { timeoutMs: 20_000, intervalMs: 300, what: `point in ${ARGS_DB}` },
    );
    expect(shim.requests.some((r) => r.bucket === ARGS_DB && r.authorization === `Token ${TOKEN}`)).toBe(true);
    p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('exits 78 naming every missing INFLUXDB_V2_* variable', async () => {
    const none = spawnOcs(['agent', '--site-file', site.file, '--instance-id', PUBLISHER], envWithout(...REQUIRED_VARS));
    expect(await none.exited).toBe(EXIT_CONFIG);
    expect(none.stderr()).toContain(`InfluxDBAgentv2: environment variables ${REQUIRED_VARS.join(', ')} not set`);
    const noOrg = spawnOcs(['agent', '--site-file', site.file, '--instance-id', PUBLISHER], envWithout('INFLUXDB_V2_ORG'));
    expect(await noOrg.exited).toBe(EXIT_CONFIG);
    expect(noOrg.stderr()).toMatch(/InfluxDBAgentv2: environment variable INFLUXDB_V2_ORG not set \(/);
  });

  it("exits 78 on InfluxDBAgent's --host, which OCS's v2 agent does not take", async () => {
    const p = spawnOcs(['agent', '--site-file', site.file, '--instance-id', 'influxdb-v2-host'], v2Env);
    expect(await p.exited).toBe(EXIT_CONFIG);
    expect(p.stderr()).toMatch(/InfluxDBAgentv2: invalid arguments: .*host/);
  });
});
