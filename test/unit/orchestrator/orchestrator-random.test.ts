import { describe, expect, it } from 'vitest';
import type { ServiceDeclaration } from '../../../lib/orchestrator/orchestrator-types.js';
import { seededRandom } from '../../helpers/random.js';
import { ClusterSim, type ExcessInterval } from './cluster-sim.js';

const HOSTS = ['h1', 'h2', 'h3', 'h4'];
const SERVICES: Record<string, ServiceDeclaration> = {
  agg: { instances: 1, hosts: HOSTS, placement: 'nodes-order', globalExpect: 'started' },
  flex: { instances: 2, hosts: HOSTS, placement: 'spread', globalExpect: 'started' },
  pair: { instances: 1, hosts: ['h3', 'h4'], placement: 'nodes-order', globalExpect: 'started' },
};
const TOTAL_INSTANCES = Object.values(SERVICES).reduce((n, s) => n + s.instances, 0);
/** Three times the real-process rounds of test/e2e/orchestrator-rounds.test.ts, on a fake clock. */
const ROUNDS = 150;
/** After a heal: a publish interval, a registry poll, the stop, ticks. */
const DUPLICATE_WINDOW_MS = 4500;

interface Round {
  action: string;
  atMs: number;
}

function newSim(seed: number): ClusterSim {
  return new ClusterSim({
    hosts: HOSTS,
    services: SERVICES,
    seed,
    delayMs: [10, 400],
    offsetsMs: { h1: 0, h2: 3_600_123, h3: -86_400_777, h4: 12_345 },
  });
}

function liveCount(sim: ClusterSim, host?: string): number {
  return Object.keys(SERVICES).reduce((n, s) => n + sim.liveProcesses(s).filter((p) => host === undefined || p.host === host).length, 0);
}

/** Restarts every host and waits until every service runs its instances, once each. */
function expectConverged(sim: ClusterSim): void {
  sim.heal();
  for (const host of HOSTS) sim.restart(host);
  const took = sim.runUntil(() => Object.keys(SERVICES).every((s) => sim.runningOn(s).length === SERVICES[s]!.instances), 120_000);
  expect(took).not.toBeNull();
  sim.runFor(30_000);
  for (const [service, decl] of Object.entries(SERVICES)) {
    const processes = sim.liveProcesses(service);
    expect(processes).toHaveLength(decl.instances);
    expect(new Set(processes.map((p) => p.instanceId)).size).toBe(decl.instances);
  }
}

describe('Orchestrator (randomized)', () => {
  it.each([1, 7, 20240611])(`never runs more instances than declared over ${ROUNDS} kill/restart rounds (seed %i)`, (seed) => {
    const sim = newSim(seed);
    const random = seededRandom(seed ^ 0x5eed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    sim.runFor(15_000);
    let lostInstances = 0;
    const rounds: Round[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const up = HOSTS.filter((h) => sim.host(h).isUp);
      const down = HOSTS.filter((h) => !sim.host(h).isUp);
      const dice = random();
      if (dice < 0.35 && up.length > 1) {
        const host = pick(up);
        lostInstances += liveCount(sim, host);
        sim.kill(host);
        rounds.push({ action: `kill ${host}`, atMs: sim.nowMs });
      } else if (dice < 0.7 && down.length > 0) {
        const host = pick(down);
        sim.restart(host);
        rounds.push({ action: `restart ${host}`, atMs: sim.nowMs });
      } else if (dice < 0.9) {
        // the HostManager alone restarts; its children live on
        const host = pick(up);
        sim.killAgent(host);
        sim.runFor(500 + random() * 2500);
        sim.restart(host);
        rounds.push({ action: `agent restart ${host}`, atMs: sim.nowMs });
      }
      sim.runFor(1000 + random() * 24_000);
    }
    expect(sim.excess, JSON.stringify(rounds)).toEqual([]);
    expect(sim.starts.length).toBeLessThanOrEqual(TOTAL_INSTANCES + lostInstances);
    expectConverged(sim);
    expect(sim.excess).toEqual([]);
  });

  it.each([3, 11, 424242])('resolves every duplicate within the window after a partition heals (seed %i)', (seed) => {
    const sim = newSim(seed);
    const random = seededRandom(seed ^ 0xbad);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    sim.runFor(15_000);
    const partitions: { fromMs: number; healedAtMs: number | null }[] = [];
    const rounds: Round[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const open = partitions.at(-1);
      const isPartitioned = open !== undefined && open.healedAtMs === null;
      const up = HOSTS.filter((h) => sim.host(h).isUp);
      const down = HOSTS.filter((h) => !sim.host(h).isUp);
      const dice = random();
      if (isPartitioned && dice < 0.5) {
        sim.heal();
        open.healedAtMs = sim.nowMs;
        rounds.push({ action: 'heal', atMs: sim.nowMs });
      } else if (!isPartitioned && dice < 0.3) {
        const shuffled = [...HOSTS].sort(() => random() - 0.5);
        const cut = 1 + Math.floor(random() * (HOSTS.length - 1));
        const groups = [shuffled.slice(0, cut), shuffled.slice(cut)];
        const isRegistryEverywhere = random() < 0.5;
        sim.partition(groups, { isRegistryEverywhere });
        partitions.push({ fromMs: sim.nowMs, healedAtMs: null });
        rounds.push({ action: `partition ${JSON.stringify(groups)}${isRegistryEverywhere ? ' (feeds only)' : ''}`, atMs: sim.nowMs });
      } else if (dice < 0.6 && up.length > 1) {
        const host = pick(up);
        sim.kill(host);
        rounds.push({ action: `kill ${host}`, atMs: sim.nowMs });
      } else if (down.length > 0) {
        const host = pick(down);
        sim.restart(host);
        rounds.push({ action: `restart ${host}`, atMs: sim.nowMs });
      }
      sim.runFor(1000 + random() * 30_000);
    }
    const last = partitions.at(-1);
    if (last !== undefined && last.healedAtMs === null) {
      sim.heal();
      last.healedAtMs = sim.nowMs;
    }
    sim.runFor(10_000);
    // Each partition, and the window after its heal; overlapping ones merge (a new split before the last one was resolved).
    const periods: { fromMs: number; toMs: number }[] = [];
    for (const p of partitions) {
      const period = { fromMs: p.fromMs, toMs: p.healedAtMs! + DUPLICATE_WINDOW_MS };
      const previous = periods.at(-1);
      if (previous !== undefined && period.fromMs <= previous.toMs) previous.toMs = Math.max(previous.toMs, period.toMs);
      else periods.push(period);
    }
    const explained = (interval: ExcessInterval) =>
      periods.some((p) => interval.fromMs >= p.fromMs && interval.toMs !== null && interval.toMs <= p.toMs);
    const unexplained = sim.excess.filter((interval) => !explained(interval));
    expect(unexplained, JSON.stringify({ rounds, partitions, excess: sim.excess })).toEqual([]);
    expectConverged(sim);
  });
});
