/**
 * A deterministic simulation of a cluster of HostManagers for the orchestrator tests: N
 * Orchestrator instances on one discrete-event clock, wired through an in-memory network
 * (placement messages with a seeded random delay, partitions), a fake Registry (1 s heartbeats,
 * 5 s expiry checked every second, restart with an empty table, its own clock skew) and fake
 * local supervisors whose starts and stops take a configurable time. Each host has its own clock
 * offset, so any comparison of a remote time with the local clock would show.
 */
import { seededRandom } from '../../helpers/random.js';
import type { Clock, TimerHandle } from '../../../lib/clock.js';
import { silentLogger, type Logger } from '../../../lib/log.js';
import { Orchestrator } from '../../../lib/orchestrator/orchestrator.js';
import type { OrchestratorCommand, OrchestratorOptions, ServiceDeclaration, TickResult } from '../../../lib/orchestrator/orchestrator-types.js';
import type { PlacementMessage } from '../../../lib/orchestrator/placement-message.js';
import { REGISTRY_UNAVAILABLE } from '../../../lib/orchestrator/registry-view.js';
import { serviceInstanceIds } from '../../../lib/site-config/services.js';
import { CHILD_STATES, type ChildState } from '../../../lib/supervisor/child-record.js';

const SIM_EPOCH_MS = 1_700_000_000_000;

interface Timer {
  id: number;
  atMs: number;
  fn: () => void;
  intervalMs: number | null;
}

/** A discrete-event clock: timers run in time order (then creation order) as time advances. */
export class SimClock implements Clock {
  private now = SIM_EPOCH_MS;
  private nextId = 1;
  private timers: Timer[] = [];

  nowMs(): number {
    return this.now;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    return this.add(fn, delayMs, null);
  }

  setInterval(fn: () => void, intervalMs: number): TimerHandle {
    return this.add(fn, intervalMs, intervalMs);
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle === undefined) return;
    const id = (handle as { id: number }).id;
    this.timers = this.timers.filter((t) => t.id !== id);
  }

  clearInterval(handle: TimerHandle | undefined): void {
    this.clearTimeout(handle);
  }

  /** Runs every timer due up to now + ms, in order. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      const next = this.timers[0];
      if (next === undefined || next.atMs > target) break;
      this.timers.shift();
      this.now = Math.max(this.now, next.atMs);
      if (next.intervalMs !== null) this.insert({ ...next, atMs: next.atMs + next.intervalMs });
      next.fn();
    }
    this.now = target;
  }

  private add(fn: () => void, delayMs: number, intervalMs: number | null): TimerHandle {
    const timer: Timer = { id: this.nextId++, atMs: this.now + Math.max(0, delayMs), fn, intervalMs };
    this.insert(timer);
    return { id: timer.id } as TimerHandle;
  }

  private insert(timer: Timer): void {
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.atMs > timer.atMs) i--;
    this.timers.splice(i, 0, timer);
  }
}

/** A host's view of time: the shared clock plus a fixed offset (clock skew); timers are shared. */
class OffsetClock implements Clock {
  constructor(
    private readonly base: SimClock,
    private readonly offsetMs: number,
  ) {}
  nowMs(): number {
    return this.base.nowMs() + this.offsetMs;
  }
  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    return this.base.setTimeout(fn, delayMs);
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    this.base.clearTimeout(handle);
  }
  setInterval(fn: () => void, intervalMs: number): TimerHandle {
    return this.base.setInterval(fn, intervalMs);
  }
  clearInterval(handle: TimerHandle | undefined): void {
    this.base.clearInterval(handle);
  }
}


const LIVE_PROCESS_STATES: ReadonlySet<ChildState> = new Set([CHILD_STATES.STARTING, CHILD_STATES.RUNNING, CHILD_STATES.SUSPENDED, CHILD_STATES.STOPPING]);

/** A host's supervisor, reduced to what the orchestrator sees: states that change after a delay. */
export class FakeSupervisor {
  readonly states = new Map<string, ChildState>();
  private readonly timers = new Map<string, TimerHandle>();
  /** Instance-ids whose next start ends in CRASHED. */
  readonly failingStarts = new Set<string>();

  constructor(
    private readonly clock: Clock,
    private readonly timing: { startMs: number; stopMs: number },
    private readonly onChange: (id: string, state: ChildState | null) => void,
  ) {}

  start(id: string): void {
    const state = this.states.get(id);
    if (state !== undefined && LIVE_PROCESS_STATES.has(state)) return;
    this.set(id, CHILD_STATES.STARTING);
    this.after(id, this.timing.startMs, () => this.set(id, this.failingStarts.has(id) ? CHILD_STATES.CRASHED : CHILD_STATES.RUNNING));
  }

  stop(id: string): void {
    const state = this.states.get(id);
    if (state === undefined || !LIVE_PROCESS_STATES.has(state) || state === CHILD_STATES.STOPPING) return;
    this.set(id, CHILD_STATES.STOPPING);
    this.after(id, this.timing.stopMs, () => this.set(id, CHILD_STATES.STOPPED));
  }

  /** SIGSTOP from outside. */
  suspend(id: string): void {
    if (this.states.get(id) === CHILD_STATES.RUNNING) this.set(id, CHILD_STATES.SUSPENDED);
  }

  /** The budget is spent: the child ends CRASHED. */
  crash(id: string): void {
    this.clock.clearTimeout(this.timers.get(id));
    this.set(id, CHILD_STATES.CRASHED);
  }

  /** The host went down: every process is gone, nothing is reported (nobody listens). */
  loseAll(): void {
    for (const handle of this.timers.values()) this.clock.clearTimeout(handle);
    this.timers.clear();
    this.states.clear();
  }

  isLive(id: string): boolean {
    const state = this.states.get(id);
    return state !== undefined && LIVE_PROCESS_STATES.has(state);
  }

  private after(id: string, delayMs: number, fn: () => void): void {
    this.clock.clearTimeout(this.timers.get(id));
    this.timers.set(
      id,
      this.clock.setTimeout(() => {
        this.timers.delete(id);
        fn();
      }, delayMs),
    );
  }

  private set(id: string, state: ChildState): void {
    this.states.set(id, state);
    this.onChange(id, state);
  }
}

export interface SimOptions {
  hosts: string[];
  services: Record<string, ServiceDeclaration>;
  /** A host whose site file differs (config drift). */
  servicesByHost?: Record<string, Record<string, ServiceDeclaration>>;
  seed?: number;
  /** Placement message delivery delay, uniform in [min, max]. */
  delayMs?: [number, number];
  startMs?: number;
  stopMs?: number;
  tickMs?: number;
  orchestrator?: Partial<OrchestratorOptions>;
  /** Per-host clock offsets (skew), ms. */
  offsetsMs?: Record<string, number>;
  registrySkewMs?: number;
  /** How long the registry has been up when the simulation starts (default 1 h). */
  registryAgeMs?: number;
  logger?: Logger;
}

interface SimHost {
  name: string;
  clock: OffsetClock;
  isUp: boolean;
  /** The HostManager runs (heartbeats, feed, ticks). */
  isAgentUp: boolean;
  orchestrator: Orchestrator | null;
  supervisor: FakeSupervisor;
  snapshot: unknown;
  timers: TimerHandle[];
  incarnation: number;
}

export interface StartRecord {
  atMs: number;
  host: string;
  instanceId: string;
  reason: string;
}

export interface ExcessInterval {
  service: string;
  fromMs: number;
  toMs: number | null;
  count: number;
}

const HEARTBEAT_MS = 1000;
const REGISTRY_EXPIRY_MS = 5000;
const REGISTRY_CHECK_MS = 1000;
const REGISTRY_POLL_MS = 1000;

export class ClusterSim {
  readonly clock = new SimClock();
  readonly hosts = new Map<string, SimHost>();
  readonly starts: StartRecord[] = [];
  readonly commands: (OrchestratorCommand & { host: string; atMs: number })[] = [];
  readonly excess: ExcessInterval[] = [];
  /** Services → the instance-ids. */
  readonly slots: Record<string, string[]> = {};
  private readonly random: () => number;
  private readonly delayMs: [number, number];
  private readonly tickMs: number;
  private readonly logger: Logger;
  private groups: string[][] | null = null;
  private isRegistryEverywhere = false;
  private readonly lostPolls = new Map<string, number>();
  private readonly registry = {
    isUp: true,
    startedAtMs: 0,
    table: new Map<string, { lastMs: number; isExpired: boolean }>(),
  };
  private readonly registrySkewMs: number;
  private readonly openExcess = new Map<string, ExcessInterval>();

  constructor(readonly options: SimOptions) {
    this.random = seededRandom(options.seed ?? 1);
    this.delayMs = options.delayMs ?? [20, 200];
    this.tickMs = options.tickMs ?? 200;
    this.logger = options.logger ?? silentLogger();
    this.registrySkewMs = options.registrySkewMs ?? 90_000;
    for (const [name, decl] of Object.entries(options.services)) this.slots[name] = serviceInstanceIds(name, decl.instances);
    this.registry.startedAtMs = this.registryNowMs() - (options.registryAgeMs ?? 3_600_000);
    this.clock.setInterval(() => this.checkRegistryExpiry(), REGISTRY_CHECK_MS);
    for (const name of options.hosts) {
      const clock = new OffsetClock(this.clock, options.offsetsMs?.[name] ?? 0);
      const host: SimHost = {
        name,
        clock,
        isUp: false,
        isAgentUp: false,
        orchestrator: null,
        supervisor: new FakeSupervisor(clock, { startMs: options.startMs ?? 1500, stopMs: options.stopMs ?? 500 }, (id, state) => this.onChildChange(host, id, state)),
        snapshot: undefined,
        timers: [],
        incarnation: 0,
      };
      this.hosts.set(name, host);
    }
    for (const name of options.hosts) this.boot(name);
  }

  static address(host: string): string {
    return `obs.hm-${host}`;
  }

  host(name: string): SimHost {
    const host = this.hosts.get(name);
    if (host === undefined) throw new Error(`no host ${name}`);
    return host;
  }

  orchestrator(name: string): Orchestrator {
    const orch = this.host(name).orchestrator;
    if (orch === null) throw new Error(`${name} is down`);
    return orch;
  }

  // ---- time

  runFor(ms: number): void {
    this.clock.advance(ms);
  }

  /** Advances in steps until `predicate` holds; returns the elapsed ms, or null if it never did within maxMs. */
  runUntil(predicate: () => boolean, maxMs: number, stepMs = 50): number | null {
    const start = this.clock.nowMs();
    while (this.clock.nowMs() - start <= maxMs) {
      if (predicate()) return this.clock.nowMs() - start;
      this.clock.advance(stepMs);
    }
    return null;
  }

  get nowMs(): number {
    return this.clock.nowMs();
  }

  // ---- hosts

  /** Starts a host's HostManager (restoring its snapshot). `keep` keeps the supervisor's children (they survived). */
  boot(name: string): void {
    const host = this.host(name);
    host.isUp = true;
    host.isAgentUp = true;
    host.incarnation += 1;
    const orch = new Orchestrator({
      node: name,
      services: this.options.servicesByHost?.[name] ?? this.options.services,
      clock: host.clock,
      logger: this.logger.child({ host: name }),
      supervisorAddress: ClusterSim.address,
      incarnation: host.incarnation,
      options: this.options.orchestrator,
    });
    if (host.snapshot !== undefined) {
      const restored = orch.restore(host.snapshot);
      if (!restored.ok) throw new Error(`restore failed on ${name}: ${restored.error}`);
    }
    host.orchestrator = orch;
    const states: Record<string, ChildState | null> = {};
    for (const ids of Object.values(this.slots)) for (const id of ids) states[id] = host.supervisor.states.get(id) ?? null;
    orch.onLocalState(states);
    const phase = Math.floor(this.random() * 1000);
    host.timers.push(
      this.clock.setInterval(() => this.heartbeat(host), HEARTBEAT_MS),
      this.clock.setInterval(() => this.pollRegistry(host), REGISTRY_POLL_MS + (phase % 7)),
      this.clock.setInterval(() => this.tick(host), this.tickMs),
    );
    this.heartbeat(host);
    this.pollRegistry(host);
  }

  /** The host dies (power off): the HostManager and every process on it are gone. */
  kill(name: string): void {
    this.stopAgent(name);
    const host = this.host(name);
    host.isUp = false;
    host.supervisor.loseAll();
    this.recount();
  }

  /** Only the HostManager dies (SIGKILL); its children keep running (they survive it). */
  killAgent(name: string): void {
    this.stopAgent(name);
  }

  /** Brings a killed host (or agent) back. */
  restart(name: string): void {
    const host = this.host(name);
    if (host.isAgentUp) return;
    this.boot(name);
  }

  private stopAgent(name: string): void {
    const host = this.host(name);
    for (const t of host.timers) this.clock.clearInterval(t);
    host.timers = [];
    host.orchestrator?.close();
    host.orchestrator = null;
    host.isAgentUp = false;
  }

  // ---- network and registry

  /**
   * Splits the hosts: placement messages cross no group boundary. The registry is reachable from
   * the first group only, or from every group with `isRegistryEverywhere` (a feed-only split).
   */
  partition(groups: string[][], options: { isRegistryEverywhere?: boolean } = {}): void {
    this.groups = groups;
    this.isRegistryEverywhere = options.isRegistryEverywhere ?? false;
  }

  heal(): void {
    this.groups = null;
  }

  /** The next `count` registry polls of `host` get no answer. */
  losePolls(host: string, count: number): void {
    this.lostPolls.set(host, (this.lostPolls.get(host) ?? 0) + count);
  }

  registryDown(): void {
    this.registry.isUp = false;
  }

  /** The registry comes back (restarted: empty table, new start time). */
  registryRestart(): void {
    this.registry.isUp = true;
    this.registry.table.clear();
    this.registry.startedAtMs = this.registryNowMs();
  }

  private registryNowMs(): number {
    return this.clock.nowMs() + this.registrySkewMs;
  }

  private canTalk(a: string, b: string): boolean {
    if (this.groups === null) return true;
    return this.groups.some((g) => g.includes(a) && g.includes(b));
  }

  private reachesRegistry(host: string): boolean {
    return this.registry.isUp && (this.groups === null || this.isRegistryEverywhere || (this.groups[0] ?? []).includes(host));
  }

  private heartbeat(host: SimHost): void {
    if (!host.isAgentUp || !this.reachesRegistry(host.name)) return;
    this.registry.table.set(ClusterSim.address(host.name), { lastMs: this.registryNowMs(), isExpired: false });
  }

  private checkRegistryExpiry(): void {
    if (!this.registry.isUp) return;
    for (const rec of this.registry.table.values()) {
      if (!rec.isExpired && this.registryNowMs() - rec.lastMs > REGISTRY_EXPIRY_MS) rec.isExpired = true;
    }
  }

  private pollRegistry(host: SimHost): void {
    const orch = host.orchestrator;
    if (orch === null) return;
    const lost = this.lostPolls.get(host.name) ?? 0;
    if (lost > 0) this.lostPolls.set(host.name, lost - 1);
    if (lost > 0 || !this.reachesRegistry(host.name)) {
      orch.onRegistryView(REGISTRY_UNAVAILABLE);
      return;
    }
    const agents: Record<string, { expired: boolean; op_codes: Record<string, number>; last_updated: number }> = {};
    for (const [address, rec] of this.registry.table) {
      agents[address] = { expired: rec.isExpired, op_codes: { manager: rec.isExpired ? 7 : 3 }, last_updated: rec.lastMs / 1000 };
    }
    orch.onRegistryView({ isAvailable: true, registryStartedAtS: this.registry.startedAtMs / 1000, registryTimeS: this.registryNowMs() / 1000, agents });
  }

  private tick(host: SimHost): void {
    const orch = host.orchestrator;
    if (orch === null) return;
    this.apply(host, orch.tick());
  }

  /** The HostManager's orderly shutdown (its agent keeps running until `killAgent`). */
  shutdown(name: string, mode: 'stop' | 'disown'): void {
    const host = this.host(name);
    this.apply(host, this.orchestrator(name).shutdown(mode));
  }

  private apply(host: SimHost, result: TickResult): void {
    if (result.snapshot !== null) host.snapshot = JSON.parse(JSON.stringify(result.snapshot));
    for (const command of result.commands) this.execute(host, command);
    if (result.placement !== null) this.broadcast(host.name, result.placement);
  }

  private execute(host: SimHost, command: OrchestratorCommand): void {
    this.commands.push({ ...command, host: host.name, atMs: this.clock.nowMs() });
    if (command.type === 'start') {
      this.starts.push({ atMs: this.clock.nowMs(), host: host.name, instanceId: command.instanceId, reason: command.reason });
      host.supervisor.start(command.instanceId);
    } else if (command.type === 'stop') {
      host.supervisor.stop(command.instanceId);
    }
  }

  private broadcast(from: string, message: PlacementMessage): void {
    const wire = JSON.parse(JSON.stringify(message)) as unknown;
    for (const to of this.hosts.values()) {
      if (to.name === from || !this.canTalk(from, to.name)) continue;
      const [min, max] = this.delayMs;
      const delay = min + this.random() * (max - min);
      this.clock.setTimeout(() => {
        if (to.orchestrator === null || !this.canTalk(from, to.name)) return;
        to.orchestrator.onPlacement(wire, to.clock.nowMs());
      }, delay);
    }
  }

  // ---- observations

  private onChildChange(host: SimHost, id: string, state: ChildState | null): void {
    host.orchestrator?.onLocalState({ [id]: state });
    this.recount();
  }

  /** Hosts with a live process of each instance of `service`. */
  liveProcesses(service: string): { host: string; instanceId: string; state: ChildState }[] {
    const out: { host: string; instanceId: string; state: ChildState }[] = [];
    for (const host of this.hosts.values()) {
      if (!host.isUp) continue;
      for (const id of this.slots[service] ?? []) {
        const state = host.supervisor.states.get(id);
        if (state !== undefined && host.supervisor.isLive(id)) out.push({ host: host.name, instanceId: id, state });
      }
    }
    return out;
  }

  /** Hosts running (RUNNING or SUSPENDED) `service`, sorted. */
  runningOn(service: string): string[] {
    return this.liveProcesses(service)
      .filter((p) => p.state === CHILD_STATES.RUNNING || p.state === CHILD_STATES.SUSPENDED)
      .map((p) => p.host)
      .sort();
  }

  startsSince(atMs: number, service?: string): StartRecord[] {
    return this.starts.filter((s) => s.atMs >= atMs && (service === undefined || (this.slots[service] ?? []).includes(s.instanceId)));
  }

  /** Records every interval during which a service has more live processes than instances (or an instance has two). */
  private recount(): void {
    const now = this.clock.nowMs();
    for (const [service, decl] of Object.entries(this.options.services)) {
      const live = this.liveProcesses(service);
      const perInstance = new Map<string, number>();
      for (const p of live) perInstance.set(p.instanceId, (perInstance.get(p.instanceId) ?? 0) + 1);
      const isExcess = live.length > decl.instances || [...perInstance.values()].some((n) => n > 1);
      const open = this.openExcess.get(service);
      if (isExcess && open === undefined) {
        const interval: ExcessInterval = { service, fromMs: now, toMs: null, count: live.length };
        this.excess.push(interval);
        this.openExcess.set(service, interval);
      } else if (isExcess && open !== undefined) {
        open.count = Math.max(open.count, live.length);
      } else if (!isExcess && open !== undefined) {
        open.toMs = now;
        this.openExcess.delete(service);
      }
    }
  }
}
