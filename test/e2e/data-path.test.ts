/**
 * The data path end to end, every part a real process: the router (`ocs router`), the registry,
 * two FakeDataAgents and the InfluxDB publisher (`ocs agent`), and influxd. The system runs for
 * about 15 s, influxd down for 3 s in the middle; then every panel query of every shipped
 * Grafana dashboard runs against influxd, as Grafana would send it, and must return data.
 *
 * The supervisor dashboard reads the HostManager's `child_states` feed; no HostManager runs here,
 * so those queries are listed in HOST_MANAGER_QUERIES and checked to be exactly the ones that read
 * that feed.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnOcs, type AgentProcess } from '../helpers/agent-process.js';
import { dashboardQueries, grafanaDatasource, nonNullValues, queryName, substituteMacros, type DashboardQuery } from '../helpers/grafana-dashboards.js';
import { startInfluxd, type RunningInfluxd } from '../helpers/influxd.js';
import { writeSiteFile, type TestSite } from '../helpers/site-file.js';
import { delay, waitFor } from '../helpers/wait.js';
import { spawnRouterProcess, type RouterProcess } from '../bench/lib/router-process.js';

const ADDRESS_ROOT = 'observatory';
const SAMPLE_RATE_HZ = 10;
const RUN_BEFORE_RESTART_MS = 7_000;
const INFLUXD_DOWN_MS = 3_000;
const RUN_AFTER_RESTART_MS = 6_000;
const HOST_MANAGER_MEASUREMENT = `${ADDRESS_ROOT}.hm-localhost`;

/** Panels fed by the HostManager's `child_states` feed, which this system does not run yet. */
const HOST_MANAGER_QUERIES = ['supervisor.json: Child states (A)', 'supervisor.json: Restarts (A)', 'supervisor.json: Restarts in range (A)'];

const datasource = grafanaDatasource();
const queries = dashboardQueries();
const fedQueries = queries.filter((q) => !HOST_MANAGER_QUERIES.includes(queryName(q)));

let influx: RunningInfluxd | undefined;
let router: RouterProcess | undefined;
let site: TestSite;
/** Every agent process; stopped in afterAll (cleanups registered from beforeAll would not run). */
const agents: AgentProcess[] = [];
let startedAtMs: number;
let restartedAtS: number;
let endedAtMs: number;

async function query(q: string) {
  const [result] = await influx!.query(q, datasource.jsonData.dbName);
  return result;
}

async function recordData(): Promise<Record<string, unknown>> {
  const client = spawnOcs(['client', 'status', 'influxdb-publisher', 'record', '--json', '--site-file', site.file]);
  const code = await client.exited;
  if (code !== 0) throw new Error(`ocs client status exited ${code}: ${client.stderr()}`);
  const reply = client.records.find((r) => r['op_name'] === 'record');
  return (reply?.['session'] as { data: Record<string, unknown> } | undefined)?.data ?? {};
}

async function stopAgent(agent: AgentProcess): Promise<void> {
  agent.kill('SIGTERM');
  expect(await agent.exited).toBe(0);
}

beforeAll(async () => {
  influx = await startInfluxd();
  router = await spawnRouterProcess();
  const url = new URL(router.url);
  site = writeSiteFile({
    url: router.url,
    httpUrl: `http://${url.host}/call`,
    addressRoot: ADDRESS_ROOT,
    hosts: {
      localhost: {
        'agent-instances': [
          { 'agent-class': 'RegistryAgent', 'instance-id': 'registry', arguments: ['--wait-time', '2'] },
          {
            'agent-class': 'InfluxDBAgent',
            'instance-id': 'influxdb-publisher',
            arguments: ['--host', '127.0.0.1', '--port', String(influx.port), '--initial-state', 'record', '--backoff-cap', '1'],
          },
          ...['fake-data1', 'fake-data2'].map((id) => ({
            'agent-class': 'FakeDataAgent',
            'instance-id': id,
            arguments: ['--mode', 'acq', '--num-channels', '4', '--sample-rate', String(SAMPLE_RATE_HZ)],
          })),
        ],
      },
    },
  });
  startedAtMs = Date.now();
  const start = (id: string): AgentProcess => {
    const agent = spawnOcs(['agent', '--site-file', site.file, '--instance-id', id]);
    agents.push(agent);
    return agent;
  };
  const registry = start('registry');
  const publisher = start('influxdb-publisher');
  await Promise.all([registry.waitForLog('joined and registered', 30_000), publisher.waitForLog('joined and registered', 30_000)]);
  const fakes = [start('fake-data1'), start('fake-data2')];
  await Promise.all(fakes.map((f) => f.waitForLog('starting acquisition', 30_000)));

  await delay(RUN_BEFORE_RESTART_MS);
  restartedAtS = Date.now() / 1000;
  await influx.pause();
  await delay(INFLUXD_DOWN_MS);
  await influx.start();
  await delay(RUN_AFTER_RESTART_MS);

  // Stop the sources, then wait until the publisher has written everything it received.
  await Promise.all(fakes.map(stopAgent));
  await waitFor(async () => {
    const data = await recordData();
    return data['pending_points'] === 0 && data['retry_attempt'] === 0;
  }, { timeoutMs: 30_000, intervalMs: 300, what: 'publisher drained' });
  endedAtMs = Date.now();
}, 120_000);

afterAll(async () => {
  for (const agent of agents) if (agent.child.exitCode === null && agent.child.signalCode === null) agent.kill('SIGTERM');
  await Promise.all(agents.map((a) => a.exited));
  await router?.stop();
  await influx?.stop();
  if (site) rmSync(site.dir, { recursive: true, force: true });
}, 60_000);

function run(q: DashboardQuery): Promise<Awaited<ReturnType<typeof query>>> {
  const text = substituteMacros(q.target.query!, startedAtMs - 60_000, endedAtMs + 60_000, 1);
  expect(text).not.toMatch(/\$(\w|\{)/);
  return query(text);
}

describe('data path: agents → router → InfluxDBAgent → influxd → Grafana queries', () => {
  it.each(fedQueries.map((q) => [queryName(q), q] as const))('%s returns data', async (_name, q) => {
    expect(nonNullValues(await run(q)).length).toBeGreaterThan(0);
  });

  it('leaves out only the panels fed by the HostManager child_states feed, which is not running', async () => {
    const readsChildStates = queries.filter((q) => q.target.query!.includes(`"${HOST_MANAGER_MEASUREMENT}"`) && q.target.query!.includes("'child_states'"));
    expect(readsChildStates.map(queryName).sort()).toEqual([...HOST_MANAGER_QUERIES].sort());
    expect(fedQueries.length + HOST_MANAGER_QUERIES.length).toBe(queries.length);
    const measurements = (await query('SHOW MEASUREMENTS'))?.series?.[0]?.values.map((r) => r[0]);
    expect(measurements).not.toContain(HOST_MANAGER_MEASUREMENT);
  });

  it('writes the registry op codes of every agent as integers, fake data as floats', async () => {
    const registryFields = Object.fromEntries((await query(`SHOW FIELD KEYS FROM "${ADDRESS_ROOT}.registry"`))!.series![0]!.values.map(([k, t]) => [k, t]));
    expect(registryFields).toMatchObject({
      observatory_fake_data1_acq: 'integer',
      observatory_fake_data2_acq: 'integer',
      observatory_influxdb_publisher_record: 'integer',
    });
    const last = await query(`SELECT last("observatory_influxdb_publisher_record") FROM "${ADDRESS_ROOT}.registry" WHERE "feed" = 'agent_operations'`);
    expect(last!.series![0]!.values[0]![1]).toBe(3);
    for (const id of ['fake-data1', 'fake-data2']) {
      const fields = (await query(`SHOW FIELD KEYS FROM "${ADDRESS_ROOT}.${id}"`))!.series![0]!.values.map(([k, t]) => `${k}:${t}`);
      expect(fields).toEqual(['channel_00:float', 'channel_01:float', 'channel_02:float', 'channel_03:float']);
    }
  });

  it('loses no fake-data sample across the influxd restart', async () => {
    for (const id of ['fake-data1', 'fake-data2']) {
      const from = `FROM "${ADDRESS_ROOT}.${id}" WHERE "feed" = 'false_temperatures'`;
      const count = Number((await query(`SELECT count("channel_00") ${from}`))!.series![0]!.values[0]![1]);
      const [firstRow] = (await query(`SELECT first("channel_00") ${from}`))!.series![0]!.values;
      const [lastRow] = (await query(`SELECT last("channel_00") ${from}`))!.series![0]!.values;
      const firstS = Number(firstRow![0]) / 1e9;
      const lastS = Number(lastRow![0]) / 1e9;
      expect(firstS, id).toBeLessThan(restartedAtS);
      expect(lastS, id).toBeGreaterThan(restartedAtS);
      // FakeData publishes one sample every 1/rate s without gaps: the stored span must be whole.
      expect(count, id).toBe(Math.round((lastS - firstS) * SAMPLE_RATE_HZ) + 1);
    }
    const data = await recordData();
    expect(data).toMatchObject({ dropped_points: 0, rejected_points: 0, invalid_values: 0, invalid_messages: 0, pending_points: 0 });
    // The publisher did see influxd go away.
    expect(data['last_error']).toMatch(/unreachable/);
    expect(data['last_error_time']).toBeGreaterThan(restartedAtS - 1);
  });
});
