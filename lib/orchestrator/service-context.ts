/**
 * One service as a tick sees it: its instances (slots), the register, the host rankings, who holds
 * each instance, which hosts are blocked and which may take an instance. Built from `ClusterFacts`,
 * the orchestrator's judgement of every host (this one included), the same on every host that has
 * the same inputs.
 */
import { BLOCKING_MONITORS, MONITOR, type PlacementInstance } from './placement-message.js';
import { HELD_STATES } from './local-instances.js';
import type { ServiceDeclaration } from './orchestrator-types.js';
import { rankHosts } from './ranking.js';
import type { ServiceIntent } from './service-intent.js';

/** What the decisions read of the cluster, for any host (this one included). */
export interface ClusterFacts {
  readonly node: string;
  /** Every host named by a service, this one first. */
  readonly nodes: readonly string[];
  isAlive(node: string): boolean;
  isDead(node: string): boolean;
  instanceInfo(node: string, slot: string): PlacementInstance | null;
  isNodeFrozen(node: string): boolean;
  isLeaving(node: string): boolean;
  isServiceFrozenOn(node: string, service: string): boolean;
}

/** Per-tick view of one service. */
export interface ServiceContext {
  service: string;
  decl: ServiceDeclaration;
  slots: readonly string[];
  intent: ServiceIntent;
  nodes: readonly string[];
  /** The hosts in the service's own order. */
  natural: string[];
  /** The same with a pending relocate's target first. */
  effective: string[];
  info: (node: string, slot: string) => PlacementInstance | null;
  /** Hosts not dead that hold each slot. */
  holders: Map<string, string[]>;
  eligible: Set<string>;
  blocked: Set<string>;
}

export function isHeld(info: PlacementInstance | null): boolean {
  if (info === null) return false;
  return (info.state !== null && HELD_STATES.has(info.state)) || info.monitor === MONITOR.STARTING;
}

export function rankOf(order: readonly string[], node: string): number {
  const i = order.indexOf(node);
  return i < 0 ? order.length : i;
}

export function serviceContext(facts: ClusterFacts, service: string, decl: ServiceDeclaration, slots: readonly string[], intent: ServiceIntent): ServiceContext {
  const nodes = facts.nodes;
  const info = (node: string, slot: string) => facts.instanceInfo(node, slot);
  const natural = rankHosts({ service, hosts: decl.hosts, placement: decl.placement });
  const moveTo = intent.move !== null && !intent.settled ? intent.move.to : null;
  const effective = rankHosts({ service, hosts: decl.hosts, placement: decl.placement, first: moveTo });
  const holders = new Map<string, string[]>();
  for (const slot of slots) holders.set(slot, nodes.filter((n) => !facts.isDead(n) && isHeld(info(n, slot))));
  const blocked = new Set(nodes.filter((n) => slots.some((slot) => BLOCKING_MONITORS.includes(info(n, slot)?.monitor ?? MONITOR.IDLE))));
  const eligible = new Set(
    decl.hosts.filter(
      (n) => facts.isAlive(n) && !facts.isNodeFrozen(n) && !facts.isServiceFrozenOn(n, service) && !blocked.has(n) && !facts.isLeaving(n),
    ),
  );
  return { service, decl, slots, intent, nodes, natural, effective, info, holders, eligible, blocked };
}
