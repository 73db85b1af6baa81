import type { Clock, TimerHandle } from '../../../lib/clock.js';
import { Orchestrator, type ServiceDeclaration } from '../../../lib/orchestrator/index.js';
import type { PlacementMessage } from '../../../lib/orchestrator/placement-message.js';
import type { RegistryView } from '../../../lib/orchestrator/registry-view.js';
import { CHILD_STATES } from '../../../lib/supervisor/child-record.js';
import { LatencyRecorder, type LatencySummary } from './stats.js';

/**
 * The orchestrator's decision cost, without a router: `hosts` Orchestrator cores on one manual
 * clock, in a steady cluster (every HostManager RUNNING in the registry, every instance placed and
 * RUNNING). A round is what every host does each 250 ms: read the registry (once a second), take
 * the peers' placement messages, tick, and serve its `view()` (once a second). Local starts and
 * stops take effect at once. The figure is the CPU time of one host's share of a round.
 */
export interface RoundsInput {
  hosts: number;
  services: number;
  instancesPerService: number;
  hostsPerService: number;
  rounds: number;
}

export interface RoundsResult {
  /** One host's round (registry read, peers' messages, tick, view), ms. */
  perHostRoundMs: LatencySummary;
  meanPerHostRoundUs: number;
  ticks: number;
  messagesDelivered: number;
  runningInstances: number;
  durationS: number;
}

const ROUND_MS = 250;
const SETTLE_ROUNDS = 160;
const ROOT = 'bench';

class ManualClock implements Clock {
  now = 1_700_000_000_000;
  nowMs(): number {
    return this.now;
  }
  // The cores only start timers for their rate-limited warnings, which a steady cluster never logs.
  setTimeout(): TimerHandle {
    return {};
  }
  clearTimeout(): void {}
  setInterval(): TimerHandle {
    return {};
  }
  clearInterval(): void {}
}

export function runOrchestratorRounds(input: RoundsInput): RoundsResult {
  const clock = new ManualClock();
  const hosts = Array.from({ length: input.hosts }, (_, i) => `h${i}`);
  const services: Record<string, ServiceDeclaration> = {};
  for (let s = 0; s < input.services; s++) {
    const serviceHosts = Array.from({ length: input.hostsPerService }, (_, k) => hosts[(s + k) % hosts.length]!);
    services[`svc-${s}`] = { instances: input.instancesPerService, hosts: serviceHosts, placement: s % 2 === 0 ? 'nodes-order' : 'spread', globalExpect: 'started' };
  }
  const registryStartedAtS = clock.now / 1000;
  const cores = hosts.map(
    (node) => new Orchestrator({ node, services, clock, supervisorAddress: (n) => `${ROOT}.hm-${n}`, load1: () => 0.5 }),
  );
  const running = hosts.map(() => new Set<string>());
  let inbox: { from: number; message: PlacementMessage }[] = [];
  let messagesDelivered = 0;
  let measuredMs = 0;
  const registryView = (): RegistryView => {
    const agents: Record<string, RegistryView['agents'][string]> = {};
    for (const h of hosts) agents[`${ROOT}.hm-${h}`] = { expired: false, op_codes: { manager: 3 }, last_updated: clock.now / 1000 };
    return { isAvailable: true, registryStartedAtS, registryTimeS: clock.now / 1000, agents };
  };

  const round = (index: number, recorder: LatencyRecorder | null): void => {
    clock.now += ROUND_MS;
    const view = index % 4 === 0 ? registryView() : null;
    const delivered = inbox;
    inbox = [];
    cores.forEach((core, i) => {
      const t0 = process.hrtime.bigint();
      if (view !== null) core.onRegistryView(view);
      for (const m of delivered) {
        if (m.from !== i) core.onPlacement(m.message);
      }
      const result = core.tick();
      if (index % 4 === 0) core.view();
      const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
      if (recorder !== null) {
        recorder.add(elapsedMs);
        measuredMs += elapsedMs;
      }
      messagesDelivered += delivered.length - (delivered.some((m) => m.from === i) ? 1 : 0);
      const changes: Record<string, 'RUNNING' | null> = {};
      for (const c of result.commands) {
        if (c.type === 'start') {
          running[i]!.add(c.instanceId);
          changes[c.instanceId] = CHILD_STATES.RUNNING;
        } else if (c.type === 'stop') {
          running[i]!.delete(c.instanceId);
          changes[c.instanceId] = null;
        }
      }
      if (Object.keys(changes).length > 0) core.onLocalState(changes);
      if (result.placement !== null) inbox.push({ from: i, message: result.placement });
    });
  };

  for (let r = 0; r < SETTLE_ROUNDS; r++) round(r, null);
  const expected = input.services * input.instancesPerService;
  const runningInstances = running.reduce((n, set) => n + set.size, 0);
  if (runningInstances !== expected) throw new Error(`cluster did not settle: ${runningInstances} of ${expected} instances running`);

  const recorder = new LatencyRecorder();
  messagesDelivered = 0;
  const startedAt = performance.now();
  for (let r = 0; r < input.rounds; r++) round(SETTLE_ROUNDS + r, recorder);
  const durationS = (performance.now() - startedAt) / 1000;
  for (const core of cores) core.close();
  return {
    perHostRoundMs: recorder.summary(),
    // The mean, not only p50: the once-a-second registry read and view() are in a quarter of the rounds.
    meanPerHostRoundUs: (measuredMs * 1000) / recorder.count,
    ticks: recorder.count,
    messagesDelivered,
    runningInstances: running.reduce((n, set) => n + set.size, 0),
    durationS,
  };
}
