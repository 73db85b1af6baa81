/**
 * The Registry view's table: every agent the Registry tracks (its record in `main`'s session
 * data, kept current by `agent_status` events), sortable by any column, last-seen age computed at
 * the moment of drawing so it ticks.
 */
import type { ConsoleAgent } from './agent-directory.js';

export const REGISTRY_COLUMNS = ['address', 'agent_class', 'status', 'last_seen', 'restarts'] as const;
export type RegistryColumn = (typeof REGISTRY_COLUMNS)[number];

export interface RegistryRow {
  address: string;
  instanceId: string;
  agentClass: string;
  isExpired: boolean;
  /** seconds since the Registry last heard the agent */
  lastSeenAgeS: number;
  opCodes: Record<string, number>;
  restarts: number;
}

export interface RegistrySort {
  column: RegistryColumn;
  isDescending: boolean;
}

function compare(a: RegistryRow, b: RegistryRow, column: RegistryColumn): number {
  switch (column) {
    case 'address':
      return a.address.localeCompare(b.address);
    case 'agent_class':
      return a.agentClass.localeCompare(b.agentClass) || a.address.localeCompare(b.address);
    case 'status':
      return Number(a.isExpired) - Number(b.isExpired) || a.address.localeCompare(b.address);
    case 'last_seen':
      return a.lastSeenAgeS - b.lastSeenAgeS || a.address.localeCompare(b.address);
    case 'restarts':
      return a.restarts - b.restarts || a.address.localeCompare(b.address);
  }
}

/** Rows of the agents with a Registry record, sorted. */
export function registryRows(agents: Iterable<ConsoleAgent>, nowMs: number, sort: RegistrySort): RegistryRow[] {
  const rows: RegistryRow[] = [];
  for (const agent of agents) {
    const r = agent.registry;
    if (r === null) continue;
    rows.push({
      address: agent.address,
      instanceId: agent.instanceId,
      agentClass: r.agent_class ?? agent.agentClass ?? '',
      isExpired: r.expired,
      lastSeenAgeS: Math.max(0, nowMs / 1000 - r.last_updated),
      opCodes: r.op_codes,
      restarts: agent.restarts,
    });
  }
  rows.sort((a, b) => (sort.isDescending ? -compare(a, b, sort.column) : compare(a, b, sort.column)));
  return rows;
}

/** `3 s`, `4 min 10 s`, `2 h 5 min`. */
export function ageText(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
