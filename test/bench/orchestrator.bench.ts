import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, HOSTS, SERVICE, poll, type OrchestratorData } from '../integration/orchestrator/cluster-fixtures.js';
import { UsageWindow } from './lib/proc-stats.js';
import { currentLoad, hostManagersResult, isCaseSelected, median, newReport, type BenchOptions, type BenchReport } from './lib/report.js';
import { spawnRouterProcess } from '../helpers/router-process.js';
import { LatencyRecorder } from './lib/stats.js';
import { runOrchestratorRounds, type RoundsInput } from './lib/orchestrator-rounds.js';

/**
 * Failover time of a cluster service: three HostManagers as pseudo-hosts (h1, h2, h3) on a router
 * process (loopback), a Registry with the real 5 s expiry, one service `fake-cluster` (a
 * FakeDataAgent, nodes-order). Each run SIGKILLs the holder's HostManager and its children and
 * times until another host reports the new instance RUNNING (its first heartbeat seen by its
 * HostManager), reading the surviving HostManagers' `orchestrator` session data every 50 ms.
 * The killed host is then started again and the cluster left to settle before the next run.
 *
 * Cases: the defaults (grace 5 s, ready period 3 s) and the timings of the cluster test
 * (`--failover-grace 2 --ready-period 2`). 20 runs each (5 with --quick). Per run, the phases
 * are taken from the new holder's view: the killed host seen not alive (registry expiry + poll),
 * seen dead (+ grace), the start asked (+ ready period), RUNNING (+ agent start-up).
 *
 * Decision cases (no router, no processes): the pure cores of a steady cluster on a manual clock
 * (test/bench/lib/orchestrator-rounds.ts), the CPU time of one host's 250 ms round.
 *
 * Every process started here is SIGKILLed at the end (by pid, and the HostManagers' children by
 * their supervisor marker), and the temp dir is removed.
 */
export const name = 'orchestrator';

const RUNS = 20;
const QUICK_RUNS = 5;
const REALM = 'test_realm';
const SETTLE_TIMEOUT_MS = 90_000;
const FAILOVER_TIMEOUT_MS = 60_000;
const VIEW_POLL_MS = 50;

interface Case {
  title: string;
  hmArgs: (string | number)[];
}

const CASES: Case[] = [
  { title: 'failover, defaults (grace 5 s, ready 3 s)', hmArgs: [] },
  { title: 'failover, grace 2 s, ready 2 s (cluster test)', hmArgs: ['--failover-grace', 2, '--ready-period', 2] },
];

const DECISION_CASES: { title: string; input: RoundsInput }[] = [
  { title: 'decision round, 3 hosts, 1 service', input: { hosts: 3, services: 1, instancesPerService: 1, hostsPerService: 3, rounds: 20_000 } },
  { title: 'decision round, 10 hosts, 20 services x 2', input: { hosts: 10, services: 20, instancesPerService: 2, hostsPerService: 4, rounds: 2_000 } },
];

function decisionCase(c: (typeof DECISION_CASES)[number], options: BenchOptions): BenchReport['results'][number] {
  const load = currentLoad();
  const input = options.quick ? { ...c.input, rounds: Math.ceil(c.input.rounds / 5) } : c.input;
  const r = runOrchestratorRounds(input);
  process.stdout.write(`  ${c.title}: mean ${r.meanPerHostRoundUs.toFixed(1)} us per host round, p50 ${(r.perHostRoundMs.p50 * 1000).toFixed(1)} us\n`);
  return {
    benchmark: c.title,
    client: 'cores',
    durationS: r.durationS,
    throughput: r.ticks / r.durationS,
    throughputUnit: 'host rounds/s',
    latencyMs: r.perHostRoundMs,
    routerCpuPct: NaN,
    clientCpuPct: NaN,
    routerRssMb: NaN,
    loadAvg1m: load,
    extra: {
      hosts: input.hosts,
      services: input.services,
      instances_per_service: input.instancesPerService,
      rounds: input.rounds,
      mean_host_round_us: r.meanPerHostRoundUs,
      messages_delivered: r.messagesDelivered,
      running_instances: r.runningInstances,
    },
  };
}

interface Phases {
  notAliveMs: number | null;
  deadMs: number | null;
  startingMs: number | null;
  runningMs: number;
  to: string;
}

/** Kills the holder, then watches the other hosts' views until one runs the instance. */
async function failover(cluster: Cluster, holder: string): Promise<Phases> {
  const others = HOSTS.filter((h) => h !== holder);
  const killedAt = performance.now();
  await cluster.killHost(holder);
  const phases: Omit<Phases, 'runningMs' | 'to'> = { notAliveMs: null, deadMs: null, startingMs: null };
  const since = () => performance.now() - killedAt;
  for (;;) {
    const views = await Promise.all(others.map((h) => cluster.orchestrator(h)));
    const seen = (pred: (v: OrchestratorData) => boolean) => views.some((v) => v !== null && pred(v));
    if (phases.notAliveMs === null && seen((v) => v.nodes[holder]?.alive === false)) phases.notAliveMs = since();
    if (phases.deadMs === null && seen((v) => v.nodes[holder]?.dead === true)) phases.deadMs = since();
    if (phases.startingMs === null && seen((v) => v.services[SERVICE]?.local[SERVICE]?.monitor === 'starting' || v.services[SERVICE]?.local[SERVICE]?.state === 'RUNNING')) {
      phases.startingMs = since();
    }
    const i = views.findIndex((v) => v?.services[SERVICE]?.local[SERVICE]?.state === 'RUNNING');
    if (i >= 0) return { ...phases, runningMs: since(), to: others[i]! };
    if (since() > FAILOVER_TIMEOUT_MS) throw new Error(`no failover from ${holder} within ${FAILOVER_TIMEOUT_MS} ms`);
    await sleep(VIEW_POLL_MS);
  }
}


export async function run(options: BenchOptions): Promise<BenchReport> {
  const report = newReport(name, options);
  const runs = options.quick ? QUICK_RUNS : RUNS;
  for (const c of DECISION_CASES) {
    if (!isCaseSelected(options, c.title)) continue;
    try {
      report.results.push(decisionCase(c, options));
    } catch (err) {
      report.failures.push({ benchmark: c.title, client: 'cores', error: err instanceof Error ? err.message : String(err) });
    }
  }
  if (!CASES.some((c) => isCaseSelected(options, c.title))) return report;
  const router = await spawnRouterProcess();
  try {
    for (const c of CASES) {
      if (!isCaseSelected(options, c.title)) continue;
      const cluster = new Cluster({ router: { url: router.url, httpUrl: null, realm: REALM }, hmArgs: c.hmArgs });
      try {
        await cluster.start();
        let holder = await cluster.settledHolder('the cluster to settle', SETTLE_TIMEOUT_MS);
        const load = currentLoad();
        const usage = new UsageWindow(router.pid);
        const recorder = new LatencyRecorder();
        const phases: Phases[] = [];
        const startedAt = performance.now();
        for (let i = 0; i < runs; i++) {
          const p = await failover(cluster, holder);
          recorder.add(p.runningMs);
          phases.push(p);
          process.stdout.write(`  ${c.title} run ${i + 1}/${runs}: ${holder} -> ${p.to} in ${(p.runningMs / 1000).toFixed(2)} s\n`);
          await cluster.startHost(holder);
          await poll(async () => (await cluster.orchestrator(holder))?.registry.blind === false || null, SETTLE_TIMEOUT_MS, `${holder} back`);
          holder = await cluster.settledHolder('the cluster to settle', SETTLE_TIMEOUT_MS);
        }
        const used = usage.stop();
        const s = (xs: (number | null)[]) => median(xs.filter((x): x is number => x !== null)) / 1000;
        const extraStarts = cluster.totalStarts() - (runs + 1);
        report.results.push(
          hostManagersResult(c.title, { startedAtMs: startedAt, runs, unit: 'failovers', latencyMs: recorder.summary(), used, load }, {
            runs,
            failover_p50_s: recorder.summary().p50 / 1000,
            failover_p99_s: recorder.summary().p99 / 1000,
            median_not_alive_s: s(phases.map((p) => p.notAliveMs)),
            median_dead_s: s(phases.map((p) => p.deadMs)),
            median_starting_s: s(phases.map((p) => p.startingMs)),
            starts_beyond_one_per_failover: extraStarts,
          }),
        );
        if (extraStarts !== 0) report.failures.push({ benchmark: c.title, client: 'host-managers', error: `${extraStarts} starts beyond one per failover` });
      } catch (err) {
        report.failures.push({ benchmark: c.title, client: 'host-managers', error: err instanceof Error ? err.message : String(err) });
      } finally {
        await cluster.close();
      }
    }
  } finally {
    await router.stop();
  }
  return report;
}
