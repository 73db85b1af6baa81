/**
 * The orchestrator with real processes: three HostManagers as pseudo-hosts (`--site-host h1|h2|h3`,
 * each with its own state dir) on one embedded router (`ocs router`, a process of its own, as
 * deployed), a Registry with the real 5 s expiry, and one cluster service `fake-cluster` (a
 * FakeDataAgent, nodes-order over h1, h2, h3). The HostManagers run with `--failover-grace 2
 * --ready-period 2` (the defaults, 5 s and 3 s, are what the failover benchmark reports).
 *
 * The tests share the cluster and run in order: placement, failover after SIGKILL of the
 * holder's HostManager and its children (within 15 s), relocate, freeze/thaw with `placed`,
 * a SIGSTOPped agent, and global_expect stopped/started. Starts are counted from the
 * supervisors' history files; a sampler reads /proc every 100 ms and records the most copies of
 * the agent ever seen at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OcsClient } from '../../lib/client/ocs-client.js';
import { startRouterProcess, type TestRouter } from '../helpers/router.js';
import { assertBuilt } from '../integration/supervisor/process-fixtures.js';
import { Cluster, HOSTS, SERVICE, poll, type OrchestratorData } from '../integration/orchestrator/cluster-fixtures.js';

const FAILOVER_CONTRACT_MS = 15_000;
const SETTLE_TIMEOUT_MS = 60_000;
/** grace + ready + a margin: longer than any action of the orchestrator with these settings. */
const QUIET_WINDOW_MS = 6000;

let router: TestRouter;
let cluster: Cluster;

beforeAll(async () => {
  assertBuilt();
  router = await startRouterProcess();
  cluster = new Cluster({ router, hmArgs: ['--failover-grace', 2, '--ready-period', 2] });
  await cluster.start();
}, 120_000);

afterAll(() => cluster?.close(), 60_000);

function settledHolder(what: string): Promise<string> {
  return cluster.settledHolder(what, SETTLE_TIMEOUT_MS);
}

/** What the surviving hosts reported during a failover, each change once, for a failure message. */
class Timeline {
  private readonly lines: string[] = [];
  private readonly last = new Map<string, string>();
  constructor(private readonly sinceMs: number) {}

  note(hosts: readonly string[], views: readonly (OrchestratorData | null)[]): void {
    const at = ((Date.now() - this.sinceMs) / 1000).toFixed(2);
    hosts.forEach((host, i) => {
      const v = views[i];
      const local = v?.services[SERVICE]?.local[SERVICE];
      const h1 = v?.nodes['h1'];
      const summary =
        v === null || v === undefined
          ? 'no view'
          : `registry ${v.registry.blind ? `blind (${v.registry.blind_reason})` : v.registry.healthy ? 'ok' : 'failing'}; ` +
            `h1 ${h1?.alive ? 'alive' : h1?.dead ? 'dead' : 'not alive'}; monitor ${local?.monitor ?? '-'}; state ${local?.state ?? '-'}`;
      if (this.last.get(host) === summary) return;
      this.last.set(host, summary);
      this.lines.push(`  +${at} s ${host}: ${summary}`);
    });
  }

  text(): string {
    return this.lines.join('\n');
  }
}

function viewsOf(hosts: readonly string[]): Promise<(OrchestratorData | null)[]> {
  return Promise.all(hosts.map((h) => cluster.orchestrator(h)));
}

describe('orchestrator: three HostManagers on one router (real processes)', () => {
  it('places the service on exactly one host, the first of nodes-order, and every host agrees', async () => {
    const holder = await settledHolder('fake-cluster placed');
    expect(holder).toBe('h1');
    expect(cluster.starts()).toEqual({ h1: 1, h2: 0, h3: 0 });
    // healthy is the last registry poll's outcome: one answer lost on a busy machine shows until the next poll
    const views = await poll(
      async () => {
        const all = await viewsOf(HOSTS);
        return all.every((v) => v?.registry.healthy === true) ? all : null;
      },
      SETTLE_TIMEOUT_MS,
      'every host reading the registry',
    );
    for (const view of views) {
      expect(view?.registry).toMatchObject({ healthy: true, blind: false });
      expect(Object.values(view!.nodes).every((n) => n.alive)).toBe(true);
      expect(view?.services[SERVICE]?.global_expect).toBe('started');
    }
    expect(views[0]?.actions.filter((a) => a.type === 'start')).toHaveLength(1);
  });

  it('fails over within 15 s after SIGKILL of the holder HostManager and its children; the restarted host starts nothing', async () => {
    const killedAt = Date.now();
    const timeline = new Timeline(killedAt);
    try {
      await cluster.killHost('h1');
      expect(cluster.instancePids()).toEqual([]);
      const runningOn = await poll(
        async () => {
          const views = await viewsOf(['h2', 'h3']);
          timeline.note(['h2', 'h3'], views);
          const i = views.findIndex((v) => v?.services[SERVICE]?.local[SERVICE]?.state === 'RUNNING');
          return i < 0 ? null : ['h2', 'h3'][i]!;
        },
        30_000,
        'fake-cluster running again',
        100,
      );
      const failoverMs = Date.now() - killedAt;
      expect(runningOn).toBe('h2');
      expect(failoverMs, `failover took ${failoverMs} ms; what h2 and h3 reported:\n${timeline.text()}\nh2's log:\n${cluster.logTail('h2', 40)}\nthe registry's log:\n${cluster.registryLogTail(20)}`).toBeLessThan(FAILOVER_CONTRACT_MS);
      expect(await settledHolder('h2 holds it')).toBe('h2');
      expect(cluster.starts()).toEqual({ h1: 1, h2: 1, h3: 0 });
      const h3 = await cluster.orchestrator('h3');
      expect(h3?.services[SERVICE]?.last_failover).toMatchObject({ from: 'h1', to: 'h2' });
    } finally {
      // the later tests need all three hosts, whatever happened above
      if (!cluster.isUp('h1')) await cluster.startHost('h1');
    }
    await poll(async () => (await cluster.orchestrator('h1'))?.registry.blind === false || null, SETTLE_TIMEOUT_MS, 'h1 orchestrating again');
    expect(await settledHolder('h2 still holds it with h1 back')).toBe('h2');
    expect(cluster.starts()).toEqual({ h1: 1, h2: 1, h3: 0 });
    expect(cluster.mostCopies).toBe(1);
  });

  it('relocate moves the service to the named host: stopped first, then started there', async () => {
    const reply = await cluster.task('h1', 'relocate', { service: SERVICE, to: 'h3' });
    expect(reply.session).toMatchObject({ success: true });
    await poll(async () => ((await cluster.agreedHolder()) === 'h3' ? true : null), SETTLE_TIMEOUT_MS, 'relocated to h3');
    expect(cluster.starts()).toEqual({ h1: 1, h2: 1, h3: 1 });
    const h2 = await cluster.orchestrator('h2');
    expect(h2?.actions.at(-1)).toMatchObject({ type: 'stop', instance_id: SERVICE, reason: 'relocate to h3', ok: true });
    const unknown = await cluster.task('h1', 'relocate', { service: SERVICE, to: 'h9' });
    expect(unknown.session).toMatchObject({ success: false });
    expect(cluster.mostCopies).toBe(1);
  });

  it('a frozen node keeps its instance and takes no action; after thaw, placed moves the service back to the first host', async () => {
    const frozen = await cluster.task('h3', 'freeze', {});
    expect(frozen.session).toMatchObject({ success: true });
    const placed = await cluster.task('h2', 'set_expect', { service: SERVICE, global_expect: 'placed' });
    expect(placed.session).toMatchObject({ success: true });
    await poll(
      async () => {
        const views = await viewsOf(HOSTS);
        return views.every((v) => v?.services[SERVICE]?.global_expect === 'placed' && v.nodes['h3']?.frozen === true) || null;
      },
      SETTLE_TIMEOUT_MS,
      'placed and the freeze seen everywhere',
    );
    const startsBefore = cluster.totalStarts();
    await new Promise((r) => setTimeout(r, QUIET_WINDOW_MS));
    expect(await cluster.agreedHolder()).toBe('h3');
    expect(cluster.totalStarts()).toBe(startsBefore);

    const thawed = await cluster.task('h3', 'thaw', { scope: 'node' });
    expect(thawed.session).toMatchObject({ success: true });
    await poll(async () => ((await cluster.agreedHolder()) === 'h1' ? true : null), SETTLE_TIMEOUT_MS, 'placed on h1');
    expect(cluster.starts()).toEqual({ h1: 2, h2: 1, h3: 1 });
    expect(cluster.mostCopies).toBe(1);
  });

  it('does not fail over a SIGSTOPped agent on a live host', async () => {
    const suspended = await cluster.task('h1', 'suspend', { ids: SERVICE });
    expect(suspended.session).toMatchObject({ success: true });
    const registry = await OcsClient.connect('registry', { url: router.url, realm: router.realm, addressRoot: cluster.addressRoot, transport: 'wamp' });
    try {
      const address = `${cluster.addressRoot}.${SERVICE}`;
      await poll(
        async () => {
          const reply = await registry.op('main').status();
          const data = 'data' in reply.session ? (reply.session.data as Record<string, { expired?: boolean }>) : {};
          return data[address]?.expired === true || null;
        },
        SETTLE_TIMEOUT_MS,
        'the suspended agent expired in the registry',
      );
    } finally {
      await registry.close();
    }
    const startsBefore = cluster.totalStarts();
    await new Promise((r) => setTimeout(r, QUIET_WINDOW_MS));
    expect(cluster.totalStarts()).toBe(startsBefore);
    const views = await viewsOf(HOSTS);
    for (const view of views) expect(view?.services[SERVICE]?.holders).toEqual([expect.objectContaining({ node: 'h1', state: 'SUSPENDED' })]);
    const resumed = await cluster.task('h1', 'resume', { ids: SERVICE });
    expect(resumed.session).toMatchObject({ success: true });
    expect(await settledHolder('running again on h1')).toBe('h1');
  });

  it('global_expect stopped stops the service on every host; started brings it back on one', async () => {
    const stopped = await cluster.task('h2', 'set_expect', { service: SERVICE, global_expect: 'stopped' });
    expect(stopped.session).toMatchObject({ success: true });
    await poll(() => cluster.isStoppedEverywhere(), SETTLE_TIMEOUT_MS, 'stopped everywhere');
    const views = await viewsOf(HOSTS);
    for (const view of views) expect(view?.services[SERVICE]?.global_expect).toBe('stopped');
    const startsBefore = cluster.totalStarts();

    const started = await cluster.task('h3', 'set_expect', { service: SERVICE, global_expect: 'started' });
    expect(started.session).toMatchObject({ success: true });
    expect(await settledHolder('started again')).toBe('h1');
    expect(cluster.totalStarts()).toBe(startsBefore + 1);
    const bad = await cluster.task('h3', 'set_expect', { service: 'nope', global_expect: 'started' });
    expect(bad.session).toMatchObject({ success: false });
    expect(cluster.mostCopies).toBe(1);
  });
});
