/**
 * The per-host orchestrator of cluster services (supervisor-design §3.8): the pure decision
 * core that keeps every service of the site file's `services:` block running on the right
 * number of hosts. Every HostManager runs one; they agree without talking to each other
 * directly, from the same inputs:
 *
 * - the Registry's table (`onRegistryView`, polled about once a second): is each host's
 *   HostManager heartbeating (not expired, `manager` op code RUNNING or DEGRADED)?
 * - every host's placement feed (`onPlacement`, see placement-message.ts): the state of its
 *   local instances, its claims (epochs), freezes, maintenance window and the cluster intents;
 * - the local supervisor's child states (`onLocalState`).
 *
 * `tick()` (call it about every 250 ms–1 s, and after any input) returns the commands for the
 * local supervisor and, when due, the placement message to publish. No I/O and no timers here:
 * time comes from the injected Clock, and only local receipt times are compared with it (remote
 * timestamps never are, whatever the clock skew between hosts).
 *
 * Definitions (every host computes the same from the same data; each acts only for itself):
 * - alive(n): the registry lists n's HostManager not expired with `manager` ∈ {3, 8}, and n's
 *   placement feed arrived less than `placementStaleMs` ago (local clock).
 * - dead(n): not alive for `failoverGraceMs` in a row (hysteresis against flapping heartbeats),
 *   and n's maintenance window (if it announced one) is over.
 * - holders(x): hosts not dead whose instance x is STARTING, RUNNING, SUSPENDED, STOPPING,
 *   BACKOFF or UNKNOWN, or whose monitor is `starting`. A SIGSTOPped agent (SUSPENDED) is held:
 *   its host is alive, so it is never failed over.
 * - eligible(n, s): alive, one of s's hosts, node not frozen, s not frozen on n, and no instance
 *   of s blocked on n (start_failed, stop_failed, local_stopped), n not shutting down.
 * - rank: `nodes-order` or `spread` (ranking.ts); a relocate puts its target first.
 *
 * Decision for service s on this host, each tick:
 * 1. Frozen (node, service here, or `global_expect` frozen): no action at all.
 * 2. `stopped`: stop the local instances (this also applies in blind mode: stopping never makes a
 *    duplicate).
 * 3. Hold: the registry polls failed for less than `registryToleranceMs` → liveness stays as last
 *    judged, claims wait, nothing starts or stops (a lost answer costs its own length, no more).
 *    Blind mode: the registry is unavailable past that, its view is stale, it started less than
 *    `registryWarmupMs` ago, or this orchestrator started less than `startupHoldMs` ago → no
 *    claim, no failover, no duplicate stop; instances keep running as they are. The grace periods
 *    start again when the view becomes trustworthy.
 * 4. Duplicates (after a partition heals): of the holders of an instance, the one with the
 *    highest (epoch, −rank) keeps it; a host that sees a better alive holder stops its own.
 * 5. Vacant instances go to eligible hosts, fewest instances of s first, then by rank. The chosen
 *    host claims (epoch = greatest seen + 1, monitor `ready`), publishes, and waits
 *    `readyPeriodMs`; it backs off if the instance gets a holder, if it is no longer the chosen
 *    one, or if a better-ranked host claims too. Then it starts (monitor `starting` → `idle` on
 *    RUNNING). A local CRASHED → `start_failed`: the host is out for s until `clear`.
 * 6. `placed` / `relocate`: break-before-make. When every instance is held and quiet and a target
 *    host is free, the worst-ranked holder outside the targets stops; step 5 then places the
 *    instance on the target. The move settles when the targets hold RUNNING instances (or is
 *    cancelled when the relocate target dies or is blocked).
 *
 * Expected failover time after a host dies:
 *   registry expiry (5–6 s) + registry poll (≤ 1 s) + failoverGraceMs (5 s) + readyPeriodMs (3 s)
 *   + the agent's start time ≈ 14–15 s + start time with the defaults.
 * (A host whose feed stops while its heartbeats continue is noticed after placementStaleMs
 * instead of the registry expiry.) Safety needs the placement feed's delivery delay to stay
 * well below readyPeriodMs.
 */
import type { Clock } from '../clock.js';
import { InvalidParamsError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { OpCode } from '../ops/op-codes.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import type { SiteServiceConfig } from '../site-config/schema.js';
import { GLOBAL_EXPECT, serviceInstanceIds } from '../site-config/services.js';
import { CHILD_STATES, type ChildState } from '../supervisor/child-record.js';
import {
  BLOCKING_MONITORS,
  MONITOR,
  parsePlacementMessage,
  type Monitor,
  type PlacementInstance,
  type PlacementMessage,
} from './placement-message.js';
import { ORCHESTRATOR_SNAPSHOT_VERSION, OrchestratorSnapshotSchema, PERSISTED_MONITORS, type OrchestratorSnapshot } from './orchestrator-snapshot.js';
import { fnv1a, rankHosts } from './ranking.js';
import type { RegistryView } from './registry-view.js';
import {
  RUNTIME_EXPECT,
  RUNTIME_EXPECT_VALUES,
  displayedExpect,
  initialIntent,
  isNewerIntent,
  requestIntent,
  type RuntimeExpect,
  type ServiceIntent,
} from './service-intent.js';

export interface OrchestratorOptions {
  /** A host must be not alive this long before its instances fail over. */
  failoverGraceMs: number;
  /** Between a claim and the start. Must exceed the placement feed's delivery delay. */
  readyPeriodMs: number;
  /** A registry younger than this is not trusted (its table is still filling). Longer than one expiry period. */
  registryWarmupMs: number;
  /** A host's placement feed older than this (local receipt time) makes it not alive. */
  placementStaleMs: number;
  /**
   * How long a run of failed registry polls (a lost answer, a call that timed out) only holds
   * the decisions: liveness stays as last judged, claims wait, nothing starts or stops. Past it:
   * blind, 'registry unavailable'. One failed poll therefore neither restarts the grace periods
   * nor withdraws a claim.
   */
  registryToleranceMs: number;
  /** Publish at least this often (and on every change). */
  publishIntervalMs: number;
  /** No cluster decisions in the first this-long of this orchestrator (the peers' feeds arrive). */
  startupHoldMs: number;
  /** A start that has not reached RUNNING after this long → start_failed. */
  startTimeoutMs: number;
  /** A stop whose process still lives after this long → stop_failed. */
  stopTimeoutMs: number;
  /** The default maintenance window announced by `beginMaintenance`. */
  maintenanceMs: number;
}

export const DEFAULT_ORCHESTRATOR_OPTIONS: Readonly<OrchestratorOptions> = Object.freeze({
  failoverGraceMs: 5000,
  readyPeriodMs: 3000,
  registryWarmupMs: 7000,
  placementStaleMs: 10_000,
  registryToleranceMs: 4500,
  publishIntervalMs: 2000,
  startupHoldMs: 4000,
  startTimeoutMs: 60_000,
  stopTimeoutMs: 60_000,
  maintenanceMs: 120_000,
});

/** What the orchestrator reads of a service declaration (a site-config `services:` entry fits). */
export type ServiceDeclaration = Pick<SiteServiceConfig, 'instances' | 'hosts' | 'placement' | 'globalExpect'>;

export interface OrchestratorConfig {
  /** This host's name, as listed under a service's `hosts`. */
  node: string;
  services: Readonly<Record<string, ServiceDeclaration>>;
  clock: Clock;
  logger?: Logger;
  /** The registry address of a host's HostManager, e.g. `(h) => \`${root}.hm-${h}\``. */
  supervisorAddress: (node: string) => string;
  /** The HostManager op whose code tells that a host is managing (default `manager`). */
  managerOpName?: string;
  /** This host's 1-minute load average, published for the view. */
  load1?: () => number | null;
  /** Tells this run's messages from a previous run's (default: the clock at construction). */
  incarnation?: number;
  options?: Partial<OrchestratorOptions>;
}

export const COMMAND_TYPES = ['start', 'stop', 'freeze', 'thaw'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

export interface OrchestratorCommand {
  type: CommandType;
  instanceId: string;
  service: string;
  reason: string;
}

export interface TickResult {
  commands: OrchestratorCommand[];
  /** The message to publish on the placement feed now, or null. */
  placement: PlacementMessage | null;
  /** The state to persist, when it changed since the last tick; else null. */
  snapshot: OrchestratorSnapshot | null;
}

export interface OrchestratorReply {
  ok: boolean;
  message: string;
}

export type OrchestratorRestoreResult = { ok: true } | { ok: false; error: string };

export interface FailoverRecord {
  instance_id: string;
  from: string;
  to: string;
  /** Local wall clock, unix seconds. */
  at: number;
  reason: string;
}

/** The orchestrator part of the HostManager's session data (design §3.5). */
export interface ClusterView {
  node: string;
  frozen: boolean;
  maintenance_until: number | null;
  registry: {
    healthy: boolean;
    blind: boolean;
    blind_reason: string | null;
    warm: boolean;
    agents_seen: number;
    polled_at: number | null;
    /** Since when the polls fail (local clock, unix seconds); decisions hold until blind. */
    failing_since: number | null;
  };
  nodes: Record<
    string,
    {
      alive: boolean;
      dead: boolean;
      frozen: boolean;
      maintenance_until: number | null;
      manager_op: number | null;
      load1: number | null;
      feed_age_s: number | null;
      not_alive_for_s: number | null;
    }
  >;
  services: Record<
    string,
    {
      global_expect: RuntimeExpect;
      expect: 'started' | 'stopped';
      frozen: boolean;
      move: { to: string | null } | null;
      placement: string;
      instances: number;
      nodes: string[];
      ranking: string[];
      holders: { instance_id: string; node: string; epoch: number; state: ChildState | null }[];
      local: Record<string, { monitor: Monitor; state: ChildState | null; epoch: number }>;
      blocked: string[];
      config_drift: string[];
      last_failover: FailoverRecord | null;
    }
  >;
}

/** Local states in which an instance has (or is about to have) a process: the host holds it. */
export const HELD_STATES: ReadonlySet<ChildState> = new Set([
  CHILD_STATES.STARTING,
  CHILD_STATES.RUNNING,
  CHILD_STATES.SUSPENDED,
  CHILD_STATES.STOPPING,
  CHILD_STATES.BACKOFF,
  CHILD_STATES.UNKNOWN,
]);
const QUIET_STATES: ReadonlySet<ChildState> = new Set([CHILD_STATES.RUNNING, CHILD_STATES.SUSPENDED]);
/** `manager` op codes of a host that is managing. */
const MANAGING_OP_CODES: ReadonlySet<number> = new Set([OpCode.RUNNING, OpCode.DEGRADED]);

interface PeerState {
  message: PlacementMessage | null;
  receivedAtMs: number | null;
  /** Local time at which the announced maintenance window ends. */
  maintenanceEndMs: number | null;
  notAliveSinceMs: number | null;
  isAlive: boolean;
  isDead: boolean;
}

interface LocalInstance {
  service: string;
  state: ChildState | null;
  isStateKnown: boolean;
  monitor: Monitor;
  monitorSinceMs: number;
  /** This host's claim epoch (0: never claimed). */
  epoch: number;
  claimAtMs: number | null;
  /** A start is in progress and the child was seen live since it was asked. */
  wasLiveSinceStart: boolean;
}

/** Per-tick view of one service. */
interface ServiceContext {
  service: string;
  decl: ServiceDeclaration;
  slots: string[];
  intent: ServiceIntent;
  nodes: string[];
  natural: string[];
  effective: string[];
  info: (node: string, slot: string) => PlacementInstance | null;
  holders: Map<string, string[]>;
  eligible: Set<string>;
  blocked: Set<string>;
}

function isHeld(info: PlacementInstance | null): boolean {
  if (info === null) return false;
  return (info.state !== null && HELD_STATES.has(info.state)) || info.monitor === MONITOR.STARTING;
}

function rankOf(order: readonly string[], node: string): number {
  const i = order.indexOf(node);
  return i < 0 ? order.length : i;
}

function hashHex(text: string): string {
  return fnv1a(text).toString(16).padStart(8, '0');
}

export class Orchestrator {
  readonly node: string;
  private readonly options: OrchestratorOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly drops: RateLimitedLog;
  private readonly driftWarner: RateLimitedLog;
  private readonly load1: () => number | null;
  private readonly supervisorAddress: (node: string) => string;
  private readonly services: Readonly<Record<string, ServiceDeclaration>>;
  private readonly slotsOf = new Map<string, string[]>();
  private readonly serviceOfSlot = new Map<string, string>();
  private readonly serviceHashes: Record<string, string> = {};
  private readonly configHash: string;
  private readonly knownNodes: Set<string>;
  private readonly managerOpName: string;
  private readonly incarnation: number;
  private readonly startedAtMs: number;

  private readonly peers = new Map<string, PeerState>();
  private readonly local = new Map<string, LocalInstance>();
  private readonly maxEpochs = new Map<string, number>();
  private readonly intents = new Map<string, ServiceIntent>();
  private readonly localFrozen = new Set<string>();
  private readonly frozenEmitted = new Map<string, boolean>();
  private readonly clears = new Map<string, Map<string, number>>();
  private readonly clearsHandled = new Map<string, number>();
  private readonly lastFailover = new Map<string, FailoverRecord>();
  private readonly lastHolder = new Map<string, string>();

  private isFrozen = false;
  private maintenanceUntilMs: number | null = null;
  private isShuttingDown = false;
  private registry: RegistryView | null = null;
  private registryReceivedAtMs: number | null = null;
  /** Since when the registry polls fail (null: the last one answered). */
  private registryFailingSinceMs: number | null = null;
  private registryStartSeen: { startedAtS: number; firstSeenAtMs: number } | null = null;
  private blindReason: string | null = 'starting';
  private seq = 0;
  private lastPublishedAtMs: number | null = null;
  private lastPublishedBody = '';
  private lastSnapshotJson = '';
  private pendingCommands: OrchestratorCommand[] = [];

  constructor(config: OrchestratorConfig) {
    this.node = config.node;
    this.clock = config.clock;
    this.logger = (config.logger ?? silentLogger()).child({ component: 'orchestrator', node: config.node });
    this.options = { ...DEFAULT_ORCHESTRATOR_OPTIONS, ...config.options };
    this.drops = new RateLimitedLog({ clock: this.clock, logger: this.logger, message: 'placement message dropped' });
    this.driftWarner = new RateLimitedLog({ clock: this.clock, logger: this.logger, message: 'placement settings differ between hosts; service not placed' });
    this.services = config.services;
    this.managerOpName = config.managerOpName ?? 'manager';
    this.startedAtMs = this.clock.nowMs();
    this.incarnation = config.incarnation ?? this.startedAtMs;
    this.load1 = config.load1 ?? (() => null);
    this.supervisorAddress = config.supervisorAddress;
    this.knownNodes = new Set([this.node]);
    for (const [name, decl] of Object.entries(this.services)) {
      const slots = serviceInstanceIds(name, decl.instances);
      this.slotsOf.set(name, slots);
      for (const slot of slots) {
        this.serviceOfSlot.set(slot, name);
        this.local.set(slot, {
          service: name,
          state: null,
          isStateKnown: false,
          monitor: MONITOR.IDLE,
          monitorSinceMs: this.startedAtMs,
          epoch: 0,
          claimAtMs: null,
          wasLiveSinceStart: false,
        });
      }
      for (const host of decl.hosts) this.knownNodes.add(host);
      this.intents.set(name, initialIntent(decl.globalExpect));
      this.serviceHashes[name] = hashHex(JSON.stringify({ hosts: decl.hosts, placement: decl.placement, instances: decl.instances }));
    }
    this.configHash = hashHex(
      Object.keys(this.serviceHashes)
        .sort()
        .map((name) => `${name}=${this.serviceHashes[name]}`)
        .join(';'),
    );
    for (const node of this.knownNodes) {
      if (node !== this.node) {
        this.peers.set(node, { message: null, receivedAtMs: null, maintenanceEndMs: null, notAliveSinceMs: null, isAlive: false, isDead: false });
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // inputs

  /** A placement feed event (the message, or the feed's `[message, feed_encoded]` pair). Junk is dropped. */
  onPlacement(raw: unknown, receivedAtMs: number = this.clock.nowMs()): boolean {
    const parsed = parsePlacementMessage(raw);
    if (!parsed.ok) {
      this.drops.note('invalid', { problem: parsed.reason });
      return false;
    }
    const msg = parsed.message;
    if (msg.node === this.node) return false; // our own, echoed back
    const peer = this.peers.get(msg.node);
    if (peer === undefined) {
      this.drops.note('unknown_node', { from: msg.node });
      return false;
    }
    const prev = peer.message;
    if (prev !== null && prev.incarnation === msg.incarnation && msg.seq <= prev.seq) return false; // late or repeated
    peer.message = msg;
    peer.receivedAtMs = receivedAtMs;
    peer.maintenanceEndMs = msg.maintenance_until === null ? null : receivedAtMs + Math.max(0, msg.maintenance_until - msg.time) * 1000;
    for (const [slot, info] of Object.entries(msg.services)) {
      if (this.serviceOfSlot.has(slot)) this.noteEpoch(slot, info.epoch);
    }
    for (const [service, intent] of Object.entries(msg.intents)) this.adoptIntent(service, intent, msg.node);
    for (const [service, byNode] of Object.entries(msg.clears)) {
      if (!this.services[service]) continue;
      for (const [node, counter] of Object.entries(byNode)) this.noteClear(service, node, counter);
    }
    return true;
  }

  /** The registry's table, as polled. */
  onRegistryView(view: RegistryView, receivedAtMs: number = this.clock.nowMs()): void {
    if (!view.isAvailable) {
      // Decisions hold for registryToleranceMs, then blind (computeBlindReason).
      if (this.registryFailingSinceMs === null) {
        this.registryFailingSinceMs = receivedAtMs;
        this.logger.warn({}, 'registry not read; decisions held');
      }
      if (this.registry === null || !this.registry.isAvailable) {
        this.registry = view;
        this.registryReceivedAtMs = receivedAtMs;
      }
      return;
    }
    if (this.registryFailingSinceMs !== null) {
      this.logger.info({ failing_for_ms: receivedAtMs - this.registryFailingSinceMs }, 'registry read again');
      this.registryFailingSinceMs = null;
    }
    this.registry = view;
    this.registryReceivedAtMs = receivedAtMs;
    const startedAtS = view.registryStartedAtS;
    if (startedAtS !== null && (this.registryStartSeen === null || this.registryStartSeen.startedAtS !== startedAtS)) {
      if (this.registryStartSeen !== null) this.logger.info({ registry_started_at: startedAtS }, 'registry restarted');
      this.registryStartSeen = { startedAtS, firstSeenAtMs: receivedAtMs };
    }
  }

  /**
   * Local supervisor states by instance-id (a partial update; null = no such child). Ids of
   * other children are ignored.
   */
  onLocalState(states: Readonly<Record<string, ChildState | null>>): void {
    const now = this.clock.nowMs();
    for (const [slot, state] of Object.entries(states)) {
      const inst = this.local.get(slot);
      if (inst === undefined) continue;
      const wasKnown = inst.isStateKnown;
      const wasLive = inst.state !== null && HELD_STATES.has(inst.state);
      const isLive = state !== null && HELD_STATES.has(state);
      const previous = inst.state;
      inst.state = state;
      inst.isStateKnown = true;
      if (state === CHILD_STATES.CRASHED && previous !== CHILD_STATES.CRASHED && inst.monitor !== MONITOR.LOCAL_STOPPED) {
        this.setMonitor(slot, inst, MONITOR.START_FAILED, now, 'local instance crashed');
        continue;
      }
      if (isLive && inst.monitor === MONITOR.STARTING) inst.wasLiveSinceStart = true;
      if (wasKnown && !wasLive && isLive && inst.monitor === MONITOR.IDLE) this.takeOperatorEpoch(slot, inst, now);
      if (isLive && inst.monitor === MONITOR.READY) this.setMonitor(slot, inst, MONITOR.IDLE, now, 'instance started meanwhile');
      this.progressMonitor(slot, inst, now);
    }
  }

  // ---------------------------------------------------------------------------------------
  // ops

  /** `set_expect(service, global_expect)`: a cluster-wide intent, published to every host. */
  setExpect(service: string, globalExpect: RuntimeExpect): OrchestratorReply {
    this.requireService(service);
    if (!RUNTIME_EXPECT_VALUES.includes(globalExpect)) {
      throw new InvalidParamsError(`global_expect must be one of ${RUNTIME_EXPECT_VALUES.join(', ')}`, { details: { global_expect: globalExpect } });
    }
    this.applyRequest(service, { op: globalExpect });
    return { ok: true, message: `global_expect ${globalExpect} for ${service}` };
  }

  /** `relocate(service, to)`: move the service to `to` (break-before-make). */
  relocate(service: string, to: string): OrchestratorReply {
    const decl = this.requireService(service);
    if (!decl.hosts.includes(to)) throw new InvalidParamsError(`'${to}' is not one of the hosts of ${service}`, { details: { service, to, hosts: [...decl.hosts] } });
    this.applyRequest(service, { op: 'relocate', to });
    return { ok: true, message: `relocating ${service} to ${to}` };
  }

  /** `freeze` (node): no automatic action here; this host is no candidate; its instances stay. */
  freezeNode(): OrchestratorReply {
    this.isFrozen = true;
    this.logger.info({}, 'node frozen');
    return { ok: true, message: 'node frozen' };
  }

  thawNode(): OrchestratorReply {
    this.isFrozen = false;
    this.logger.info({}, 'node thawed');
    return { ok: true, message: 'node thawed' };
  }

  /** `freeze` (service, on this host only). */
  freezeService(service: string): OrchestratorReply {
    this.requireService(service);
    this.localFrozen.add(service);
    return { ok: true, message: `${service} frozen on ${this.node}` };
  }

  thawService(service: string): OrchestratorReply {
    this.requireService(service);
    this.localFrozen.delete(service);
    return { ok: true, message: `${service} thawed on ${this.node}` };
  }

  /** `clear(service, node?)`: lift start_failed / stop_failed on `node` (default: here); reaches other hosts through the feed. */
  clear(service: string, node: string = this.node): OrchestratorReply {
    this.requireService(service);
    if (!this.knownNodes.has(node)) throw new InvalidParamsError(`unknown host '${node}'`, { details: { service, node } });
    const counter = (this.clears.get(service)?.get(node) ?? 0) + 1;
    this.noteClear(service, node, counter);
    return { ok: true, message: `clear of ${service} on ${node} requested` };
  }

  /**
   * An operator stopped (`'stopped'`) or started (`null`) a cluster instance on this host
   * directly: while stopped, this host is no candidate for the service and its instances fail over.
   */
  setLocalExpect(instanceId: string, localExpect: 'stopped' | null): OrchestratorReply {
    const inst = this.local.get(instanceId);
    if (inst === undefined) throw new InvalidParamsError(`'${instanceId}' is not an instance of a cluster service`, { details: { instance_id: instanceId } });
    const now = this.clock.nowMs();
    if (localExpect === 'stopped') {
      this.setMonitor(instanceId, inst, MONITOR.LOCAL_STOPPED, now, 'stopped by an operator');
    } else if (inst.monitor === MONITOR.LOCAL_STOPPED) {
      this.setMonitor(instanceId, inst, MONITOR.IDLE, now, 'started by an operator');
      // The start may have reached the local state first.
      if (inst.state !== null && HELD_STATES.has(inst.state)) this.takeOperatorEpoch(instanceId, inst, now);
    }
    return { ok: true, message: `${instanceId}: ${inst.monitor}` };
  }

  /**
   * A local instance started outside the orchestrator (an operator's start) takes a fresh epoch,
   * so it is the copy kept if another host holds the instance too.
   */
  private takeOperatorEpoch(slot: string, inst: LocalInstance, now: number): void {
    inst.epoch = this.maxEpoch(slot) + 1;
    inst.claimAtMs = now;
    this.noteEpoch(slot, inst.epoch);
    this.logger.info({ instance_id: slot, epoch: inst.epoch }, 'instance started outside the orchestrator');
  }

  /**
   * Announces a maintenance window (a supervisor restart that leaves the instances running):
   * peers do not fail this host's instances over before it ends.
   */
  beginMaintenance(durationMs: number = this.options.maintenanceMs): void {
    this.maintenanceUntilMs = this.clock.nowMs() + durationMs;
  }

  /**
   * Orderly shutdown. `disown`: announce the maintenance window, the instances keep running.
   * `stop`: stop every held instance, so that the peers take over at once. No claims afterwards.
   */
  shutdown(mode: 'stop' | 'disown'): TickResult {
    this.isShuttingDown = true;
    const now = this.clock.nowMs();
    for (const inst of this.local.values()) {
      if (inst.monitor === MONITOR.READY) inst.monitor = MONITOR.IDLE;
    }
    if (mode === 'disown') {
      this.beginMaintenance();
    } else {
      for (const [slot, inst] of this.local) {
        if (inst.state !== null && HELD_STATES.has(inst.state) && inst.monitor !== MONITOR.STOPPING) {
          this.stopLocal(slot, inst, now, 'host manager shutting down');
        }
      }
    }
    return this.finishTick(now, true);
  }

  // ---------------------------------------------------------------------------------------
  // the decision loop

  tick(): TickResult {
    const now = this.clock.nowMs();
    this.blindReason = this.computeBlindReason(now);
    this.refreshLiveness(now);
    this.applyClears(now);
    for (const [slot, inst] of this.local) this.progressMonitor(slot, inst, now);
    for (const service of Object.keys(this.services)) this.evaluateService(service, now);
    return this.finishTick(now, false);
  }

  private finishTick(now: number, isForcedPublish: boolean): TickResult {
    this.emitFreezeChanges();
    const commands = this.pendingCommands;
    this.pendingCommands = [];
    const placement = this.maybePublish(now, isForcedPublish);
    const snapshot = this.snapshot();
    const json = JSON.stringify(snapshot);
    const changed = json !== this.lastSnapshotJson;
    this.lastSnapshotJson = json;
    return { commands, placement, snapshot: changed ? snapshot : null };
  }

  private computeBlindReason(now: number): string | null {
    if (now - this.startedAtMs < this.options.startupHoldMs) return 'starting';
    const view = this.registry;
    if (view === null || this.registryReceivedAtMs === null) return 'no registry view';
    if (!view.isAvailable) return 'registry unavailable';
    if (this.registryFailingSinceMs !== null && now - this.registryFailingSinceMs >= this.options.registryToleranceMs) return 'registry unavailable';
    if (now - this.registryReceivedAtMs > this.options.placementStaleMs) return 'registry view stale';
    if (view.registryStartedAtS === null || this.registryStartSeen === null) return 'registry start unknown';
    // The registry's age: on its own clock when it tells its time, else as seen from here since its start was first seen.
    let registryTimeS = view.registryTimeS ?? null;
    if (registryTimeS === null) {
      for (const agent of Object.values(view.agents)) {
        if (agent.last_updated !== undefined && (registryTimeS === null || agent.last_updated > registryTimeS)) registryTimeS = agent.last_updated;
      }
    }
    const registryAgeMs = registryTimeS === null ? 0 : (registryTimeS - view.registryStartedAtS) * 1000;
    const localAgeMs = now - this.registryStartSeen.firstSeenAtMs;
    if (Math.max(registryAgeMs, localAgeMs) < this.options.registryWarmupMs) return 'registry warming up';
    return null;
  }

  private registryLists(node: string): boolean {
    const agent = this.registry?.agents[this.supervisorAddress(node)];
    if (agent === undefined || agent.expired) return false;
    const code = agent.op_codes[this.managerOpName];
    return code !== undefined && MANAGING_OP_CODES.has(code);
  }

  private isSelfAlive(): boolean {
    return this.blindReason === null && this.registryLists(this.node);
  }

  /** Registry polls fail, not yet for registryToleranceMs: every judgement stays as it was. */
  private isHolding(): boolean {
    return this.blindReason === null && this.registryFailingSinceMs !== null;
  }

  private refreshLiveness(now: number): void {
    if (this.isHolding()) return;
    for (const [node, peer] of this.peers) {
      const isFresh = peer.receivedAtMs !== null && now - peer.receivedAtMs < this.options.placementStaleMs;
      const isAlive = this.blindReason === null && isFresh && this.registryLists(node);
      peer.isAlive = isAlive;
      if (this.blindReason !== null) {
        // Nothing is judged while blind: the grace period starts again once the view is trusted.
        peer.notAliveSinceMs = isAlive ? null : now;
        peer.isDead = false;
        continue;
      }
      if (isAlive) {
        peer.notAliveSinceMs = null;
        peer.isDead = false;
        continue;
      }
      peer.notAliveSinceMs ??= now;
      const isInMaintenance = peer.maintenanceEndMs !== null && now < peer.maintenanceEndMs;
      const wasDead = peer.isDead;
      peer.isDead = now - peer.notAliveSinceMs >= this.options.failoverGraceMs && !isInMaintenance;
      if (peer.isDead && !wasDead) this.logger.info({ peer: node, not_alive_for_ms: now - peer.notAliveSinceMs }, 'host considered dead');
    }
  }

  private isAlive(node: string): boolean {
    return node === this.node ? this.isSelfAlive() : (this.peers.get(node)?.isAlive ?? false);
  }

  private isDead(node: string): boolean {
    return node === this.node ? false : (this.peers.get(node)?.isDead ?? true);
  }

  private instanceInfo(node: string, slot: string): PlacementInstance | null {
    if (node === this.node) {
      const inst = this.local.get(slot);
      return inst === undefined ? null : { state: inst.state, monitor: inst.monitor, epoch: inst.epoch, claim_at: null };
    }
    return this.peers.get(node)?.message?.services[slot] ?? null;
  }

  private isNodeFrozen(node: string): boolean {
    return node === this.node ? this.isFrozen : (this.peers.get(node)?.message?.frozen ?? false);
  }

  private isLeaving(node: string): boolean {
    return node === this.node ? this.isShuttingDown : (this.peers.get(node)?.message?.leaving ?? false);
  }

  private isServiceFrozenOn(node: string, service: string): boolean {
    if (this.intents.get(service)?.frozen) return true;
    if (node === this.node) return this.localFrozen.has(service);
    return this.peers.get(node)?.message?.frozen_services.includes(service) ?? false;
  }

  /** Alive peers among the service's hosts whose placement settings differ from ours. */
  private driftedPeers(service: string): string[] {
    const mine = this.serviceHashes[service];
    const out: string[] = [];
    for (const host of this.services[service]?.hosts ?? []) {
      if (host === this.node || !this.isAlive(host)) continue;
      const theirs = this.peers.get(host)?.message?.service_hashes[service];
      if (theirs !== mine) out.push(host);
    }
    return out;
  }

  private context(service: string): ServiceContext {
    const decl = this.services[service]!;
    const slots = this.slotsOf.get(service)!;
    const intent = this.intents.get(service)!;
    const nodes = [...this.knownNodes];
    const info = (node: string, slot: string) => this.instanceInfo(node, slot);
    const natural = rankHosts({ service, hosts: decl.hosts, placement: decl.placement });
    const moveTo = intent.move !== null && !intent.settled ? intent.move.to : null;
    const effective = rankHosts({ service, hosts: decl.hosts, placement: decl.placement, first: moveTo });
    const holders = new Map<string, string[]>();
    for (const slot of slots) holders.set(slot, nodes.filter((n) => !this.isDead(n) && isHeld(info(n, slot))));
    const blocked = new Set(nodes.filter((n) => slots.some((slot) => BLOCKING_MONITORS.includes(info(n, slot)?.monitor ?? MONITOR.IDLE))));
    const eligible = new Set(
      decl.hosts.filter(
        (n) =>
          this.isAlive(n) &&
          !this.isNodeFrozen(n) &&
          !this.isServiceFrozenOn(n, service) &&
          !blocked.has(n) &&
          !this.isLeaving(n),
      ),
    );
    return { service, decl, slots, intent, nodes, natural, effective, info, holders, eligible, blocked };
  }

  private evaluateService(service: string, now: number): void {
    const ctx = this.context(service);
    this.trackFailovers(ctx, now);
    const isFrozenHere = this.isFrozen || this.isServiceFrozenOn(this.node, service);
    if (isFrozenHere) {
      this.abortClaims(ctx, now, 'frozen');
      return;
    }
    if (ctx.intent.expect === GLOBAL_EXPECT.STOPPED) {
      this.abortClaims(ctx, now, 'global_expect stopped');
      this.stopHeld(ctx, now, 'global_expect stopped');
      return;
    }
    if (this.blindReason !== null || this.isShuttingDown) {
      this.abortClaims(ctx, now, this.blindReason ?? 'shutting down');
      return;
    }
    if (this.isHolding()) return;
    const drift = this.driftedPeers(service);
    if (drift.length > 0) {
      this.driftWarner.note(service, { service, peers: drift });
      this.abortClaims(ctx, now, 'placement settings differ between hosts');
      return;
    }
    if (!ctx.decl.hosts.includes(this.node)) {
      this.stopHeld(ctx, now, 'this host is not one of the service hosts');
      return;
    }
    this.resolveDuplicates(ctx, now);
    this.advanceMove(ctx, now);
    this.placeVacancies(ctx, now);
  }

  private abortClaims(ctx: ServiceContext, now: number, reason: string): void {
    for (const slot of ctx.slots) {
      const inst = this.local.get(slot)!;
      if (inst.monitor === MONITOR.READY) this.setMonitor(slot, inst, MONITOR.IDLE, now, `claim withdrawn: ${reason}`);
    }
  }

  private stopHeld(ctx: ServiceContext, now: number, reason: string): void {
    for (const slot of ctx.slots) {
      const inst = this.local.get(slot)!;
      if (this.isManagedHolder(inst)) this.stopLocal(slot, inst, now, reason);
    }
  }

  /** A local instance this orchestrator holds and may stop (not already stopping, not in an operator's hands). */
  private isManagedHolder(inst: LocalInstance): boolean {
    const held = (inst.state !== null && HELD_STATES.has(inst.state)) || inst.monitor === MONITOR.STARTING;
    return held && inst.monitor !== MONITOR.STOPPING && inst.monitor !== MONITOR.STOP_FAILED && inst.monitor !== MONITOR.LOCAL_STOPPED;
  }

  private resolveDuplicates(ctx: ServiceContext, now: number): void {
    const rank = (n: string) => rankOf(ctx.natural, n);
    for (const slot of ctx.slots) {
      const inst = this.local.get(slot)!;
      if (!this.isManagedHolder(inst)) continue;
      const better = ctx.holders
        .get(slot)!
        .filter((n) => n !== this.node && this.isAlive(n))
        .filter((n) => {
          const epoch = ctx.info(n, slot)!.epoch;
          return epoch > inst.epoch || (epoch === inst.epoch && rank(n) < rank(this.node));
        });
      if (better.length === 0) continue;
      const keeper = better.sort((a, b) => ctx.info(b, slot)!.epoch - ctx.info(a, slot)!.epoch || rank(a) - rank(b))[0]!;
      this.stopLocal(slot, inst, now, `duplicate: ${keeper} keeps it (epoch ${ctx.info(keeper, slot)!.epoch} vs ${inst.epoch})`);
    }
  }

  private holdsAny(ctx: ServiceContext, node: string, predicate: (info: PlacementInstance) => boolean = () => true): boolean {
    return ctx.slots.some((slot) => ctx.holders.get(slot)!.includes(node) && predicate(ctx.info(node, slot)!));
  }

  private advanceMove(ctx: ServiceContext, now: number): void {
    const { intent, service } = ctx;
    if (intent.move === null || intent.settled) return;
    const to = intent.move.to;
    if (to !== null) {
      if (!ctx.decl.hosts.includes(to) || this.isDead(to) || this.isNodeFrozen(to) || this.isServiceFrozenOn(to, service) || ctx.blocked.has(to)) {
        this.settleMove(service, `relocate to ${to} cancelled: the host cannot take it`);
        return;
      }
    }
    const targets = to !== null ? [to] : ctx.natural.filter((n) => ctx.eligible.has(n)).slice(0, ctx.decl.instances);
    const isRunningOn = (n: string) => this.holdsAny(ctx, n, (info) => info.state === CHILD_STATES.RUNNING);
    if (targets.length > 0 && targets.every(isRunningOn)) {
      this.settleMove(service, to !== null ? `relocated to ${to}` : `placed on ${targets.join(', ')}`);
      return;
    }
    const allHeld = ctx.slots.every((slot) => ctx.holders.get(slot)!.length > 0);
    const isQuiet = ctx.slots.every((slot) =>
      ctx.holders.get(slot)!.every((n) => {
        const info = ctx.info(n, slot)!;
        return info.state !== null && QUIET_STATES.has(info.state) && info.monitor === MONITOR.IDLE;
      }),
    );
    const isClaimed = ctx.nodes.some((n) => ctx.slots.some((slot) => ctx.info(n, slot)?.monitor === MONITOR.READY));
    const hasFreeTarget = targets.some((t) => ctx.eligible.has(t) && !this.holdsAny(ctx, t));
    if (!allHeld || !isQuiet || isClaimed || !hasFreeTarget) return;
    const movers = ctx.nodes
      .filter((n) => !targets.includes(n) && this.holdsAny(ctx, n))
      .sort((a, b) => rankOf(ctx.effective, b) - rankOf(ctx.effective, a));
    if (movers[0] !== this.node) return;
    const slot = ctx.slots.find((s) => ctx.holders.get(s)!.includes(this.node))!;
    const inst = this.local.get(slot)!;
    if (this.isManagedHolder(inst)) this.stopLocal(slot, inst, now, to !== null ? `relocate to ${to}` : 'placed: giving back to a better-ranked host');
  }

  private settleMove(service: string, reason: string): void {
    const intent = this.intents.get(service)!;
    this.intents.set(service, { ...intent, settled: true });
    this.logger.info({ service, gen: intent.gen }, reason);
  }

  private placeVacancies(ctx: ServiceContext, now: number): void {
    const vacant = ctx.slots.filter((slot) => ctx.holders.get(slot)!.length === 0);
    const rank = (n: string) => rankOf(ctx.effective, n);
    const loads = new Map<string, number>();
    for (const n of ctx.eligible) loads.set(n, ctx.slots.filter((slot) => ctx.holders.get(slot)!.includes(n)).length);
    const assignment = new Map<string, string>();
    for (const slot of vacant) {
      let pick: string | null = null;
      for (const n of loads.keys()) {
        if (pick === null || loads.get(n)! < loads.get(pick)! || (loads.get(n) === loads.get(pick) && rank(n) < rank(pick))) pick = n;
      }
      if (pick === null) break;
      assignment.set(slot, pick);
      loads.set(pick, loads.get(pick)! + 1);
    }
    for (const slot of ctx.slots) {
      const inst = this.local.get(slot)!;
      const rival = ctx.nodes.find((n) => n !== this.node && this.isAlive(n) && ctx.info(n, slot)?.monitor === MONITOR.READY && rank(n) < rank(this.node));
      if (inst.monitor === MONITOR.READY) {
        if (assignment.get(slot) !== this.node) {
          this.setMonitor(slot, inst, MONITOR.IDLE, now, 'claim withdrawn: another host is placed first');
        } else if (rival !== undefined) {
          this.setMonitor(slot, inst, MONITOR.IDLE, now, `claim withdrawn: ${rival} is better ranked`);
        } else if (now - inst.monitorSinceMs >= this.options.readyPeriodMs) {
          this.startLocal(slot, inst, now, ctx);
        }
      } else if (inst.monitor === MONITOR.IDLE && assignment.get(slot) === this.node && rival === undefined) {
        inst.epoch = this.maxEpoch(slot) + 1;
        inst.claimAtMs = now;
        this.noteEpoch(slot, inst.epoch);
        this.setMonitor(slot, inst, MONITOR.READY, now, `claimed (epoch ${inst.epoch})`);
      }
    }
  }

  private startLocal(slot: string, inst: LocalInstance, now: number, ctx: ServiceContext): void {
    const previous = this.lastHolder.get(slot);
    const reason = previous !== undefined && previous !== this.node && this.isDead(previous) ? `failover from ${previous}` : 'placed here';
    inst.wasLiveSinceStart = false;
    this.setMonitor(slot, inst, MONITOR.STARTING, now, `${reason} (epoch ${inst.epoch})`);
    this.pendingCommands.push({ type: 'start', instanceId: slot, service: ctx.service, reason });
  }

  private stopLocal(slot: string, inst: LocalInstance, now: number, reason: string): void {
    this.setMonitor(slot, inst, MONITOR.STOPPING, now, reason);
    this.pendingCommands.push({ type: 'stop', instanceId: slot, service: inst.service, reason });
  }

  /** Moves `starting` / `stopping` on as the local states and the timeouts say. */
  private progressMonitor(slot: string, inst: LocalInstance, now: number): void {
    const state = inst.state;
    const isLive = state !== null && HELD_STATES.has(state);
    if (inst.monitor === MONITOR.STARTING) {
      if (state === CHILD_STATES.RUNNING || state === CHILD_STATES.SUSPENDED) {
        this.setMonitor(slot, inst, MONITOR.IDLE, now, `started (${state})`);
      } else if (!isLive && inst.wasLiveSinceStart) {
        this.setMonitor(slot, inst, MONITOR.IDLE, now, `ended while starting (${state ?? 'gone'})`);
      } else if (now - inst.monitorSinceMs >= this.options.startTimeoutMs) {
        this.setMonitor(slot, inst, MONITOR.START_FAILED, now, `not running ${this.options.startTimeoutMs} ms after the start`);
      }
    } else if (inst.monitor === MONITOR.STOPPING) {
      if (!isLive) {
        this.setMonitor(slot, inst, MONITOR.IDLE, now, `stopped (${state ?? 'gone'})`);
      } else if (now - inst.monitorSinceMs >= this.options.stopTimeoutMs) {
        this.setMonitor(slot, inst, MONITOR.STOP_FAILED, now, `still ${state} ${this.options.stopTimeoutMs} ms after the stop`);
      }
    }
  }

  private setMonitor(slot: string, inst: LocalInstance, monitor: Monitor, now: number, reason: string): void {
    if (inst.monitor === monitor) return;
    const level = monitor === MONITOR.START_FAILED || monitor === MONITOR.STOP_FAILED ? 'warn' : 'info';
    this.logger[level]({ instance_id: slot, from: inst.monitor, to: monitor, epoch: inst.epoch, reason }, 'monitor changed');
    inst.monitor = monitor;
    inst.monitorSinceMs = now;
  }

  private trackFailovers(ctx: ServiceContext, now: number): void {
    for (const slot of ctx.slots) {
      const holders = ctx.holders.get(slot)!;
      if (holders.length === 0) continue;
      const current = [...holders].sort((a, b) => ctx.info(b, slot)!.epoch - ctx.info(a, slot)!.epoch)[0]!;
      const previous = this.lastHolder.get(slot);
      if (previous !== undefined && previous !== current) {
        if (this.isDead(previous)) {
          this.lastFailover.set(ctx.service, { instance_id: slot, from: previous, to: current, at: now / 1000, reason: 'host expired' });
          this.logger.info({ instance_id: slot, from: previous, to: current }, 'failed over');
        } else if (holders.includes(previous)) {
          // Both hold as this host sees it (it has not judged the previous holder yet, e.g. its
          // registry polls failed meanwhile): the move is a failover if the previous holder turns
          // out dead, not if it lets the instance go.
          continue;
        }
      }
      this.lastHolder.set(slot, current);
    }
  }

  // ---------------------------------------------------------------------------------------
  // intents, epochs, clears

  private requireService(service: string): ServiceDeclaration {
    const decl = this.services[service];
    if (decl === undefined) throw new InvalidParamsError(`no cluster service '${service}'`, { details: { service, services: Object.keys(this.services) } });
    return decl;
  }

  private applyRequest(service: string, request: { op: RuntimeExpect } | { op: 'relocate'; to: string }): void {
    const current = this.intents.get(service)!;
    const next = requestIntent(current, request, this.node, this.maxIntentGen(service));
    this.logger.info({ service, op: request.op, gen: next.gen }, 'cluster intent set');
    this.adoptIntent(service, next, this.node);
  }

  private maxIntentGen(service: string): number {
    let gen = this.intents.get(service)?.gen ?? 0;
    for (const peer of this.peers.values()) gen = Math.max(gen, peer.message?.intents[service]?.gen ?? 0);
    return gen;
  }

  private adoptIntent(service: string, intent: ServiceIntent, from: string): void {
    const current = this.intents.get(service);
    if (current === undefined || !isNewerIntent(intent, current)) return;
    this.intents.set(service, intent);
    if (intent.op === RUNTIME_EXPECT.THAWED && (intent.gen !== current.gen || intent.by !== current.by)) this.localFrozen.delete(service);
    if (from !== this.node) this.logger.info({ service, op: intent.op, gen: intent.gen, by: intent.by }, 'cluster intent adopted');
  }

  private emitFreezeChanges(): void {
    for (const service of Object.keys(this.services)) {
      const isFrozen = this.isServiceFrozenOn(this.node, service);
      if ((this.frozenEmitted.get(service) ?? false) === isFrozen) continue;
      this.frozenEmitted.set(service, isFrozen);
      for (const slot of this.slotsOf.get(service)!) {
        this.pendingCommands.push({ type: isFrozen ? 'freeze' : 'thaw', instanceId: slot, service, reason: isFrozen ? 'service frozen' : 'service thawed' });
      }
    }
  }

  private maxEpoch(slot: string): number {
    return this.maxEpochs.get(slot) ?? 0;
  }

  private noteEpoch(slot: string, epoch: number): void {
    if (epoch > this.maxEpoch(slot)) this.maxEpochs.set(slot, epoch);
  }

  private noteClear(service: string, node: string, counter: number): void {
    let byNode = this.clears.get(service);
    if (byNode === undefined) {
      byNode = new Map();
      this.clears.set(service, byNode);
    }
    if (counter > (byNode.get(node) ?? 0)) byNode.set(node, counter);
  }

  private applyClears(now: number): void {
    for (const [service, byNode] of this.clears) {
      const counter = byNode.get(this.node) ?? 0;
      if (counter <= (this.clearsHandled.get(service) ?? 0)) continue;
      this.clearsHandled.set(service, counter);
      for (const slot of this.slotsOf.get(service) ?? []) {
        const inst = this.local.get(slot)!;
        if (inst.monitor === MONITOR.START_FAILED || inst.monitor === MONITOR.STOP_FAILED) this.setMonitor(slot, inst, MONITOR.IDLE, now, 'cleared');
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // output

  private messageBody(): Omit<PlacementMessage, 'seq' | 'time' | 'load1'> {
    const services: Record<string, PlacementInstance> = {};
    for (const [slot, inst] of this.local) {
      services[slot] = { state: inst.state, monitor: inst.monitor, epoch: inst.epoch, claim_at: inst.claimAtMs === null ? null : inst.claimAtMs / 1000 };
    }
    const clears: Record<string, Record<string, number>> = {};
    for (const [service, byNode] of this.clears) clears[service] = Object.fromEntries(byNode);
    return {
      node: this.node,
      incarnation: this.incarnation,
      config_hash: this.configHash,
      frozen: this.isFrozen,
      leaving: this.isShuttingDown,
      maintenance_until: this.maintenanceUntilMs === null ? null : this.maintenanceUntilMs / 1000,
      services,
      frozen_services: [...this.localFrozen].sort(),
      service_hashes: { ...this.serviceHashes },
      intents: Object.fromEntries(this.intents),
      clears,
    };
  }

  private maybePublish(now: number, isForced: boolean): PlacementMessage | null {
    const body = this.messageBody();
    const json = JSON.stringify(body);
    const isDue = this.lastPublishedAtMs === null || now - this.lastPublishedAtMs >= this.options.publishIntervalMs;
    if (!isForced && !isDue && json === this.lastPublishedBody) return null;
    this.lastPublishedBody = json;
    this.lastPublishedAtMs = now;
    this.seq += 1;
    return { ...body, seq: this.seq, time: now / 1000, load1: this.load1() };
  }

  /** The persisted part of the state. */
  snapshot(): OrchestratorSnapshot {
    const claims: OrchestratorSnapshot['claims'] = {};
    const monitors: OrchestratorSnapshot['monitors'] = {};
    for (const [slot, inst] of this.local) {
      if (inst.epoch > 0) claims[slot] = { epoch: inst.epoch, claim_at_ms: inst.claimAtMs };
      const persisted = PERSISTED_MONITORS.find((m) => m === inst.monitor);
      if (persisted !== undefined) monitors[slot] = persisted;
    }
    const clears: OrchestratorSnapshot['clears'] = {};
    for (const [service, byNode] of this.clears) clears[service] = Object.fromEntries(byNode);
    return {
      version: ORCHESTRATOR_SNAPSHOT_VERSION,
      node: this.node,
      frozen: this.isFrozen,
      frozen_services: [...this.localFrozen].sort(),
      epochs: Object.fromEntries(this.maxEpochs),
      claims,
      monitors,
      intents: Object.fromEntries(this.intents),
      clears,
      clears_handled: Object.fromEntries(this.clearsHandled),
    };
  }

  /**
   * Loads a snapshot (from the state file) before the first tick. Entries for services or
   * instances no longer declared are ignored; a snapshot of another host is refused.
   */
  restore(raw: unknown): OrchestratorRestoreResult {
    const parsed = OrchestratorSnapshotSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
    const snap = parsed.data;
    if (snap.node !== this.node) return { ok: false, error: `snapshot of host '${snap.node}', not '${this.node}'` };
    this.isFrozen = snap.frozen;
    for (const service of snap.frozen_services) if (this.services[service]) this.localFrozen.add(service);
    for (const [slot, epoch] of Object.entries(snap.epochs)) if (this.serviceOfSlot.has(slot)) this.noteEpoch(slot, epoch);
    for (const [slot, claim] of Object.entries(snap.claims)) {
      const inst = this.local.get(slot);
      if (inst === undefined) continue;
      inst.epoch = claim.epoch;
      inst.claimAtMs = claim.claim_at_ms;
      this.noteEpoch(slot, claim.epoch);
    }
    for (const [slot, monitor] of Object.entries(snap.monitors)) {
      const inst = this.local.get(slot);
      if (inst !== undefined) inst.monitor = monitor;
    }
    for (const [service, intent] of Object.entries(snap.intents)) if (this.services[service]) this.adoptIntent(service, intent, this.node);
    for (const [service, byNode] of Object.entries(snap.clears)) {
      if (!this.services[service]) continue;
      for (const [node, counter] of Object.entries(byNode)) this.noteClear(service, node, counter);
    }
    for (const [service, counter] of Object.entries(snap.clears_handled)) if (this.services[service]) this.clearsHandled.set(service, counter);
    this.lastSnapshotJson = JSON.stringify(this.snapshot());
    return { ok: true };
  }

  /** The cluster view for the HostManager's session data. */
  view(): ClusterView {
    const now = this.clock.nowMs();
    const nodes: ClusterView['nodes'] = {};
    for (const node of [...this.knownNodes].sort()) {
      const agent = this.registry?.agents[this.supervisorAddress(node)];
      const peer = this.peers.get(node);
      const isSelf = node === this.node;
      const maintenanceEndMs = isSelf ? this.maintenanceUntilMs : (peer?.maintenanceEndMs ?? null);
      nodes[node] = {
        alive: this.isAlive(node),
        dead: this.isDead(node),
        frozen: this.isNodeFrozen(node),
        maintenance_until: maintenanceEndMs !== null && maintenanceEndMs > now ? maintenanceEndMs / 1000 : null,
        manager_op: agent?.op_codes[this.managerOpName] ?? null,
        load1: isSelf ? this.load1() : (peer?.message?.load1 ?? null),
        feed_age_s: isSelf ? 0 : peer?.receivedAtMs != null ? (now - peer.receivedAtMs) / 1000 : null,
        not_alive_for_s: peer?.notAliveSinceMs != null ? (now - peer.notAliveSinceMs) / 1000 : null,
      };
    }
    const services: ClusterView['services'] = {};
    for (const service of Object.keys(this.services)) {
      const ctx = this.context(service);
      const holders: ClusterView['services'][string]['holders'] = [];
      for (const slot of ctx.slots) {
        for (const node of ctx.holders.get(slot)!) {
          const info = ctx.info(node, slot)!;
          holders.push({ instance_id: slot, node, epoch: info.epoch, state: info.state });
        }
      }
      const local: ClusterView['services'][string]['local'] = {};
      for (const slot of ctx.slots) {
        const inst = this.local.get(slot)!;
        local[slot] = { monitor: inst.monitor, state: inst.state, epoch: inst.epoch };
      }
      services[service] = {
        global_expect: displayedExpect(ctx.intent),
        expect: ctx.intent.expect,
        frozen: ctx.intent.frozen,
        move: ctx.intent.settled ? null : ctx.intent.move,
        placement: ctx.decl.placement,
        instances: ctx.decl.instances,
        nodes: [...ctx.decl.hosts],
        ranking: ctx.effective.filter((n) => ctx.eligible.has(n)),
        holders,
        local,
        blocked: [...ctx.blocked].sort(),
        config_drift: this.blindReason === null ? this.driftedPeers(service) : [],
        last_failover: this.lastFailover.get(service) ?? null,
      };
    }
    const view = this.registry;
    return {
      node: this.node,
      frozen: this.isFrozen,
      maintenance_until: this.maintenanceUntilMs !== null && this.maintenanceUntilMs > now ? this.maintenanceUntilMs / 1000 : null,
      registry: {
        healthy: (view?.isAvailable ?? false) && this.registryFailingSinceMs === null,
        blind: this.blindReason !== null,
        blind_reason: this.blindReason,
        warm: this.blindReason !== 'registry warming up' && view !== null,
        agents_seen: view === null ? 0 : Object.keys(view.agents).length,
        polled_at: this.registryReceivedAtMs === null ? null : this.registryReceivedAtMs / 1000,
        failing_since: this.registryFailingSinceMs === null ? null : this.registryFailingSinceMs / 1000,
      },
      nodes,
      services,
    };
  }

  /** Clears the drop warner's timers. */
  close(): void {
    this.drops.close();
    this.driftWarner.close();
  }
}
