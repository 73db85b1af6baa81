/**
 * The data path end to end, every part a real process: the router (`ocs router`), the registry
 * and the InfluxDB publisher (`ocs agent`), the HostManager `hm-localhost` (`ocs agent`) running
 * two FakeDataAgents as its children, and influxd. The system runs for about 15 s, influxd down
 * for 3 s in the middle; the HostManager then stops the FakeDataAgents. Every panel query of every
 * shipped Grafana dashboard (the supervisor dashboard reads the HostManager's `child_states` feed)
 * runs against influxd, as Grafana would send it, and must return data.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OcsClient } from '../../lib/client/ocs-client.js';
import { spawnOcs, type AgentProcess } from '../helpers/agent-process.js';
import { dashboardQueries, grafanaDatasource, nonNullValues, queryName, substituteMacros, type DashboardQuery } from '../helpers/grafana-dashboards.js';
import { startInfluxd, type RunningInfluxd } from '../helpers/influxd.js';
import { writeSiteFile, type TestSite } from '../helpers/site-file.js';
import { delay, waitFor } from '../helpers/wait.js';
import { spawnRouterProcess, type RouterProcess } from '../helpers/router-process.js';

const ADDRESS_ROOT = 'observatory';
const SAMPLE_RATE_HZ = 10;
const RUN_BEFORE_RESTART_MS = 7_000;
const INFLUXD_DOWN_MS = 3_000;
const RUN_AFTER_RESTART_MS = 6_000;
/** The HostManager the shipped dashboards read (`observatory.hm-localhost`). */
const HOST_MANAGER_ID = 'hm-localhost';
const HOST_MANAGER_MEASUREMENT = `${ADDRESS_ROOT}.${HOST_MANAGER_ID}`;
const FAKE_IDS = ['fake-data1', 'fake-data2'];
/** child_states codes (agents/host-manager/README.md). */
const STATE_CODE = { stopped: 1, running: 4 };

const datasource = grafanaDatasource();
const queries = dashboardQueries();

interface ServiceStatus {
  state: string;
  pgid: number | null;
  last_exit: { code: number | null; signal: string | null } | null;
}

let influx: RunningInfluxd | undefined;
let router: RouterProcess | undefined;
let site: TestSite;
/** The HostManager's --state-dir (state file, history, the children's logs). */
let stateDir: string | undefined;
let hostManager: AgentProcess | undefined;
let hm: OcsClient | undefined;
/** The process groups of the HostManager's children, as its status reported them. */
const childGroups = new Set<number>();
/** The registry and the publisher; stopped in afterAll (cleanups registered from beforeAll would not run). */
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

/** The HostManager's children as its `manager` session reports them. */
async function services(): Promise<Record<string, ServiceStatus>> {
  const reply = await hm!.op('manager').status();
  const data = 'data' in reply.session ? (reply.session.data as { services?: Record<string, ServiceStatus> }) : {};
  for (const s of Object.values(data.services ?? {})) if (s.pgid !== null && s.pgid > 0) childGroups.add(s.pgid);
  return data.services ?? {};
}

async function waitForChildren(state: string, what: string): Promise<Record<string, ServiceStatus>> {
  return await waitFor(
    async () => {
      const all = await services();
      return FAKE_IDS.every((id) => all[id]?.state === state) ? all : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200, what },
  );
}

/**
 * SIGINT to the HostManager and waits for its exit (it stops its children first); should it not
 * exit, SIGKILL to it and to its children's process groups. Expects exit 0 and no child left.
 */
async function stopHostManager(): Promise<void> {
  const p = hostManager;
  if (p === undefined) return;
  hostManager = undefined;
  await hm?.close();
  hm = undefined;
  if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGINT');
  const code = await Promise.race([p.exited, delay(40_000).then(() => 'timeout')]);
  if (code === 'timeout') p.kill('SIGKILL');
  await p.exited;
  const left = [...childGroups].filter(isGroupAlive);
  for (const pgid of left) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  expect(code, `HostManager exit; stderr: ${p.stderr().slice(-500)}`).toBe(0);
  expect(left).toEqual([]);
}

/** Whether any process of group `pgid` is still there. */
function isGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
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
          { 'agent-class': 'RegistryAgent', 'instance-id': 'registry', manage: 'ignore', arguments: ['--wait-time', '2'] },
          {
            'agent-class': 'InfluxDBAgent',
            'instance-id': 'influxdb-publisher',
            manage: 'ignore',
            arguments: ['--host', '127.0.0.1', '--port', String(influx.port), '--initial-state', 'record', '--backoff-cap', '1'],
          },
          ...FAKE_IDS.map((id) => ({
            'agent-class': 'FakeDataAgent',
            'instance-id': id,
            manage: 'host/up',
            arguments: ['--mode', 'acq', '--num-channels', '4', '--sample-rate', String(SAMPLE_RATE_HZ)],
          })),
          { 'agent-class': 'HostManager', 'instance-id': HOST_MANAGER_ID, manage: 'ignore' },
        ],
      },
    },
  });
  stateDir = mkdtempSync(join(tmpdir(), 'ocs-data-path-hm-'));
  startedAtMs = Date.now();
  const start = (id: string): AgentProcess => {
    const agent = spawnOcs(['agent', '--site-file', site.file, '--instance-id', id]);
    agents.push(agent);
    return agent;
  };
  const registry = start('registry');
  const publisher = start('influxdb-publisher');
  await Promise.all([registry.waitForLog('joined and registered', 30_000), publisher.waitForLog('joined and registered', 30_000)]);
  // The HostManager starts the FakeDataAgents (its host/up children) and publishes child_states.
  hostManager = spawnOcs(['agent', '--site-file', site.file, '--site-host', 'localhost', '--instance-id', HOST_MANAGER_ID, '--state-dir', stateDir]);
  await hostManager.waitForLog('joined and registered', 30_000);
  hm = await OcsClient.connect(HOST_MANAGER_ID, { siteFile: site.file });
  await waitForChildren('RUNNING', 'both FakeDataAgents RUNNING under the HostManager');

  await delay(RUN_BEFORE_RESTART_MS);
  restartedAtS = Date.now() / 1000;
  await influx.pause();
  await delay(INFLUXD_DOWN_MS);
  await influx.start();
  await delay(RUN_AFTER_RESTART_MS);

  // Stop the sources through the HostManager and see the stop recorded in child_states; stop the
  // HostManager (SIGINT), so nothing publishes any more; then wait until the publisher has written
  // everything it received.
  const stopReply = await hm.task('stop').call({ ids: FAKE_IDS }, { timeoutS: 30 });
  expect(stopReply.session, JSON.stringify(stopReply)).toMatchObject({ status: 'done', success: true });
  const stopped = await waitForChildren('STOPPED', 'both FakeDataAgents STOPPED');
  for (const id of FAKE_IDS) expect(stopped[id]?.last_exit, id).toMatchObject({ code: 0, signal: null });
  await waitFor(
    async () => {
      const fields = FAKE_IDS.map((id) => `last("${id.replaceAll('-', '_')}_state_code")`).join(', ');
      const row = (await query(`SELECT ${fields} FROM "${HOST_MANAGER_MEASUREMENT}" WHERE "feed" = 'child_states'`))?.series?.[0]?.values[0];
      return row !== undefined && row.slice(1).every((code) => code === STATE_CODE.stopped);
    },
    { timeoutMs: 30_000, intervalMs: 300, what: 'child_states recording both FakeDataAgents stopped' },
  );
  await stopHostManager();
  await waitFor(async () => {
    const data = await recordData();
    return data['pending_points'] === 0 && data['retry_attempt'] === 0;
  }, { timeoutMs: 30_000, intervalMs: 300, what: 'publisher drained' });
  endedAtMs = Date.now();
}, 120_000);

afterAll(async () => {
  // Normally stopped in beforeAll already; here when beforeAll failed before that.
  await stopHostManager();
  for (const agent of agents) if (agent.child.exitCode === null && agent.child.signalCode === null) agent.kill('SIGTERM');
  await Promise.all(agents.map((a) => a.exited));
  await router?.stop();
  await influx?.stop();
  if (site) rmSync(site.dir, { recursive: true, force: true });
  if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
}, 90_000);

function run(q: DashboardQuery): Promise<Awaited<ReturnType<typeof query>>> {
  const text = substituteMacros(q.target.query!, startedAtMs - 60_000, endedAtMs + 60_000, 1);
  expect(text).not.toMatch(/\$(\w|\{)/);
  return query(text);
}

describe('data path: agents → router → InfluxDBAgent → influxd → Grafana queries', () => {
  it.each(queries.map((q) => [queryName(q), q] as const))('%s returns data', async (_name, q) => {
    expect(nonNullValues(await run(q)).length).toBeGreaterThan(0);
  });

  it('writes the HostManager child_states feed as integers: each FakeDataAgent ran, was stopped, never restarted', async () => {
    const fields = (await query(`SHOW FIELD KEYS FROM "${HOST_MANAGER_MEASUREMENT}"`))!.series![0]!.values.map(([k, t]) => `${k}:${t}`);
    expect(fields).toEqual(['fake_data1_restarts:integer', 'fake_data1_state_code:integer', 'fake_data2_restarts:integer', 'fake_data2_state_code:integer']);
    for (const p of ['fake_data1', 'fake_data2']) {
      const from = `FROM "${HOST_MANAGER_MEASUREMENT}" WHERE "feed" = 'child_states'`;
      const codes = (await query(`SELECT "${p}_state_code" ${from}`))!.series![0]!.values.map((r) => r[1]);
      expect(codes, p).toContain(STATE_CODE.running);
      expect(codes.at(-1), p).toBe(STATE_CODE.stopped);
      const restarts = (await query(`SELECT max("${p}_restarts") ${from}`))!.series![0]!.values[0]![1];
      expect(restarts, p).toBe(0);
    }
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
    // beforeAll awaited nothing pending; the registry's republishes (every 2 s) keep the queue moving after.
    const data = await recordData();
    expect(data).toMatchObject({ dropped_points: 0, rejected_points: 0, invalid_values: 0, invalid_messages: 0 });
    // The publisher did see influxd go away.
    expect(data['last_error']).toMatch(/unreachable/);
    expect(data['last_error_time']).toBeGreaterThan(restartedAtS - 1);
  });
});
