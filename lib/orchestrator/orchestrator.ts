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
import type { ChildState } from '../supervisor/child-record.js';
import { serviceInstanceIds } from '../site-config/services.js';
import { clusterView, type ClusterView } from './cluster-view.js';
import { IntentRegister, type IntentRequest } from './intent-register.js';
import { LocalInstances } from './local-instances.js';
import { ORCHESTRATOR_SNAPSHOT_VERSION, OrchestratorSnapshotSchema, type OrchestratorSnapshot } from './orchestrator-snapshot.js';
import {
  DEFAULT_ORCHESTRATOR_OPTIONS,
  type OrchestratorConfig,
  type OrchestratorOptions,
  type OrchestratorReply,
  type OrchestratorRestoreResult,
  type ServiceDeclaration,
  type TickResult,
} from './orchestrator-types.js';
import { PeerFeeds } from './peer-feeds.js';
import { PlacementDecisions } from './placement.js';
import { PlacementPublisher, type PlacementBody } from './placement-publisher.js';
import { fnv1a } from './ranking.js';
import { RegistryWatch } from './registry-watch.js';
import type { RolloutReport } from './rollout.js';
import { Rollouts } from './rollouts.js';
import type { RegistryView } from './registry-view.js';
import { serviceContext, type ClusterFacts, type ServiceContext } from './service-context.js';
import { RUNTIME_EXPECT_VALUES, type RuntimeExpect } from './service-intent.js';

function hashHex(text: string): string {
  return fnv1a(text).toString(16).padStart(8, '0');
}

/**
 * The composition: the inputs go to the room that owns them (registry-watch.ts, peer-feeds.ts,
 * local-instances.ts, intent-register.ts), `tick()` runs placement.ts's decisions per service on
 * the facts those rooms give, and the output is this host's placement message (placement-publisher.ts),
 * its snapshot and its view (cluster-view.ts).
 */
export class Orchestrator {
  readonly node: string;
  private readonly options: OrchestratorOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly load1: () => number | null;
  private readonly supervisorAddress: (node: string) => string;
  private readonly services: Readonly<Record<string, ServiceDeclaration>>;
  private readonly slotsOf = new Map<string, string[]>();
  private readonly serviceHashes: Record<string, string> = {};
  private readonly configHash: string;
  private readonly managerOpName: string;
  private readonly incarnation: number;

  private readonly registry: RegistryWatch;
  private readonly peers: PeerFeeds;
  private readonly local: LocalInstances;
  private readonly intents: IntentRegister;
  private readonly decisions: PlacementDecisions;
  private readonly publisher: PlacementPublisher;
  private readonly facts: ClusterFacts;
  private readonly rollouts: Rollouts;

  private isFrozen = false;
  private maintenanceUntilMs: number | null = null;
  private isShuttingDown = false;
  private blindReason: string | null = 'starting';
  private lastSnapshotJson = '';

  constructor(config: OrchestratorConfig) {
    this.node = config.node;
    this.clock = config.clock;
    this.logger = (config.logger ?? silentLogger()).child({ component: 'orchestrator', node: config.node });
    this.options = { ...DEFAULT_ORCHESTRATOR_OPTIONS, ...config.options };
    this.services = config.services;
    this.managerOpName = config.managerOpName ?? 'manager';
    const startedAtMs = this.clock.nowMs();
    this.incarnation = config.incarnation ?? startedAtMs;
    this.load1 = config.load1 ?? (() => null);
    this.supervisorAddress = config.supervisorAddress;
    this.local = new LocalInstances(this.logger, this.options);
    const knownNodes = new Set([this.node]);
    const globalExpects: Record<string, ServiceDeclaration['globalExpect']> = {};
    for (const [name, decl] of Object.entries(this.services)) {
      const slots = serviceInstanceIds(name, decl.instances);
      this.slotsOf.set(name, slots);
      for (const slot of slots) this.local.add(slot, name, startedAtMs);
      for (const host of decl.hosts) knownNodes.add(host);
      globalExpects[name] = decl.globalExpect;
      this.serviceHashes[name] = hashHex(JSON.stringify({ hosts: decl.hosts, placement: decl.placement, instances: decl.instances }));
    }
    this.configHash = hashHex(
      Object.keys(this.serviceHashes)
        .sort()
        .map((name) => `${name}=${this.serviceHashes[name]}`)
        .join(';'),
    );
    const nodes = [...knownNodes];
    this.intents = new IntentRegister(this.node, globalExpects, this.logger);
    this.registry = new RegistryWatch(this.logger, this.options, startedAtMs);
    this.peers = new PeerFeeds(this.node, nodes, this.clock, this.logger, this.options);
    this.publisher = new PlacementPublisher(this.options.publishIntervalMs, this.load1);
    const isSelf = (node: string) => node === this.node;
    this.facts = {
      node: this.node,
      nodes,
      isAlive: (n) => (isSelf(n) ? this.blindReason === null && this.registryLists(n) : this.peers.isAlive(n)),
      isDead: (n) => (isSelf(n) ? false : this.peers.isDead(n)),
      instanceInfo: (n, slot) => (isSelf(n) ? this.local.info(slot) : this.peers.instance(n, slot)),
      isNodeFrozen: (n) => (isSelf(n) ? this.isFrozen : this.peers.isFrozen(n)),
      isLeaving: (n) => (isSelf(n) ? this.isShuttingDown : this.peers.isLeaving(n)),
      isServiceFrozenOn: (n, service) => (isSelf(n) ? this.intents.isFrozenHere(service) : this.intents.intent(service).frozen || this.peers.hasFrozen(n, service)),
    };
    this.rollouts = new Rollouts(this.node, this.incarnation, this.facts, this.local, this.logger);
    this.decisions = new PlacementDecisions({
      facts: this.facts,
      local: this.local,
      intents: this.intents,
      driftedPeers: (service) => this.driftedPeers(service),
      readyPeriodMs: this.options.readyPeriodMs,
      clock: this.clock,
      logger: this.logger,
    });
  }

  // ---------------------------------------------------------------------------------------
  // inputs

  /** A placement feed event (the message, or the feed's `[message, feed_encoded]` pair). Junk is dropped. */
  onPlacement(raw: unknown, receivedAtMs: number = this.clock.nowMs()): boolean {
    const msg = this.peers.accept(raw, receivedAtMs);
    if (msg === null) return false;
    for (const [slot, info] of Object.entries(msg.services)) {
      if (this.local.has(slot)) this.local.noteEpoch(slot, info.epoch);
    }
    for (const [slot, token] of Object.entries(msg.restarts)) this.local.requestRestart(slot, token);
    for (const [service, intent] of Object.entries(msg.intents)) this.intents.adopt(service, intent, msg.node);
    for (const [service, byNode] of Object.entries(msg.clears)) {
      if (!this.intents.has(service)) continue;
      for (const [node, counter] of Object.entries(byNode)) this.intents.noteClear(service, node, counter);
    }
    return true;
  }

  /** The registry's table, as polled. */
  onRegistryView(view: RegistryView, receivedAtMs: number = this.clock.nowMs()): void {
    this.registry.accept(view, receivedAtMs);
  }

  /**
   * Local supervisor states by instance-id (a partial update; null = no such child). Ids of
   * other children are ignored.
   */
  onLocalState(states: Readonly<Record<string, ChildState | null>>): void {
    this.local.onLocalState(states, this.clock.nowMs());
  }

  // ---------------------------------------------------------------------------------------
  // ops

  /** `set_expect(service, global_expect)`: a cluster-wide intent, published to every host. */
  setExpect(service: string, globalExpect: RuntimeExpect): OrchestratorReply {
    this.requireService(service);
    if (!RUNTIME_EXPECT_VALUES.includes(globalExpect)) {
      throw new InvalidParamsError(`global_expect must be one of ${RUNTIME_EXPECT_VALUES.join(', ')}`, { details: { global_expect: globalExpect } });
    }
    this.request(service, { op: globalExpect });
    return { ok: true, message: `global_expect ${globalExpect} for ${service}` };
  }

  /** `relocate(service, to)`: move the service to `to` (break-before-make). */
  relocate(service: string, to: string): OrchestratorReply {
    const decl = this.requireService(service);
    if (!decl.hosts.includes(to)) throw new InvalidParamsError(`'${to}' is not one of the hosts of ${service}`, { details: { service, to, hosts: [...decl.hosts] } });
    this.request(service, { op: 'relocate', to });
    return { ok: true, message: `relocating ${service} to ${to}` };
  }

  /**
   * `rollout(service, max_unavailable)`: restart the service's instances one batch at a time,
   * each batch once the previous one is ready again, never below `instances - max_unavailable`
   * ready (rollout.ts). Refused while one runs for the service here or on a peer.
   */
  startRollout(service: string, maxUnavailable = 1, readyTimeoutMs: number = this.options.startTimeoutMs, minReadyMs?: number): RolloutReport {
    const decl = this.requireService(service);
    const slots = this.slotsOf.get(service) ?? [];
    const request = { service, slots, hosts: decl.hosts, maxUnavailable, readyTimeoutMs, ...(minReadyMs !== undefined ? { minReadyMs } : {}) };
    return this.rollouts.start(request, this.peers.liveMessages(), this.clock.nowMs());
  }

  /** The service's last rollout on this host (running or finished), or null. */
  rolloutReport(service: string): RolloutReport | null {
    return this.rollouts.report(service, this.clock.nowMs());
  }

  /** The latest rollout of each service run from this host. */
  rolloutReports(): Record<string, RolloutReport> {
    return this.rollouts.reports(this.clock.nowMs());
  }

  /** The host that rolls a service out after a config change: the first of its hosts alive (this one included), or null. */
  rolloutCoordinator(service: string): string | null {
    return this.requireService(service).hosts.find((n) => this.facts.isAlive(n)) ?? null;
  }

  abortRollout(service: string, why: string): void {
    this.rollouts.abort(service, this.clock.nowMs(), why);
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
    this.intents.freezeHere(service);
    return { ok: true, message: `${service} frozen on ${this.node}` };
  }

  thawService(service: string): OrchestratorReply {
    this.requireService(service);
    this.intents.thawHere(service);
    return { ok: true, message: `${service} thawed on ${this.node}` };
  }

  /** `clear(service, node?)`: lift start_failed / stop_failed on `node` (default: here); reaches other hosts through the feed. */
  clear(service: string, node: string = this.node): OrchestratorReply {
    this.requireService(service);
    if (!this.facts.nodes.includes(node)) throw new InvalidParamsError(`unknown host '${node}'`, { details: { service, node } });
    this.intents.noteClear(service, node, this.intents.nextClear(service, node));
    return { ok: true, message: `clear of ${service} on ${node} requested` };
  }

  /**
   * An operator stopped (`'stopped'`) or started (`null`) a cluster instance on this host
   * directly: while stopped, this host is no candidate for the service and its instances fail over.
   */
  setLocalExpect(instanceId: string, localExpect: 'stopped' | null): OrchestratorReply {
    const inst = this.local.get(instanceId);
    if (inst === undefined) throw new InvalidParamsError(`'${instanceId}' is not an instance of a cluster service`, { details: { instance_id: instanceId } });
    this.local.setOperatorExpect(instanceId, inst, localExpect, this.clock.nowMs());
    return { ok: true, message: `${instanceId}: ${inst.monitor}` };
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
    this.local.leave(mode, now);
    if (mode === 'disown') this.beginMaintenance();
    return this.finishTick(now, true);
  }

  // ---------------------------------------------------------------------------------------
  // the decision loop

  tick(): TickResult {
    const now = this.clock.nowMs();
    this.blindReason = this.registry.blindReason(now);
    const isHolding = this.isHolding();
    if (!isHolding) this.peers.refresh(now, this.blindReason, (node) => this.registryLists(node));
    for (const service of this.intents.takeNewClears()) this.local.clearBlocks(this.slotsOf.get(service) ?? [], now);
    this.local.progress(now);
    const gates = { isNodeFrozen: this.isFrozen, blindReason: this.blindReason, isHolding, isShuttingDown: this.isShuttingDown };
    for (const service of this.slotsOf.keys()) this.decisions.decide(this.context(service), gates, now);
    this.rollouts.step(now, this.blindReason === null && !isHolding && !this.isShuttingDown);
    return this.finishTick(now, false);
  }

  private finishTick(now: number, isForcedPublish: boolean): TickResult {
    for (const command of this.intents.freezeChanges(this.slotsOf)) this.local.queue(command);
    const commands = this.local.takeCommands();
    const placement = this.publisher.next(this.messageBody(), now, isForcedPublish);
    const snapshot = this.snapshot();
    const json = JSON.stringify(snapshot);
    const changed = json !== this.lastSnapshotJson;
    this.lastSnapshotJson = json;
    return { commands, placement, snapshot: changed ? snapshot : null };
  }

  private registryLists(node: string): boolean {
    return this.registry.listsManaging(this.supervisorAddress(node), this.managerOpName);
  }

  /** Registry polls fail, not yet for registryToleranceMs: every judgement stays as it was. */
  private isHolding(): boolean {
    return this.blindReason === null && this.registry.isFailing;
  }

  private context(service: string): ServiceContext {
    return serviceContext(this.facts, service, this.services[service]!, this.slotsOf.get(service)!, this.intents.intent(service));
  }

  /** Alive peers among the service's hosts whose placement settings differ from ours. */
  private driftedPeers(service: string): string[] {
    return this.peers.drifted(service, this.services[service]?.hosts ?? [], this.serviceHashes[service]);
  }

  private requireService(service: string): ServiceDeclaration {
    const decl = this.intents.has(service) ? this.services[service] : undefined;
    if (decl === undefined) throw new InvalidParamsError(`no cluster service '${service}'`, { details: { service, services: Object.keys(this.services) } });
    return decl;
  }

  private request(service: string, request: IntentRequest): void {
    this.intents.request(service, request, this.peers.maxIntentGen(service));
  }

  // ---------------------------------------------------------------------------------------
  // output

  private messageBody(): PlacementBody {
    return {
      node: this.node,
      incarnation: this.incarnation,
      config_hash: this.configHash,
      frozen: this.isFrozen,
      leaving: this.isShuttingDown,
      maintenance_until: this.maintenanceUntilMs === null ? null : this.maintenanceUntilMs / 1000,
      services: this.local.placementInstances(),
      frozen_services: this.intents.frozenHere(),
      service_hashes: { ...this.serviceHashes },
      intents: this.intents.intentsRecord(),
      clears: this.intents.clearsRecord(),
      restarts: this.rollouts.requests(),
    };
  }

  /** The persisted part of the state. */
  snapshot(): OrchestratorSnapshot {
    const local = this.local.snapshot();
    const intents = this.intents.snapshot();
    return {
      version: ORCHESTRATOR_SNAPSHOT_VERSION,
      node: this.node,
      frozen: this.isFrozen,
      frozen_services: intents.frozen_services,
      epochs: local.epochs,
      claims: local.claims,
      monitors: local.monitors,
      intents: intents.intents,
      clears: intents.clears,
      clears_handled: intents.clears_handled,
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
    this.local.restore(snap);
    this.intents.restore(snap);
    this.lastSnapshotJson = JSON.stringify(this.snapshot());
    return { ok: true };
  }

  /** The cluster view for the HostManager's session data. */
  view(): ClusterView {
    return clusterView({
      nowMs: this.clock.nowMs(),
      facts: this.facts,
      isFrozen: this.isFrozen,
      maintenanceUntilMs: this.maintenanceUntilMs,
      blindReason: this.blindReason,
      registry: this.registry,
      peers: this.peers,
      local: this.local,
      supervisorAddress: this.supervisorAddress,
      managerOpName: this.managerOpName,
      load1: this.load1,
      contexts: [...this.slotsOf.keys()].map((service) => this.context(service)),
      driftedPeers: (service) => this.driftedPeers(service),
      lastFailoverOf: (service) => this.decisions.lastFailoverOf(service),
    });
  }

  /** Clears the rate-limited warnings' timers. */
  close(): void {
    this.peers.close();
    this.decisions.close();
  }
}
