/**
 * The orchestrator part of the HostManager's session data (design §3.5): every host as this one
 * judges it, every service with its ranking, holders, local instances, blocks and last failover.
 */
import type { ChildState } from '../supervisor/child-record.js';
import type { LocalInstances } from './local-instances.js';
import type { FailoverRecord } from './orchestrator-types.js';
import type { PeerFeeds } from './peer-feeds.js';
import type { Monitor } from './placement-message.js';
import type { RegistryWatch, RegistryWatchView } from './registry-watch.js';
import type { ClusterFacts, ServiceContext } from './service-context.js';
import { displayedExpect, type RuntimeExpect } from './service-intent.js';

export interface ClusterView {
  node: string;
  frozen: boolean;
  maintenance_until: number | null;
  registry: RegistryWatchView;
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

export interface ClusterViewInput {
  nowMs: number;
  facts: ClusterFacts;
  isFrozen: boolean;
  maintenanceUntilMs: number | null;
  blindReason: string | null;
  registry: RegistryWatch;
  peers: PeerFeeds;
  local: LocalInstances;
  /** The registry address of a host's HostManager. */
  supervisorAddress: (node: string) => string;
  managerOpName: string;
  load1: () => number | null;
  contexts: readonly ServiceContext[];
  driftedPeers: (service: string) => string[];
  lastFailoverOf: (service: string) => FailoverRecord | null;
}

export function clusterView(input: ClusterViewInput): ClusterView {
  const { nowMs: now, facts, registry, peers } = input;
  const nodes: ClusterView['nodes'] = {};
  for (const node of [...facts.nodes].sort()) {
    const agent = registry.agent(input.supervisorAddress(node));
    const peer = peers.get(node);
    const isSelf = node === facts.node;
    const maintenanceEndMs = isSelf ? input.maintenanceUntilMs : (peer?.maintenanceEndMs ?? null);
    nodes[node] = {
      alive: facts.isAlive(node),
      dead: facts.isDead(node),
      frozen: facts.isNodeFrozen(node),
      maintenance_until: maintenanceEndMs !== null && maintenanceEndMs > now ? maintenanceEndMs / 1000 : null,
      manager_op: agent?.op_codes[input.managerOpName] ?? null,
      load1: isSelf ? input.load1() : (peer?.message?.load1 ?? null),
      feed_age_s: isSelf ? 0 : peer?.receivedAtMs != null ? (now - peer.receivedAtMs) / 1000 : null,
      not_alive_for_s: peer?.notAliveSinceMs != null ? (now - peer.notAliveSinceMs) / 1000 : null,
    };
  }
  const services: ClusterView['services'] = {};
  for (const ctx of input.contexts) {
    const holders: ClusterView['services'][string]['holders'] = [];
    for (const slot of ctx.slots) {
      for (const node of ctx.holders.get(slot)!) {
        const info = ctx.info(node, slot)!;
        holders.push({ instance_id: slot, node, epoch: info.epoch, state: info.state });
      }
    }
    const local: ClusterView['services'][string]['local'] = {};
    for (const slot of ctx.slots) {
      const inst = input.local.of(slot);
      local[slot] = { monitor: inst.monitor, state: inst.state, epoch: inst.epoch };
    }
    services[ctx.service] = {
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
      config_drift: input.blindReason === null ? input.driftedPeers(ctx.service) : [],
      last_failover: input.lastFailoverOf(ctx.service),
    };
  }
  const maintenanceUntilMs = input.maintenanceUntilMs;
  return {
    node: facts.node,
    frozen: input.isFrozen,
    maintenance_until: maintenanceUntilMs !== null && maintenanceUntilMs > now ? maintenanceUntilMs / 1000 : null,
    registry: registry.describe(input.blindReason),
    nodes,
    services,
  };
}
