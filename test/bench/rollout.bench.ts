import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, HOSTS, poll } from '../integration/orchestrator/cluster-fixtures.js';
import { UsageWindow } from './lib/proc-stats.js';
import { currentLoad, hostManagersResult, isCaseSelected, median, newReport, type BenchOptions, type BenchReport } from './lib/report.js';
import { spawnRouterProcess } from '../helpers/router-process.js';
import { LatencyRecorder } from './lib/stats.js';

/**
 * A rolling restart's total time: three HostManagers as pseudo-hosts (h1, h2, h3) on a router
 * process, a Registry with the real expiry, a service `web` of three FakeDataAgent instances
 * spread one per host. Each run asks h1 for `rollout(web, max_unavailable=N)` and times the task
 * from the call to its end (every instance restarted and RUNNING for `min_ready`, 1 s), with the
 * per-instance time from the restart request to RUNNING again and the fewest ready instances the
 * coordinator saw. 5 runs per case (2 with --quick); the cluster settles between runs.
 *
 * Every process started here is SIGKILLed at the end (by pid, and the HostManagers' children by
 * their supervisor marker), and the temp dir is removed.
 */
export const name = 'rollout';

const RUNS = 5;
const QUICK_RUNS = 2;
const REALM = 'test_realm';
const SERVICE = 'web';
const SETTLE_TIMEOUT_MS = 90_000;

interface RolloutData {
  status: string;
  elapsed_s: number;
  min_ready_seen: number;
  detail: { result: string; ready_after_s: number | null }[];
}

const CASES = [
  { title: 'rollout, 3 instances on 3 hosts, max_unavailable 1', maxUnavailable: 1 },
  { title: 'rollout, 3 instances on 3 hosts, max_unavailable 2', maxUnavailable: 2 },
];


async function allRunning(cluster: Cluster): Promise<boolean> {
  const view = await cluster.orchestrator('h1');
  const holders = view?.services[SERVICE]?.holders ?? [];
  return view?.registry.blind === false && holders.length === 3 && holders.every((h) => h.state === 'RUNNING') && new Set(holders.map((h) => h.node)).size === 3;
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const report = newReport(name, options);
  const runs = options.quick ? QUICK_RUNS : RUNS;
  if (!CASES.some((c) => isCaseSelected(options, c.title))) return report;
  const router = await spawnRouterProcess();
  const cluster = new Cluster({
    router: { url: router.url, httpUrl: null, realm: REALM },
    hmArgs: ['--failover-grace', 2, '--ready-period', 2],
    services: { [SERVICE]: { 'agent-class': 'FakeDataAgent', instances: 3, hosts: [...HOSTS], placement: 'spread', arguments: ['--mode', 'idle'] } },
  });
  try {
    await cluster.start();
    for (const c of CASES) {
      if (!isCaseSelected(options, c.title)) continue;
      try {
        const load = currentLoad();
        const usage = new UsageWindow(router.pid);
        const total = new LatencyRecorder();
        const perInstance: number[] = [];
        let minReady = Infinity;
        const startedAt = performance.now();
        for (let i = 0; i < runs; i++) {
          await poll(() => allRunning(cluster), SETTLE_TIMEOUT_MS, 'three instances RUNNING, one per host');
          await sleep(1000);
          const t0 = performance.now();
          const reply = await (await cluster.client('h1')).task('rollout').call({ service: SERVICE, max_unavailable: c.maxUnavailable }, { timeoutS: 180 });
          const ms = performance.now() - t0;
          const data = ('data' in reply.session ? reply.session.data : {}) as unknown as RolloutData;
          if (data.status !== 'done') throw new Error(`rollout ${i + 1} ${data.status}: ${reply.message}`);
          total.add(ms);
          for (const d of data.detail) if (d.ready_after_s !== null) perInstance.push(d.ready_after_s);
          minReady = Math.min(minReady, data.min_ready_seen);
          process.stdout.write(`  ${c.title} run ${i + 1}/${runs}: ${(ms / 1000).toFixed(2)} s, fewest ready ${data.min_ready_seen}\n`);
        }
        const used = usage.stop();
        const summary = total.summary();
        report.results.push(
          hostManagersResult(c.title, { startedAtMs: startedAt, runs, unit: 'rollouts', latencyMs: summary, used, load }, {
            runs,
            max_unavailable: c.maxUnavailable,
            total_p50_s: summary.p50 / 1000,
            total_max_s: summary.max / 1000,
            instance_restart_to_running_median_s: median(perInstance),
            instance_restart_to_running_max_s: Math.max(...perInstance),
            min_ready_hold_s: 1,
            fewest_ready_seen: minReady,
            floor: 3 - c.maxUnavailable,
          }),
        );
        if (minReady < 3 - c.maxUnavailable) report.failures.push({ benchmark: c.title, client: 'host-managers', error: `${minReady} ready seen, below ${3 - c.maxUnavailable}` });
      } catch (err) {
        report.failures.push({ benchmark: c.title, client: 'host-managers', error: err instanceof Error ? err.message : String(err) });
      }
    }
  } finally {
    await cluster.close();
    await router.stop();
  }
  return report;
}
