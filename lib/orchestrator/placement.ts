/**
 * The decisions for one service on this host, each tick, in the order of the algorithm at the top
 * of orchestrator.ts: frozen → nothing; stopped → stop; blind or holding → no claim; settings
 * drift → no claim; then duplicates, the move of a relocate / `placed`, and the vacancies (claim,
 * wait the ready period, start). Also keeps who held each instance last, to tell a failover from a
 * placement and to record the service's last failover.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import { GLOBAL_EXPECT } from '../site-config/services.js';
import { CHILD_STATES, type ChildState } from '../supervisor/child-record.js';
import type { IntentRegister } from './intent-register.js';
import { isManagedHolder, type LocalInstances } from './local-instances.js';
import type { FailoverRecord } from './orchestrator-types.js';
import { MONITOR, type PlacementInstance } from './placement-message.js';
import { rankOf, type ClusterFacts, type ServiceContext } from './service-context.js';

const QUIET_STATES: ReadonlySet<ChildState> = new Set([CHILD_STATES.RUNNING, CHILD_STATES.SUSPENDED]);

/** What stops a tick's decisions for every service, as the orchestrator judged it this tick. */
export interface DecisionGates {
  /** This node is frozen. */
  isNodeFrozen: boolean;
  blindReason: string | null;
  /** Registry polls fail, not yet for the tolerance: every judgement stays as it was. */
  isHolding: boolean;
  isShuttingDown: boolean;
}

export interface PlacementDecisionsDeps {
  facts: ClusterFacts;
  local: LocalInstances;
  intents: IntentRegister;
  /** Alive peers whose placement settings for the service differ from ours. */
  driftedPeers: (service: string) => string[];
  readyPeriodMs: number;
  clock: Clock;
  logger: Logger;
}

export class PlacementDecisions {
  private readonly lastFailover = new Map<string, FailoverRecord>();
  private readonly lastHolder = new Map<string, string>();
  private readonly driftWarner: RateLimitedLog;
  private readonly facts: ClusterFacts;
  private readonly local: LocalInstances;
  private readonly node: string;

  constructor(private readonly deps: PlacementDecisionsDeps) {
    this.facts = deps.facts;
    this.local = deps.local;
    this.node = deps.facts.node;
    this.driftWarner = new RateLimitedLog({ clock: deps.clock, logger: deps.logger, message: 'placement settings differ between hosts; service not placed' });
  }

  lastFailoverOf(service: string): FailoverRecord | null {
    return this.lastFailover.get(service) ?? null;
  }

  decide(ctx: ServiceContext, gates: DecisionGates, now: number): void {
    const { service } = ctx;
    this.trackFailovers(ctx, now);
    if (gates.isNodeFrozen || this.facts.isServiceFrozenOn(this.node, service)) {
      this.local.withdrawClaims(ctx.slots, now, 'frozen');
      return;
    }
    if (ctx.intent.expect === GLOBAL_EXPECT.STOPPED) {
      this.local.withdrawClaims(ctx.slots, now, 'global_expect stopped');
      this.local.stopHeld(ctx.slots, now, 'global_expect stopped');
      return;
    }
    if (gates.blindReason !== null || gates.isShuttingDown) {
      this.local.withdrawClaims(ctx.slots, now, gates.blindReason ?? 'shutting down');
      return;
    }
    if (gates.isHolding) return;
    const drift = this.deps.driftedPeers(service);
    if (drift.length > 0) {
      this.driftWarner.note(service, { service, peers: drift });
      this.local.withdrawClaims(ctx.slots, now, 'placement settings differ between hosts');
      return;
    }
    if (!ctx.decl.hosts.includes(this.node)) {
      this.local.stopHeld(ctx.slots, now, 'this host is not one of the service hosts');
      return;
    }
    this.resolveDuplicates(ctx, now);
    this.advanceMove(ctx, now);
    this.placeVacancies(ctx, now);
  }

  close(): void {
    this.driftWarner.close();
  }

  /** Of the holders of an instance, the one with the highest (epoch, −rank) keeps it. */
  private resolveDuplicates(ctx: ServiceContext, now: number): void {
    const rank = (n: string) => rankOf(ctx.natural, n);
    for (const slot of ctx.slots) {
      const inst = this.local.of(slot);
      if (!isManagedHolder(inst)) continue;
      const better = ctx.holders
        .get(slot)!
        .filter((n) => n !== this.node && this.facts.isAlive(n))
        .filter((n) => {
          const epoch = ctx.info(n, slot)!.epoch;
          return epoch > inst.epoch || (epoch === inst.epoch && rank(n) < rank(this.node));
        });
      if (better.length === 0) continue;
      const keeper = better.sort((a, b) => ctx.info(b, slot)!.epoch - ctx.info(a, slot)!.epoch || rank(a) - rank(b))[0]!;
      this.local.stop(slot, inst, now, `duplicate: ${keeper} keeps it (epoch ${ctx.info(keeper, slot)!.epoch} vs ${inst.epoch})`);
    }
  }

  private holdsAny(ctx: ServiceContext, node: string, predicate: (info: PlacementInstance) => boolean = () => true): boolean {
    return ctx.slots.some((slot) => ctx.holders.get(slot)!.includes(node) && predicate(ctx.info(node, slot)!));
  }

  /**
   * `placed` / `relocate`, break-before-make: when every instance is held and quiet and a target
   * is free, the worst-ranked holder outside the targets stops; the vacancy then goes to a target.
   */
  private advanceMove(ctx: ServiceContext, now: number): void {
    const { intent, service } = ctx;
    if (intent.move === null || intent.settled) return;
    const to = intent.move.to;
    if (to !== null) {
      if (!ctx.decl.hosts.includes(to) || this.facts.isDead(to) || this.facts.isNodeFrozen(to) || this.facts.isServiceFrozenOn(to, service) || ctx.blocked.has(to)) {
        this.deps.intents.settleMove(service, `relocate to ${to} cancelled: the host cannot take it`);
        return;
      }
    }
    const targets = to !== null ? [to] : ctx.natural.filter((n) => ctx.eligible.has(n)).slice(0, ctx.decl.instances);
    const isRunningOn = (n: string) => this.holdsAny(ctx, n, (info) => info.state === CHILD_STATES.RUNNING);
    if (targets.length > 0 && targets.every(isRunningOn)) {
      this.deps.intents.settleMove(service, to !== null ? `relocated to ${to}` : `placed on ${targets.join(', ')}`);
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
    const inst = this.local.of(slot);
    if (isManagedHolder(inst)) this.local.stop(slot, inst, now, to !== null ? `relocate to ${to}` : 'placed: giving back to a better-ranked host');
  }

  /**
   * Vacant instances go to eligible hosts, fewest instances of the service first, then by rank.
   * The chosen host claims, waits the ready period and starts, unless a better-ranked host claims too.
   */
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
      const inst = this.local.of(slot);
      const rival = ctx.nodes.find((n) => n !== this.node && this.facts.isAlive(n) && ctx.info(n, slot)?.monitor === MONITOR.READY && rank(n) < rank(this.node));
      if (inst.monitor === MONITOR.READY) {
        if (assignment.get(slot) !== this.node) {
          this.local.setMonitor(slot, inst, MONITOR.IDLE, now, 'claim withdrawn: another host is placed first');
        } else if (rival !== undefined) {
          this.local.setMonitor(slot, inst, MONITOR.IDLE, now, `claim withdrawn: ${rival} is better ranked`);
        } else if (now - inst.monitorSinceMs >= this.deps.readyPeriodMs) {
          const previous = this.lastHolder.get(slot);
          const reason = previous !== undefined && previous !== this.node && this.facts.isDead(previous) ? `failover from ${previous}` : 'placed here';
          this.local.start(slot, inst, now, reason);
        }
      } else if (inst.monitor === MONITOR.IDLE && assignment.get(slot) === this.node && rival === undefined) {
        this.local.claim(slot, inst, now);
      }
    }
  }

  private trackFailovers(ctx: ServiceContext, now: number): void {
    for (const slot of ctx.slots) {
      const holders = ctx.holders.get(slot)!;
      if (holders.length === 0) continue;
      const current = [...holders].sort((a, b) => ctx.info(b, slot)!.epoch - ctx.info(a, slot)!.epoch)[0]!;
      const previous = this.lastHolder.get(slot);
      if (previous !== undefined && previous !== current) {
        if (this.facts.isDead(previous)) {
          this.lastFailover.set(ctx.service, { instance_id: slot, from: previous, to: current, at: now / 1000, reason: 'host expired' });
          this.deps.logger.info({ instance_id: slot, from: previous, to: current }, 'failed over');
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
}
