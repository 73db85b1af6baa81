/**
 * The other hosts as their placement feeds show them: the last message of each (late, repeated
 * and junk messages dropped), when it arrived (local clock), its maintenance window in local time,
 * and the liveness judgement (alive, and dead after `failoverGraceMs` of not alive).
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import type { OrchestratorOptions } from './orchestrator-types.js';
import { parsePlacementMessage, type PlacementInstance, type PlacementMessage } from './placement-message.js';

export interface PeerState {
  message: PlacementMessage | null;
  receivedAtMs: number | null;
  /** Local time at which the announced maintenance window ends. */
  maintenanceEndMs: number | null;
  notAliveSinceMs: number | null;
  isAlive: boolean;
  isDead: boolean;
}

export class PeerFeeds {
  private readonly peers = new Map<string, PeerState>();
  private readonly drops: RateLimitedLog;

  constructor(
    private readonly node: string,
    peerNodes: Iterable<string>,
    clock: Clock,
    private readonly logger: Logger,
    private readonly options: Pick<OrchestratorOptions, 'placementStaleMs' | 'failoverGraceMs'>,
  ) {
    this.drops = new RateLimitedLog({ clock, logger, message: 'placement message dropped' });
    for (const peer of peerNodes) {
      if (peer !== node) this.peers.set(peer, { message: null, receivedAtMs: null, maintenanceEndMs: null, notAliveSinceMs: null, isAlive: false, isDead: false });
    }
  }

  /** Takes a feed event; returns the message when it is a new one from a known peer, else null. */
  accept(raw: unknown, receivedAtMs: number): PlacementMessage | null {
    const parsed = parsePlacementMessage(raw);
    if (!parsed.ok) {
      this.drops.note('invalid', { problem: parsed.reason });
      return null;
    }
    const msg = parsed.message;
    if (msg.node === this.node) return null; // our own, echoed back
    const peer = this.peers.get(msg.node);
    if (peer === undefined) {
      this.drops.note('unknown_node', { from: msg.node });
      return null;
    }
    const prev = peer.message;
    if (prev !== null && prev.incarnation === msg.incarnation && msg.seq <= prev.seq) return null; // late or repeated
    peer.message = msg;
    peer.receivedAtMs = receivedAtMs;
    peer.maintenanceEndMs = msg.maintenance_until === null ? null : receivedAtMs + Math.max(0, msg.maintenance_until - msg.time) * 1000;
    return msg;
  }

  /**
   * Judges every peer: alive when the registry lists it (`isListed`) and its feed is fresh; dead
   * after `failoverGraceMs` of not alive, outside its maintenance window. While `blindReason` is
   * set nothing is judged: the grace period starts again once the view is trusted.
   */
  refresh(now: number, blindReason: string | null, isListed: (node: string) => boolean): void {
    for (const [node, peer] of this.peers) {
      const isFresh = peer.receivedAtMs !== null && now - peer.receivedAtMs < this.options.placementStaleMs;
      const isAlive = blindReason === null && isFresh && isListed(node);
      peer.isAlive = isAlive;
      if (blindReason !== null) {
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

  get(node: string): PeerState | undefined {
    return this.peers.get(node);
  }

  isAlive(node: string): boolean {
    return this.peers.get(node)?.isAlive ?? false;
  }

  /** An unknown host counts as dead. */
  isDead(node: string): boolean {
    return this.peers.get(node)?.isDead ?? true;
  }

  instance(node: string, slot: string): PlacementInstance | null {
    return this.peers.get(node)?.message?.services[slot] ?? null;
  }

  isFrozen(node: string): boolean {
    return this.peers.get(node)?.message?.frozen ?? false;
  }

  isLeaving(node: string): boolean {
    return this.peers.get(node)?.message?.leaving ?? false;
  }

  hasFrozen(node: string, service: string): boolean {
    return this.peers.get(node)?.message?.frozen_services.includes(service) ?? false;
  }

  /** The greatest intent generation any peer published for the service. */
  maxIntentGen(service: string): number {
    let gen = 0;
    for (const peer of this.peers.values()) gen = Math.max(gen, peer.message?.intents[service]?.gen ?? 0);
    return gen;
  }

  /** Alive peers among `hosts` whose placement settings hash for the service differs from `mine`. */
  drifted(service: string, hosts: readonly string[], mine: string | undefined): string[] {
    const out: string[] = [];
    for (const host of hosts) {
      if (host === this.node || !this.isAlive(host)) continue;
      const theirs = this.peers.get(host)?.message?.service_hashes[service];
      if (theirs !== mine) out.push(host);
    }
    return out;
  }

  /** The last message of every peer not dead (for checks across the cluster, such as a rollout under way). */
  liveMessages(): PlacementMessage[] {
    return [...this.peers.values()].filter((p) => p.message !== null && !p.isDead).map((p) => p.message as PlacementMessage);
  }

  close(): void {
    this.drops.close();
  }
}
