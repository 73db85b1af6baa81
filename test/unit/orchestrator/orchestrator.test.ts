import { describe, expect, it } from 'vitest';
import { InvalidParamsError } from '../../../lib/errors.js';
import { DEFAULT_ORCHESTRATOR_OPTIONS, type ServiceDeclaration } from '../../../lib/orchestrator/orchestrator-types.js';
import { rankHosts } from '../../../lib/orchestrator/ranking.js';
import { recordingLogger } from '../registry/recording-logger.js';
import { ClusterSim, type SimOptions } from './cluster-sim.js';

const HOSTS = ['h1', 'h2', 'h3'];
const AGG: ServiceDeclaration = { instances: 1, hosts: HOSTS, placement: 'nodes-order', globalExpect: 'started' };
/** Host clocks disagree by hours: nothing may compare one host's time with another's. */
const SKEWED = { h1: 0, h2: 3_600_123, h3: -86_400_777, h4: 12_345 };

const { failoverGraceMs, readyPeriodMs } = DEFAULT_ORCHESTRATOR_OPTIONS;
const START_MS = 1500;
const REGISTRY_EXPIRY_MAX_MS = 6000;
const REGISTRY_POLL_MS = 1000;
const TICK_MS = 200;
/** expiry + poll + grace + ready + start, plus a tick or two of slack. */
const FAILOVER_MAX_MS = REGISTRY_EXPIRY_MAX_MS + REGISTRY_POLL_MS + failoverGraceMs + readyPeriodMs + START_MS + 3 * TICK_MS;
/** After a heal: a placement publish interval, a registry poll, the stop, ticks. */
const DUPLICATE_WINDOW_MS = 2000 + REGISTRY_POLL_MS + 500 + 3 * TICK_MS + 250;

function cluster(overrides: Partial<SimOptions> = {}): ClusterSim {
  return new ClusterSim({ hosts: HOSTS, services: { agg: AGG }, offsetsMs: SKEWED, startMs: START_MS, tickMs: TICK_MS, ...overrides });
}

/** A cluster whose services are placed and settled. */
function settled(overrides: Partial<SimOptions> = {}): ClusterSim {
  const sim = cluster(overrides);
  const total = Object.values(sim.options.services).reduce((n, s) => n + s.instances, 0);
  const placedIn = sim.runUntil(() => Object.keys(sim.options.services).reduce((n, s) => n + sim.runningOn(s).length, 0) === total, 30_000);
  expect(placedIn).not.toBeNull();
  sim.runFor(3000);
  return sim;
}

describe('Orchestrator', () => {
  it('places a service once on the best-ranked host when the cluster starts together', () => {
    const sim = settled();
    expect(sim.runningOn('agg')).toEqual(['h1']);
    expect(sim.starts).toHaveLength(1);
    expect(sim.excess).toEqual([]);
    const view = sim.orchestrator('h3').view();
    expect(view.services['agg']!.holders).toEqual([{ instance_id: 'agg', node: 'h1', epoch: 1, state: 'RUNNING' }]);
    expect(view.nodes['h1']!.alive).toBe(true);
  });

  it('fails over to exactly one host within expiry + grace + ready + start when the holder dies', () => {
    const sim = settled();
    const killedAt = sim.nowMs;
    sim.kill('h1');
    const took = sim.runUntil(() => sim.runningOn('agg').length === 1, 60_000);
    expect(took).not.toBeNull();
    expect(took!).toBeGreaterThanOrEqual(5000 + failoverGraceMs + readyPeriodMs + START_MS);
    expect(took!).toBeLessThanOrEqual(FAILOVER_MAX_MS);
    expect(sim.runningOn('agg')).toEqual(['h2']);
    sim.runFor(30_000);
    expect(sim.startsSince(killedAt)).toEqual([expect.objectContaining({ host: 'h2', instanceId: 'agg', reason: 'failover from h1' })]);
    expect(sim.orchestrator('h3').view().services['agg']!.last_failover).toMatchObject({ from: 'h1', to: 'h2' });
    // the old holder comes back: no failback, no second start
    sim.restart('h1');
    sim.runFor(30_000);
    expect(sim.runningOn('agg')).toEqual(['h2']);
    expect(sim.startsSince(killedAt)).toHaveLength(1);
    expect(sim.excess).toEqual([]);
  });

  it('does not fail over while heartbeats flap for less than the grace period', () => {
    const sim = settled();
    const at = sim.nowMs;
    for (let i = 0; i < 4; i++) {
      sim.killAgent('h1'); // children live on; heartbeats and feed stop
      sim.runFor(7000); // expired at the registry for 1–2 s
      sim.restart('h1');
      sim.runFor(6000);
    }
    sim.runFor(20_000);
    expect(sim.runningOn('agg')).toEqual(['h1']);
    expect(sim.startsSince(at)).toEqual([]);
  });

  it('withdraws a claim during the ready period when a better-ranked host becomes a candidate', () => {
    const sim = settled();
    sim.orchestrator('h2').freezeNode();
    sim.runFor(3000);
    const at = sim.nowMs;
    sim.kill('h1');
    const monitorOf = (host: string) => sim.orchestrator(host).view().services['agg']!.local['agg']!.monitor;
    expect(sim.runUntil(() => monitorOf('h3') === 'ready', 30_000)).not.toBeNull();
    sim.orchestrator('h2').thawNode();
    sim.runUntil(() => sim.runningOn('agg').length === 1, 30_000);
    sim.runFor(10_000);
    expect(sim.runningOn('agg')).toEqual(['h2']);
    expect(sim.startsSince(at)).toEqual([expect.objectContaining({ host: 'h2' })]);
    expect(monitorOf('h3')).toBe('idle');
    expect(sim.orchestrator('h2').view().services['agg']!.local['agg']!.epoch).toBe(3); // above h3's withdrawn claim
  });

  it('keeps the copy with the highest epoch when a partition heals', () => {
    const sim = settled();
    const at = sim.nowMs;
    sim.partition([['h2', 'h3'], ['h1']]); // the registry is on the h2/h3 side; h1 is blind
    sim.runUntil(() => sim.runningOn('agg').length === 2, 60_000);
    expect(sim.runningOn('agg')).toEqual(['h1', 'h2']);
    sim.runFor(20_000);
    expect(sim.runningOn('agg')).toEqual(['h1', 'h2']); // the blind side keeps its copy
    const healedAt = sim.nowMs;
    sim.heal();
    const resolvedIn = sim.runUntil(() => sim.runningOn('agg').length === 1 && sim.liveProcesses('agg').length === 1, 30_000);
    expect(resolvedIn).not.toBeNull();
    expect(resolvedIn!).toBeLessThanOrEqual(DUPLICATE_WINDOW_MS);
    expect(sim.runningOn('agg')).toEqual(['h2']); // epoch 2 beats epoch 1
    sim.runFor(30_000);
    expect(sim.runningOn('agg')).toEqual(['h2']);
    expect(sim.startsSince(at)).toHaveLength(1);
    for (const interval of sim.excess) {
      expect(interval.toMs).not.toBeNull();
      expect(interval.toMs! - healedAt).toBeLessThanOrEqual(DUPLICATE_WINDOW_MS);
    }
  });

  it('keeps the better-ranked copy when both sides claimed the same epoch', () => {
    const sim = cluster({ services: { agg: { ...AGG, globalExpect: 'stopped' } } });
    sim.runFor(15_000);
    expect(sim.runningOn('agg')).toEqual([]);
    // a feed-only split: every host still sees the registry, nobody sees anybody's placement feed
    sim.partition([['h1'], ['h2'], ['h3']], { isRegistryEverywhere: true });
    sim.orchestrator('h2').setExpect('agg', 'started');
    sim.orchestrator('h3').setExpect('agg', 'started');
    sim.runUntil(() => sim.runningOn('agg').length === 2, 60_000);
    expect(sim.runningOn('agg')).toEqual(['h2', 'h3']);
    expect(sim.orchestrator('h2').view().services['agg']!.local['agg']!.epoch).toBe(1);
    expect(sim.orchestrator('h3').view().services['agg']!.local['agg']!.epoch).toBe(1);
    sim.heal();
    expect(sim.runUntil(() => sim.liveProcesses('agg').length === 1, DUPLICATE_WINDOW_MS)).not.toBeNull();
    expect(sim.runningOn('agg')).toEqual(['h2']);
    sim.runFor(20_000);
    expect(sim.runningOn('agg')).toEqual(['h2']);
  });

  it('records the failover on a host that judges the old holder dead only after the new one holds it', () => {
    const sim = settled();
    const killedAt = sim.nowMs;
    sim.kill('h1');
    // h3 reads nothing from the registry from before h1 expires until well after h2 took over
    sim.runFor(3000);
    sim.losePolls('h3', 20);
    expect(sim.runUntil(() => sim.runningOn('agg').length === 1, 60_000)).not.toBeNull();
    expect(sim.runningOn('agg')).toEqual(['h2']);
    const h3 = () => sim.orchestrator('h3').view();
    expect(h3().nodes['h1']!.dead).toBe(false);
    expect(h3().services['agg']!.holders.map((x) => x.node).sort()).toEqual(['h1', 'h2']);
    expect(sim.runUntil(() => h3().nodes['h1']!.dead, 60_000)).not.toBeNull();
    sim.runFor(TICK_MS);
    expect(h3().services['agg']!.holders.map((x) => x.node)).toEqual(['h2']);
    expect(h3().services['agg']!.last_failover).toMatchObject({ from: 'h1', to: 'h2' });
    expect(sim.orchestrator('h2').view().services['agg']!.last_failover).toMatchObject({ from: 'h1', to: 'h2' });
    expect(sim.startsSince(killedAt)).toEqual([expect.objectContaining({ host: 'h2', reason: 'failover from h1' })]);
  });

  it('holds a claim through a few lost registry answers instead of withdrawing it and starting the grace period again', () => {
    const sim = settled();
    const killedAt = sim.nowMs;
    sim.kill('h1');
    const monitorOf = (host: string) => sim.orchestrator(host).view().services['agg']!.local['agg']!.monitor;
    expect(sim.runUntil(() => monitorOf('h2') === 'ready', 30_000)).not.toBeNull();
    const lostMs = 3 * REGISTRY_POLL_MS;
    sim.losePolls('h2', 3);
    sim.runFor(REGISTRY_POLL_MS + TICK_MS);
    const held = sim.orchestrator('h2').view();
    expect(held.registry).toMatchObject({ healthy: false, blind: false });
    expect(held.registry.failing_since).not.toBeNull();
    expect(held.nodes['h1']).toMatchObject({ alive: false, dead: true });
    expect(monitorOf('h2')).toBe('ready');
    expect(sim.runUntil(() => sim.runningOn('agg').length === 1, 60_000)).not.toBeNull();
    expect(sim.nowMs - killedAt).toBeLessThanOrEqual(FAILOVER_MAX_MS + lostMs);
    expect(sim.runningOn('agg')).toEqual(['h2']);
    expect(sim.orchestrator('h2').view().registry).toMatchObject({ healthy: true, failing_since: null });
    sim.runFor(20_000);
    expect(sim.startsSince(killedAt)).toEqual([expect.objectContaining({ host: 'h2', reason: 'failover from h1' })]);
  });

  it('goes blind when the registry answers nothing for longer than the tolerance, and judges no host meanwhile', () => {
    const sim = settled();
    const at = sim.nowMs;
    const { registryToleranceMs } = DEFAULT_ORCHESTRATOR_OPTIONS;
    sim.losePolls('h2', Math.ceil(registryToleranceMs / REGISTRY_POLL_MS) + 3);
    sim.kill('h1');
    sim.runFor(registryToleranceMs - REGISTRY_POLL_MS);
    expect(sim.orchestrator('h2').view().registry).toMatchObject({ blind: false, healthy: false });
    expect(sim.orchestrator('h2').view().nodes['h1']).toMatchObject({ alive: true, dead: false });
    sim.runFor(2 * REGISTRY_POLL_MS);
    expect(sim.orchestrator('h2').view().registry).toMatchObject({ blind: true, blind_reason: 'registry unavailable' });
    // h2 is still heartbeating, so h3 leaves the service to it; h2 starts it once it reads the registry again
    expect(sim.startsSince(at)).toEqual([]);
    expect(sim.runUntil(() => sim.runningOn('agg').length === 1, 60_000)).not.toBeNull();
    expect(sim.orchestrator('h2').view().registry).toMatchObject({ blind: false, healthy: true });
    sim.runFor(20_000);
    expect(sim.startsSince(at)).toEqual([expect.objectContaining({ host: 'h2', reason: 'failover from h1' })]);
  });

  it('takes no action while the registry is down, then fails over once it is back and warm', () => {
    const sim = settled();
    const at = sim.nowMs;
    sim.registryDown();
    sim.kill('h1');
    sim.runFor(60_000);
    expect(sim.startsSince(at)).toEqual([]);
    expect(sim.orchestrator('h2').view().registry).toMatchObject({ blind: true, blind_reason: 'registry unavailable' });
    const backAt = sim.nowMs;
    sim.registryRestart();
    sim.runFor(DEFAULT_ORCHESTRATOR_OPTIONS.registryWarmupMs - 500);
    expect(sim.orchestrator('h2').view().registry.blind_reason).toBe('registry warming up');
    expect(sim.startsSince(at)).toEqual([]);
    const took = sim.runUntil(() => sim.runningOn('agg').length === 1, 60_000);
    expect(took).not.toBeNull();
    const since = sim.nowMs - backAt;
    expect(since).toBeGreaterThanOrEqual(DEFAULT_ORCHESTRATOR_OPTIONS.registryWarmupMs + failoverGraceMs + readyPeriodMs);
    expect(sim.startsSince(at)).toHaveLength(1);
  });

  it('does nothing when the registry restarts with an empty table', () => {
    const sim = settled();
    const at = sim.nowMs;
    sim.registryRestart();
    sim.runFor(60_000);
    expect(sim.startsSince(at)).toEqual([]);
    expect(sim.commands.filter((c) => c.atMs >= at && c.type === 'stop')).toEqual([]);
    expect(sim.runningOn('agg')).toEqual(['h1']);
  });

  it('keeps the instances of a frozen node and takes no action there', () => {
    const sim = settled();
    sim.orchestrator('h1').freezeNode();
    sim.runFor(3000);
    sim.orchestrator('h2').setExpect('agg', 'stopped');
    sim.runFor(20_000);
    expect(sim.runningOn('agg')).toEqual(['h1']); // h1 is frozen: no stop
    expect(sim.orchestrator('h3').view().services['agg']!.global_expect).toBe('stopped');
    sim.orchestrator('h1').thawNode();
    sim.runFor(3000);
    expect(sim.runningOn('agg')).toEqual([]);
  });

  it('never places on a frozen node, and fails its instances over when it dies', () => {
    const sim = cluster();
    sim.orchestrator('h1').freezeNode();
    sim.runUntil(() => sim.runningOn('agg').length === 1, 30_000);
    sim.runFor(5000);
    expect(sim.runningOn('agg')).toEqual(['h2']);
    // a frozen holder that dies is failed over like any other
    sim.orchestrator('h2').freezeNode();
    sim.runFor(5000);
    sim.kill('h2');
    sim.runUntil(() => sim.runningOn('agg').length === 1, 60_000);
    expect(sim.runningOn('agg')).toEqual(['h3']); // h1 is still frozen
    expect(sim.starts).toHaveLength(2);
  });

  it('does not fail a frozen service over, and does once it is thawed', () => {
    const sim = settled();
    const at = sim.nowMs;
    sim.orchestrator('h3').setExpect('agg', 'frozen');
    sim.runFor(3000);
    expect(sim.commands.filter((c) => c.type === 'freeze').map((c) => c.host).sort()).toEqual(HOSTS);
    sim.kill('h1');
    sim.runFor(60_000);
    expect(sim.startsSince(at)).toEqual([]);
    expect(sim.orchestrator('h2').view().services['agg']!.global_expect).toBe('frozen');
    sim.orchestrator('h3').setExpect('agg', 'thawed');
    sim.runUntil(() => sim.runningOn('agg').length === 1, 30_000);
    expect(sim.runningOn('agg')).toEqual(['h2']);
    expect(sim.commands.filter((c) => c.type === 'thaw').map((c) => c.host).sort()).toEqual(['h2', 'h3']);
    expect(sim.startsSince(at)).toHaveLength(1);
  });

  it('leaves a service frozen on one host alone there, while the others still fail it over', () => {
    const sim = settled();
    sim.orchestrator('h1').freezeService('agg');
    sim.orchestrator('h2').freezeService('agg');
    sim.runFor(3000);
    expect(sim.orchestrator('h3').view().services['agg']!.ranking).toEqual(['h3']);
    sim.kill('h1');
    sim.runUntil(() => sim.runningOn('agg').length === 1, 60_000);
    expect(sim.runningOn('agg')).toEqual(['h3']);
  });

  it('relocates break-before-make: never two instances at once', () => {
    const sim = settled();
    const at = sim.nowMs;
    sim.orchestrator('h2').relocate('agg', 'h3');
    expect(sim.orchestrator('h2').view().services['agg']!.move).toEqual({ to: 'h3' });
    sim.runUntil(() => sim.runningOn('agg').includes('h3'), 30_000);
    expect(sim.runningOn('agg')).toEqual(['h3']);
    sim.runFor(20_000);
    expect(sim.runningOn('agg')).toEqual(['h3']);
    expect(sim.startsSince(at)).toEqual([expect.objectContaining({ host: 'h3' })]);
    expect(sim.commands.filter((c) => c.atMs >= at && c.type === 'stop')).toEqual([expect.objectContaining({ host: 'h1', reason: 'relocate to h3' })]);
    for (const host of HOSTS) expect(sim.orchestrator(host).view().services['agg']!.move).toBeNull();
    expect(sim.excess).toEqual([]);
    expect(() => sim.orchestrator('h1').relocate('agg', 'h9')).toThrow(InvalidParamsError);
  });

  it('gives the service back to the best-ranked host on placed, and not before', () => {
    const sim = settled();
    sim.kill('h1');
    sim.runUntil(() => sim.runningOn('agg').length === 1, 60_000);
    sim.restart('h1');
    sim.runFor(30_000);
    expect(sim.runningOn('agg')).toEqual(['h2']); // started: no automatic failback
    const at = sim.nowMs;
    sim.orchestrator('h3').setExpect('agg', 'placed');
    sim.runUntil(() => sim.runningOn('agg').includes('h1'), 30_000);
    sim.runFor(20_000);
    expect(sim.runningOn('agg')).toEqual(['h1']);
    expect(sim.startsSince(at)).toEqual([expect.objectContaining({ host: 'h1' })]);
    expect(sim.excess).toEqual([]);
    expect(sim.orchestrator('h2').view().services['agg']!.global_expect).toBe('started');
  });

  it('stops a service everywhere on set_expect stopped, and starts it again on started', () => {
    const flex: ServiceDeclaration = { instances: 2, hosts: HOSTS, placement: 'spread', globalExpect: 'started' };
    const sim = settled({ services: { agg: AGG, flex } });
    expect(sim.liveProcesses('flex')).toHaveLength(2);
    sim.orchestrator('h3').setExpect('agg', 'stopped');
    sim.orchestrator('h3').setExpect('flex', 'stopped');
    sim.runFor(5000);
    expect(sim.liveProcesses('agg')).toEqual([]);
    expect(sim.liveProcesses('flex')).toEqual([]);
    sim.runFor(30_000);
    expect(sim.liveProcesses('agg')).toEqual([]);
    sim.orchestrator('h1').setExpect('flex', 'started');
    sim.runUntil(() => sim.runningOn('flex').length === 2, 30_000);
    expect(sim.liveProcesses('agg')).toEqual([]);
    expect(sim.excess).toEqual([]);
  });

  it('blocks a host whose start failed until clear', () => {
    const sim = cluster();
    sim.host('h1').supervisor.failingStarts.add('agg');
    sim.runUntil(() => sim.runningOn('agg').length === 1, 60_000);
    expect(sim.runningOn('agg')).toEqual(['h2']);
    const view = sim.orchestrator('h3').view().services['agg']!;
    expect(view.blocked).toEqual(['h1']);
    expect(sim.orchestrator('h1').view().services['agg']!.local['agg']!.monitor).toBe('start_failed');
    // the next failover skips h1
    sim.kill('h2');
    sim.runUntil(() => sim.runningOn('agg').length === 1, 60_000);
    expect(sim.runningOn('agg')).toEqual(['h3']);
    // a clear asked on h3 reaches h1 through the feed
    sim.host('h1').supervisor.failingStarts.clear();
    sim.orchestrator('h3').clear('agg', 'h1');
    sim.runFor(5000);
    expect(sim.orchestrator('h3').view().services['agg']!.blocked).toEqual([]);
    sim.kill('h3');
    sim.runUntil(() => sim.runningOn('agg').length === 1, 60_000);
    expect(sim.runningOn('agg')).toEqual(['h1']);
  });

  it('releases a service that crashes on its holder to the next host', () => {
    const sim = settled();
    const at = sim.nowMs;
    sim.host('h1').supervisor.crash('agg');
    const took = sim.runUntil(() => sim.runningOn('agg').length === 1, 30_000);
    expect(took!).toBeLessThanOrEqual(readyPeriodMs + START_MS + 2500);
    expect(sim.runningOn('agg')).toEqual(['h2']);
    expect(sim.startsSince(at)).toHaveLength(1);
  });

  it('does not fail over while maintenance_until is announced', () => {
    const sim = settled();
    const at = sim.nowMs;
    sim.orchestrator('h1').beginMaintenance(40_000);
    sim.runFor(500);
    sim.killAgent('h1'); // a HostManager upgrade: the instance keeps running
    sim.runFor(35_000);
    expect(sim.startsSince(at)).toEqual([]);
    sim.restart('h1');
    sim.runFor(30_000);
    expect(sim.runningOn('agg')).toEqual(['h1']);
    expect(sim.startsSince(at)).toEqual([]);
    expect(sim.excess).toEqual([]);
  });

  it('fails over once the maintenance window ends without the host coming back', () => {
    const sim = settled();
    const at = sim.nowMs;
    sim.orchestrator('h1').beginMaintenance(20_000);
    sim.runFor(500);
    sim.kill('h1');
    sim.runFor(19_000);
    expect(sim.startsSince(at)).toEqual([]);
    sim.runUntil(() => sim.runningOn('agg').length === 1, 30_000);
    expect(sim.runningOn('agg')).toEqual(['h2']);
  });

  it('does not fail over an agent stopped with SIGSTOP on a live host', () => {
    const sim = settled();
    const at = sim.nowMs;
    sim.host('h1').supervisor.suspend('agg');
    sim.runFor(60_000);
    expect(sim.liveProcesses('agg')).toEqual([{ host: 'h1', instanceId: 'agg', state: 'SUSPENDED' }]);
    expect(sim.startsSince(at)).toEqual([]);
  });

  it('fails over at once when an operator stops the instance on its host', () => {
    const sim = settled();
    const at = sim.nowMs;
    sim.orchestrator('h1').setLocalExpect('agg', 'stopped');
    sim.host('h1').supervisor.stop('agg');
    const took = sim.runUntil(() => sim.runningOn('agg').length === 1, 30_000);
    expect(took!).toBeLessThanOrEqual(readyPeriodMs + START_MS + 2500);
    expect(sim.runningOn('agg')).toEqual(['h2']);
    expect(sim.orchestrator('h3').view().services['agg']!.blocked).toEqual(['h1']);
    sim.orchestrator('h1').setLocalExpect('agg', null);
    sim.runFor(20_000);
    expect(sim.runningOn('agg')).toEqual(['h2']);
    expect(sim.startsSince(at)).toHaveLength(1);
  });

  it('spreads the instances of a flex service over distinct hosts and fails each over', () => {
    const hosts = ['h1', 'h2', 'h3', 'h4'];
    const flex: ServiceDeclaration = { instances: 2, hosts, placement: 'spread', globalExpect: 'started' };
    const sim = settled({ hosts, services: { flex } });
    const order = rankHosts({ service: 'flex', hosts, placement: 'spread' });
    const processes = sim.liveProcesses('flex');
    expect(processes.map((p) => p.host).sort()).toEqual(order.slice(0, 2).sort());
    expect(processes.map((p) => p.instanceId).sort()).toEqual(['flex-1', 'flex-2']);
    const at = sim.nowMs;
    sim.kill(order[0]!);
    sim.runUntil(() => sim.runningOn('flex').length === 2, 60_000);
    expect(sim.runningOn('flex')).toEqual([order[1]!, order[2]!].sort());
    expect(sim.startsSince(at)).toHaveLength(1);
    expect(sim.excess).toEqual([]);
  });

  it('keeps its epochs across a restart', () => {
    const sim = settled();
    sim.kill('h1');
    sim.runUntil(() => sim.runningOn('agg').length === 1, 60_000);
    sim.killAgent('h2');
    sim.restart('h2');
    expect(sim.orchestrator('h2').snapshot().claims['agg']).toMatchObject({ epoch: 2 });
    sim.runFor(20_000);
    expect(sim.runningOn('agg')).toEqual(['h2']);
    expect(sim.orchestrator('h2').restore({ version: 1, node: 'h1' }).ok).toBe(false);
  });

  it('hands its instances over at once when its HostManager shuts down with stop', () => {
    const sim = settled();
    const at = sim.nowMs;
    sim.shutdown('h1', 'stop');
    sim.runUntil(() => sim.liveProcesses('agg').length === 0, 5000);
    sim.runFor(1000); // the last placement message, with the instance stopped
    sim.killAgent('h1');
    const took = sim.runUntil(() => sim.runningOn('agg').length === 1, 30_000);
    expect(took!).toBeLessThan(failoverGraceMs + readyPeriodMs);
    expect(sim.runningOn('agg')).toEqual(['h2']);
    expect(sim.startsSince(at)).toHaveLength(1);
    expect(sim.excess).toEqual([]);
  });

  it('keeps the instances where they are when its HostManager shuts down with disown', () => {
    const sim = settled();
    const at = sim.nowMs;
    sim.shutdown('h1', 'disown');
    sim.runFor(500);
    sim.killAgent('h1');
    sim.runFor(DEFAULT_ORCHESTRATOR_OPTIONS.maintenanceMs - 10_000);
    expect(sim.startsSince(at)).toEqual([]);
    expect(sim.runningOn('agg')).toEqual(['h1']);
  });

  it('places nothing while a host has different placement settings for the service', () => {
    const sim = cluster({ servicesByHost: { h3: { agg: { ...AGG, hosts: ['h3', 'h2', 'h1'] } } }, logger: recordingLogger() });
    sim.runFor(30_000);
    expect(sim.starts).toEqual([]);
    expect(sim.orchestrator('h1').view().services['agg']!.config_drift).toEqual(['h3']);
    expect(sim.orchestrator('h3').view().services['agg']!.config_drift).toEqual(['h2', 'h1']);
    sim.kill('h3');
    sim.runUntil(() => sim.runningOn('agg').length === 1, 30_000);
    expect(sim.runningOn('agg')).toEqual(['h1']);
  });

  it('drops junk, its own echo, and late messages', () => {
    const logger = recordingLogger();
    const sim = cluster({ logger });
    sim.runFor(3000);
    const orch = sim.orchestrator('h1');
    expect(orch.onPlacement({ node: 'h2', seq: 'x' })).toBe(false);
    expect(orch.onPlacement({ hello: 1 })).toBe(false);
    expect(logger.at('warn').filter((e) => e.msg === 'placement message dropped')).toHaveLength(1);
    const message = { node: 'h1', incarnation: 1, seq: 1, time: 0, config_hash: '', frozen: false, maintenance_until: null, load1: null, services: {} };
    expect(orch.onPlacement(message)).toBe(false); // our own name
    const late = { ...message, node: 'h2', seq: 1 };
    expect(orch.onPlacement(late)).toBe(false); // h2's incarnation 1 has published further than seq 1 by now
    const restarted = { ...late, incarnation: 2 };
    expect(orch.onPlacement(restarted)).toBe(true); // a new incarnation starts its seq again
    expect(orch.onPlacement(restarted)).toBe(false); // a repeat
    expect(orch.onPlacement({ ...message, node: 'h7' })).toBe(false); // not a host of any service
  });

  it('refuses unknown services and values in its ops', () => {
    const sim = cluster();
    const orch = sim.orchestrator('h1');
    expect(() => orch.setExpect('nope', 'started')).toThrow(InvalidParamsError);
    expect(() => orch.setExpect('agg', 'sideways' as never)).toThrow(InvalidParamsError);
    expect(() => orch.clear('agg', 'h9')).toThrow(InvalidParamsError);
    expect(() => orch.setLocalExpect('nope', 'stopped')).toThrow(InvalidParamsError);
  });
});
