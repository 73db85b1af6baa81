/**
 * Rolling restart over three HostManagers (pseudo-hosts h1, h2, h3) on one embedded router, a
 * Registry with the real expiry, and a service of three FakeDataAgent instances spread one per
 * host. `rollout(web, max_unavailable=1)` asked of h1 restarts every instance (new pids), one at
 * a time; during it two samplers run at 10 Hz:
 *
 * - the Registry's table: an instance is ready when its record is not expired and its last
 *   heartbeat is under 2 s old (heartbeats come every second);
 * - the supervisors' states (each HostManager's child_states): ready when RUNNING.
 *
 * Neither may ever count fewer than 2 ready instances; the supervisor sampler must see every
 * instance leave RUNNING once (the restarts are visible to it). Then the service's arguments
 * change in the site file and h1 reloads it: h1 (the first host of the service) rolls it out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRouterProcess, type TestRouter } from '../helpers/router.js';
import { assertBuilt } from '../integration/supervisor/process-fixtures.js';
import { Cluster, HOSTS, poll } from '../integration/orchestrator/cluster-fixtures.js';

const SERVICE = 'web';
const INSTANCES = ['web-1', 'web-2', 'web-3'];
const FRESH_S = 2;

const servicesWith = (args: (string | number)[]) => ({ [SERVICE]: { 'agent-class': 'FakeDataAgent', instances: 3, hosts: [...HOSTS], placement: 'spread', arguments: args } });

let router: TestRouter;
let cluster: Cluster;

beforeAll(async () => {
  assertBuilt();
  router = await startRouterProcess();
  cluster = new Cluster({
    router,
    hmArgs: ['--failover-grace', 2, '--ready-period', 2],
    services: servicesWith(['--mode', 'idle']),
  });
  await cluster.start();
}, 120_000);

afterAll(() => cluster?.close(), 60_000);

interface Sample {
  at: number;
  registryReady: number;
  supervisorReady: number;
  notRunning: string[];
}

/** Both samplers, every 100 ms, until stopped. */
function sampleEvery100ms(): { stop: () => Promise<Sample[]> } {
  const samples: Sample[] = [];
  let isStopped = false;
  const loop = (async () => {
    while (!isStopped) {
      const started = Date.now();
      const [table, ...states] = await Promise.all([cluster.registryTable().catch(() => null), ...HOSTS.map((h) => cluster.childStates(h))]);
      if (table !== null && states.every((s) => s !== null)) {
        const nowS = Date.now() / 1000;
        const registryReady = INSTANCES.filter((id) => {
          const rec = table[`${cluster.addressRoot}.${id}`];
          return rec !== undefined && !rec.expired && nowS - Number(rec.last_updated) < FRESH_S;
        }).length;
        const running = INSTANCES.filter((id) => states.some((s) => s![id] === 'RUNNING'));
        samples.push({ at: started, registryReady, supervisorReady: running.length, notRunning: INSTANCES.filter((id) => !running.includes(id)) });
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
    }
  })();
  return {
    stop: async () => {
      isStopped = true;
      await loop;
      return samples;
    },
  };
}

describe('rollout over three HostManagers (real processes)', () => {
  it('restarts every instance one at a time, never leaving fewer than instances - max_unavailable ready', async () => {
    // one instance per host, each RUNNING and heartbeating
    await poll(
      async () => {
        const hosts = INSTANCES.map((id) => cluster.instanceHosts(id));
        if (!hosts.every((h) => h.length === 1) || new Set(hosts.flat()).size !== 3) return null;
        const table = await cluster.registryTable().catch(() => null);
        return INSTANCES.every((id) => table?.[`${cluster.addressRoot}.${id}`]?.expired === false) || null;
      },
      90_000,
      'three instances placed, one per host, in the registry',
    );
    // the registry's warm-up, h1's view of every holder, every supervisor's state: all RUNNING
    await poll(
      async () => {
        const view = await cluster.orchestrator('h1');
        const holders = view?.services[SERVICE]?.holders ?? [];
        if (view?.registry.blind !== false || holders.length !== 3 || !holders.every((h) => h.state === 'RUNNING')) return null;
        const states = await Promise.all(HOSTS.map((h) => cluster.childStates(h)));
        return INSTANCES.every((id) => states.some((s) => s?.[id] === 'RUNNING')) || null;
      },
      60_000,
      'h1 orchestrating with the three instances RUNNING',
    );
    const pidsBefore = INSTANCES.map((id) => cluster.instancePids(id));

    const sampler = sampleEvery100ms();
    const started = Date.now();
    const reply = await (await cluster.client('h1')).task('rollout').call({ service: SERVICE, max_unavailable: 1 }, { timeoutS: 120 });
    const elapsedMs = Date.now() - started;
    // a second's more samples: the last instance's way back is in them
    await new Promise((r) => setTimeout(r, 1000));
    const samples = await sampler.stop();

    expect(reply.session, JSON.stringify(reply.session)).toMatchObject({ success: true });
    const report = (reply.session as unknown as { data: { status: string; detail: { instance_id: string; result: string; host: string }[]; min_ready_seen: number } }).data;
    expect(report.status).toBe('done');
    expect(report.detail.map((d) => d.result)).toEqual(['restarted', 'restarted', 'restarted']);
    expect(new Set(report.detail.map((d) => d.host)).size).toBe(3);
    expect(report.min_ready_seen, JSON.stringify(report)).toBeGreaterThanOrEqual(2);
    INSTANCES.forEach((id, i) => {
      const now = cluster.instancePids(id);
      expect(now).toHaveLength(1);
      expect(now[0]).not.toBe(pidsBefore[i]![0]);
    });

    expect(samples.length).toBeGreaterThan((elapsedMs / 100) * 0.5);
    const minRegistry = Math.min(...samples.map((s) => s.registryReady));
    const minSupervisor = Math.min(...samples.map((s) => s.supervisorReady));
    const seenDown = new Set(samples.flatMap((s) => s.notRunning));
    const trace = samples.map((s) => `+${s.at - started} ms registry ${s.registryReady} supervisors ${s.supervisorReady} ${s.notRunning.join(',')}`).join('\n');
    expect(minRegistry, trace).toBeGreaterThanOrEqual(2);
    expect(minSupervisor, trace).toBeGreaterThanOrEqual(2);
    expect([...seenDown].sort(), trace).toEqual(INSTANCES);
    // only the rollout started anything: one start each at placement, one at its restart
    for (const id of INSTANCES) expect(cluster.totalStarts(id)).toBe(2);
  }, 180_000);

  it('rolls the service out when its arguments change in the site file and the first host reloads it', async () => {
    const before = (await cluster.orchestrator('h1')) as unknown as { rollouts: Record<string, { token: string }> } | null;
    const previousToken = before?.rollouts[SERVICE]?.token;
    cluster.rewriteServices(servicesWith(['--mode', 'idle', '--num-channels', 3]));
    const sampler = sampleEvery100ms();
    const reloaded = await (await cluster.client('h1')).task('update').call({ reload_config: true }, { timeoutS: 30 });
    expect(reloaded.session).toMatchObject({ success: true });
    const report = await poll(
      async () => {
        const view = (await cluster.orchestrator('h1')) as unknown as { rollouts: Record<string, { token: string; status: string; detail: { result: string }[] }> } | null;
        const r = view?.rollouts[SERVICE];
        return r !== undefined && r.token !== previousToken && r.status !== 'running' ? r : null;
      },
      90_000,
      'the rollout after the config change',
      200,
    );
    await new Promise((r) => setTimeout(r, 1000));
    const samples = await sampler.stop();
    expect(report.status, JSON.stringify(report)).toBe('done');
    expect(report.detail.map((d) => d.result)).toEqual(['restarted', 'restarted', 'restarted']);
    for (const id of INSTANCES) expect(cluster.totalStarts(id)).toBe(3);
    expect(Math.min(...samples.map((s) => s.supervisorReady))).toBeGreaterThanOrEqual(2);
    expect(Math.min(...samples.map((s) => s.registryReady))).toBeGreaterThanOrEqual(2);
  }, 180_000);

  it('refuses an unknown service and a bad max_unavailable', async () => {
    const client = await cluster.client('h2');
    const bad = await client.task('rollout').call({ service: SERVICE, max_unavailable: 0 }, { timeoutS: 30 });
    expect(bad.status).toBe(-1);
    expect(bad.message).toContain('max_unavailable');
    const unknown = await client.task('rollout').call({ service: 'nope' }, { timeoutS: 30 });
    expect(unknown.session).toMatchObject({ success: false });
    const messages = (unknown.session as { messages: [number, string][] }).messages.map((m) => m[1]);
    expect(messages.some((m) => m.includes("no cluster service 'nope'")), messages.join('\n')).toBe(true);
  }, 60_000);
});
