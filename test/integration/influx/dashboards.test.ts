/**
 * Every query of every provisioned Grafana dashboard, run against a real influxd holding the
 * feeds the dashboards are drawn from, written through the publisher's writer in OCS's layout:
 * the registry's `agent_operations`, fake-data1's `false_temperatures` and the host manager's
 * `child_states`. Grafana's macros are replaced as Grafana does (`$timeFilter` →
 * `time >= Xms and time <= Yms`, `$__interval` → a duration).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { InfluxHttp } from '../../../lib/influx/influx-http.js';
import { InfluxWriter } from '../../../lib/influx/influx-writer.js';
import { InfluxFeedRecorder } from '../../../lib/influx/influx-feed-recorder.js';
import { WampFloat } from '../../../lib/wamp/float.js';
import { startInfluxd, type RunningInfluxd } from '../../helpers/influxd.js';
import {
  GRAFANA_DIR,
  allPanels,
  dashboardQueries,
  grafanaDashboards,
  grafanaDatasource,
  nonNullValues,
  queryName,
  substituteMacros,
} from '../../helpers/grafana-dashboards.js';

const datasource = grafanaDatasource();
const dashboards = grafanaDashboards();
const queries = dashboardQueries();

let influx: RunningInfluxd;
const nowS = Date.now() / 1000;

const feedOf = (agentAddress: string, feedName: string, agentClass: string) => ({
  agent_address: agentAddress,
  agg_params: { frame_length: 60 },
  feed_name: feedName,
  address: `${agentAddress}.feeds.${feedName}`,
  record: true,
  session_id: String(nowS),
  agent_class: agentClass,
});

/** One single-sample block per field, as the registry and the host manager publish. */
function singleSampleBlocks(t: number, values: Record<string, number>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(values).map(([field, v]) => [field, { block_name: field, data: { [field]: [v] }, timestamps: [new WampFloat(t)] }]),
  );
}

beforeAll(async () => {
  influx = await startInfluxd();
  const http = new InfluxHttp({ target: { version: 1, url: influx.url, database: datasource.jsonData.dbName } });
  await http.createDatabase();
  const writer = new InfluxWriter({ sink: http, flushIntervalMs: 50 });
  const recorder = new InfluxFeedRecorder({ writer });

  const registry = feedOf('observatory.registry', 'agent_operations', 'RegistryAgent');
  const hm = feedOf('observatory.hm-localhost', 'child_states', 'HostManager');
  for (let i = 0; i < 60; i++) {
    const t = nowS - 60 + i;
    const isExpired = i >= 50;
    // Op codes are integers on the wire (OCS OpCode values).
    recorder.handleFeedEvent([
      [
        singleSampleBlocks(t, {
          observatory_fake_data1_acq: isExpired ? 7 : 3,
          observatory_fake_data1_count: isExpired ? 7 : 3,
          observatory_fake_data1_delay_task: i < 10 ? 1 : 5,
          observatory_influxdb_publisher_record: 3,
        }),
        registry,
      ],
    ]);
    recorder.handleFeedEvent([
      [
        singleSampleBlocks(t, {
          fake_data1_state_code: i % 20 < 2 ? 8 : 4,
          fake_data1_restarts: Math.floor(i / 20),
          registry_state_code: 4,
          registry_restarts: 0,
          influxdb_publisher_state_code: 4,
          influxdb_publisher_restarts: 0,
        }),
        hm,
      ],
    ]);
  }

  const channels = Array.from({ length: 16 }, (_, c) => `channel_${String(c).padStart(2, '0')}`);
  for (let s = 0; s < 60; s++) {
    const timestamps = Array.from({ length: 10 }, (_, k) => new WampFloat(nowS - 60 + s + k / 10));
    const data = Object.fromEntries(channels.map((ch, c) => [ch, timestamps.map((t) => new WampFloat(0.1 * c + Math.sin(t.value) * 0.01))]));
    recorder.handleFeedEvent([[{ temps: { block_name: 'temps', data, timestamps } }, feedOf('observatory.fake-data1', 'false_temperatures', 'FakeDataAgent')]]);
  }
  expect(await writer.flush(10_000)).toBe(true);
  expect(writer.stats()).toMatchObject({ rejectedPoints: 0, droppedPoints: 0 });
  await writer.close();
});

afterAll(async () => {
  await influx?.stop();
});

describe('Grafana provisioning', () => {
  it('provisions the InfluxDB data source the compose file runs', () => {
    expect(datasource).toMatchObject({ uid: 'ocs-influxdb', type: 'influxdb', url: 'http://influxdb:8086', jsonData: { dbName: 'ocs_feeds' } });
    const provider = parseYaml(readFileSync(join(GRAFANA_DIR, 'provisioning/dashboards/ocs.yaml'), 'utf8')) as {
      providers: Array<{ type: string; options: { path: string } }>;
    };
    expect(provider.providers[0]).toMatchObject({ type: 'file', options: { path: '/var/lib/grafana/dashboards' } });
  });

  it('ships the agent operations, fake data, supervisor and system health dashboards with unique uids', () => {
    expect(dashboards.map((d) => d.dashboard.uid).sort()).toEqual(['ocs-agent-operations', 'ocs-fake-data', 'ocs-supervisor', 'ocs-system-health']);
    for (const { dashboard } of dashboards) {
      const ids = allPanels(dashboard.panels).map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('gives every panel raw InfluxQL targets on the provisioned data source', () => {
    expect(queries.length).toBeGreaterThanOrEqual(10);
    for (const { panel, target } of queries) {
      expect(panel.datasource?.uid, panel.title).toBe(datasource.uid);
      expect(target.datasource?.uid, panel.title).toBe(datasource.uid);
      expect(target.rawQuery, panel.title).toBe(true);
      expect(target.query, panel.title).toMatch(/^SELECT .* AND \$timeFilter/);
    }
  });
});

describe('dashboard queries against influxd', () => {
  it.each(queries.map((q) => [queryName(q), q] as const))('%s returns data', async (_name, { target }) => {
    const query = substituteMacros(target.query!, Math.floor((nowS - 3600) * 1000), Math.ceil((nowS + 60) * 1000), 5);
    expect(query).not.toMatch(/\$(\w|\{)/);
    const [result] = await influx.query(query, datasource.jsonData.dbName);
    expect(nonNullValues(result).length).toBeGreaterThan(0);
  });

  it('shows each agent op as a column of the op-code timeline, with expiry as 7', async () => {
    const timeline = queries.find((q) => q.panel.type === 'state-timeline' && q.file === 'agent-operations.json')!;
    const [result] = await influx.query(substituteMacros(timeline.target.query!, Math.floor((nowS - 3600) * 1000), Math.ceil((nowS + 60) * 1000), 1), 'ocs_feeds');
    const series = result!.series![0]!;
    expect(series.columns).toEqual(
      expect.arrayContaining(['last_observatory_fake_data1_acq', 'last_observatory_fake_data1_count', 'last_observatory_influxdb_publisher_record']),
    );
    const acq = series.columns.indexOf('last_observatory_fake_data1_acq');
    const lastRow = series.values.filter((r) => r[acq] !== null).at(-1)!;
    expect(lastRow[acq]).toBe(7);
  });

  it('shows each supervised child in the child-state timeline and counts its restarts', async () => {
    const range = (q: string, intervalS: number) => substituteMacros(q, Math.floor((nowS - 3600) * 1000), Math.ceil((nowS + 60) * 1000), intervalS);
    const states = queries.find((q) => q.file === 'supervisor.json' && q.panel.type === 'state-timeline')!;
    const [stateResult] = await influx.query(range(states.target.query!, 1), 'ocs_feeds');
    expect(stateResult!.series![0]!.columns).toEqual(['time', 'last_fake_data1_state_code', 'last_influxdb_publisher_state_code', 'last_registry_state_code']);
    const spread = queries.find((q) => q.file === 'supervisor.json' && q.target.query!.includes('spread('))!;
    const [spreadResult] = await influx.query(range(spread.target.query!, 1), 'ocs_feeds');
    expect(spreadResult!.series![0]!.columns.slice(1)).toEqual(['spread_fake_data1_restarts', 'spread_influxdb_publisher_restarts', 'spread_registry_restarts']);
    expect(spreadResult!.series![0]!.values[0]!.slice(1)).toEqual([2, 0, 0]);
  });
});
