/**
 * Prometheus metrics from the embedded router, the Registry and the HostManager, read over HTTP
 * as Prometheus reads them, checked with Debian's promtool.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OcsClient } from '../../../lib/client/ocs-client.js';
import { startRouter } from '../../../lib/router/index.js';
import { WampConnection } from '../../../lib/wamp/connection.js';
import { dashboardQueries, promqlMetricNames, queryName } from '../../helpers/grafana-dashboards.js';
import { promtoolCheck, scrape } from '../../helpers/metrics.js';
import { spawnOcs } from '../../helpers/agent-process.js';
import { registerCleanup } from '../../helpers/router.js';
import { startUp } from '../../helpers/up-process.js';
import { waitFor } from '../../helpers/wait.js';
import { RawSession } from '../router/raw-session.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('router /metrics', () => {
  it('counts calls, events, sessions and auth failures as traffic flows, in a format promtool accepts', async () => {
    const router = await startRouter({
      host: '127.0.0.1',
      port: 0,
      config: { auth: { anonymous: { role: 'anonymous' }, ticket: { principals: { joe: { ticket: 'right', role: 'anonymous' } } } } },
    });
    registerCleanup(() => router.close());
    const url = `http://127.0.0.1:${router.port}/metrics`;
    const conn = new WampConnection({ url: router.url, realm: 'test_realm' });
    registerCleanup(() => conn.close());
    const session = await conn.open();
    await session.register('svc.echo', (args) => args?.[0]);
    let seen = 0;
    await session.subscribe('svc.news', () => seen++);
    const before = await scrape(url);
    for (let i = 0; i < 25; i++) await session.call('svc.echo', [i]);
    for (let i = 0; i < 7; i++) await session.publish('svc.news', [i], {}, { acknowledge: true, exclude_me: false });
    await waitFor(() => seen === 7);
    const bad = new WampConnection({ url: router.url, realm: 'test_realm', auth: { authid: 'joe', method: 'ticket', secret: 'wrong' } });
    await expect(bad.open()).rejects.toBeDefined();
    const after = await scrape(url);

    const delta = (sample: string) => after.value(sample) - before.value(sample);
    expect(delta('ocs_router_messages_total{type="call",direction="in"}')).toBe(25);
    expect(delta('ocs_router_messages_total{type="invocation",direction="out"}')).toBe(25);
    expect(delta('ocs_router_messages_total{type="result",direction="out"}')).toBe(25);
    expect(delta('ocs_router_call_duration_seconds_count')).toBe(25);
    expect(delta('ocs_router_events_published_total')).toBe(7);
    expect(delta('ocs_router_events_delivered_total')).toBe(7);
    expect(delta('ocs_router_auth_failures_total')).toBe(1);
    expect(delta('ocs_router_bytes_total{direction="in"}')).toBeGreaterThan(0);
    expect(after.value('ocs_router_sessions{realm="test_realm"}')).toBe(1);
    expect(after.value('ocs_router_registrations{realm="test_realm"}')).toBe(1);
    expect(after.value('ocs_router_subscriptions{realm="test_realm"}')).toBe(1);
    expect(after.value('ocs_router_calls_in_flight')).toBe(0);
    expect(after.text).toContain('# HELP ocs_router_messages_total ');
    expect(after.text).toContain('# TYPE ocs_router_call_duration_seconds histogram');
    const lint = await promtoolCheck(after.text);
    expect(lint).toEqual({ code: 0, output: '' });
  });

  it('escapes label values (a realm name with a quote and a backslash)', async () => {
    const realm = 'lab"1\\x';
    const router = await startRouter({ host: '127.0.0.1', port: 0, config: { realms: [{ name: realm, roles: [{ name: 'anonymous', permissions: [{ uri: '', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } }] }] }] } });
    registerCleanup(() => router.close());
    await RawSession.join(router.url, realm);
    const m = await scrape(`http://127.0.0.1:${router.port}/metrics`);
    expect(m.text).toContain('ocs_router_sessions{realm="lab\\"1\\\\x"} 1');
    expect((await promtoolCheck(m.text)).code).toBe(0);
  });
});

describe('metrics of the system under ocs up', () => {
  it('serves router, Registry and HostManager metrics, and they move with the system', async () => {
    const up = await startUp();
    cleanups.push(() => up.cleanup());
    for (const line of ['up: registry (RegistryAgent)', 'up: fake-data1 (FakeDataAgent)', 'up: fake-data2 (FakeDataAgent)']) await up.waitForLine(line);
    const registryUrl = `http://127.0.0.1:${up.metricsPorts['registry']}/metrics`;
    const hmUrl = `http://127.0.0.1:${up.metricsPorts['hm-localhost']}/metrics`;
    const routerUrl = `http://127.0.0.1:${up.port}/metrics`;

    const reg = await waitFor(async () => {
      const m = await scrape(registryUrl);
      return m.value('ocs_registry_agents{status="live"}') >= 3 ? m : undefined;
    }, { timeoutMs: 30_000, what: 'the live agents in the registry metrics' });
    expect(reg.value('ocs_registry_heartbeats_total')).toBeGreaterThan(0);
    expect(reg.value('ocs_registry_appearances_total')).toBeGreaterThanOrEqual(3);
    // junk is dropped and counted by reason
    const junk = await RawSession.join(up.url, 'test_realm');
    junk.send([16, 1, { acknowledge: true }, 'observatory.junk.feeds.heartbeat', ['not a heartbeat']]);
    await waitFor(async () => (await scrape(registryUrl)).value('ocs_registry_heartbeats_dropped_total{reason="not_a_list"}') >= 1, { what: 'the junk counted' });

    const hm = await waitFor(async () => {
      const m = await scrape(hmUrl);
      return m.value('ocs_hostmanager_children{state="RUNNING"}') === 3 ? m : undefined;
    }, { timeoutMs: 30_000, what: 'three RUNNING children in the HostManager metrics' });
    expect(hm.value('ocs_hostmanager_spawn_to_ready_seconds_count')).toBeGreaterThanOrEqual(3);
    const client = await OcsClient.connect('hm-localhost', { url: up.url, realm: 'test_realm', addressRoot: 'observatory', transport: 'wamp' });
    cleanups.push(() => client.close());
    const restart = await client.op('restart').start({ ids: 'fake-data2' });
    expect(restart.status).toBe(0);
    await client.op('restart').wait({ timeoutS: 30 });
    await waitFor(async () => (await scrape(hmUrl)).value('ocs_hostmanager_verbs_total{verb="restart",result="ok"}') === 1, { what: 'the verb counted' });

    const router = await scrape(routerUrl);
    expect(router.value('ocs_router_messages_total{type="publish",direction="in"}')).toBeGreaterThan(0);
    for (const text of [reg.text, hm.text, router.text]) expect(await promtoolCheck(text)).toEqual({ code: 0, output: '' });
    // every metric the shipped "System health" dashboard reads is one these endpoints serve
    const served = new Set([reg.text, (await scrape(hmUrl)).text, router.text].flatMap((t) => [...t.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!)));
    const used = dashboardQueries('prometheus').flatMap((q) => promqlMetricNames(q.target.expr ?? '').map((name) => [queryName(q), name.replace(/_(bucket|sum|count)$/, '')] as const));
    expect(used.length).toBeGreaterThanOrEqual(15);
    for (const [query, name] of used) expect(served.has(name), `${query}: ${name}`).toBe(true);
    // ocs top shows the same figures for this host
    const top = spawnOcs(['top', '--once', '--json', '--interval', '1', '--site-file', up.siteFile, '--site-host', 'localhost']);
    expect(await top.exited).toBe(0);
    const rows = top.records[0] as unknown as { source: string; figure: string; value: string }[];
    const cell = (source: string, figure: string) => rows.find((r) => r.source === source && r.figure === figure)?.value;
    expect(cell('router', 'sessions')).toMatch(/^\d+$/);
    expect(Number(cell('router', 'messages in/s'))).toBeGreaterThan(0);
    expect(cell('registry', 'agents live / expired')).toMatch(/^[3-9] \/ 0$/);
    expect(Number(cell('registry', 'heartbeats/s'))).toBeGreaterThan(0);
    expect(cell('hm-localhost', 'children')).toBe('RUNNING 3');
    up.child.kill('SIGINT');
    expect(await up.exited).toBe(0);
  }, 150_000);
});
