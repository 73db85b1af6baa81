/**
 * Candidate ranking for cluster services: pure, so that every HostManager computes the same
 * order from the same site file.
 *
 * - `nodes-order`: the order of the service's `hosts` list.
 * - `spread`: hosts sorted by FNV-1a of `service + "/" + host` (ties by list position), a stable
 *   pseudo-random order that spreads different services over different hosts.
 *
 * A rank override (relocate) puts one host first and keeps the others in their order.
 */
import { PLACEMENT, type Placement } from '../site-config/services.js';

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** 32-bit FNV-1a of the UTF-8 bytes of `text`, as an unsigned integer. */
export function fnv1a(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash >>> 0;
}

export interface RankInput {
  service: string;
  hosts: readonly string[];
  placement: Placement;
  /** A host to rank first (relocate), if it is one of `hosts`. */
  first?: string | null;
}

/** The service's hosts, best first. */
export function rankHosts(input: RankInput): string[] {
  const { service, hosts, placement } = input;
  let order: string[];
  if (placement === PLACEMENT.SPREAD) {
    order = hosts
      .map((host, index) => ({ host, index, hash: fnv1a(`${service}/${host}`) }))
      .sort((a, b) => a.hash - b.hash || a.index - b.index)
      .map((e) => e.host);
  } else {
    order = [...hosts];
  }
  const first = input.first;
  if (first !== undefined && first !== null && order.includes(first)) {
    order = [first, ...order.filter((h) => h !== first)];
  }
  return order;
}
