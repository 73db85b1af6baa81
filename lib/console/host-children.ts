/**
 * The HostManager view's rows: a HostManager's `manager` session data (OCS's `child_states`, and
 * where the supervisor adds them, `services` with pid, restarts and uptime) and the orchestrator's
 * `orchestrator` session data (cluster services: desired state, placement, holders, freeze).
 * A real OCS HostManager sends only `child_states`; the other columns are then empty (ours adds
 * `rss_bytes`, `cpu_percent`, `limit_breach` and `waiting_for` to each entry).
 */
import { z } from 'zod';

/** The supervisor verbs the view offers as buttons, each a task of the HostManager taking `ids`. */
export const CHILD_VERBS = ['start', 'stop', 'restart', 'suspend', 'resume', 'kill', 'remove'] as const;
export type ChildVerb = (typeof CHILD_VERBS)[number];

const ChildStateSchema = z.looseObject({
  instance_id: z.string(),
  agent_class: z.string().nullish(),
  next_action: z.string().nullish(),
  target_state: z.string().nullish(),
  state: z.string().optional(),
  rss_bytes: z.number().nullish(),
  cpu_percent: z.number().nullish(),
  limit_breach: z.string().nullish(),
  waiting_for: z.array(z.string()).nullish(),
});

const ServiceSchema = z.looseObject({
  state: z.string().nullish(),
  pid: z.number().nullish(),
  restarts: z.number().nullish(),
  uptime_s: z.number().nullish(),
  target: z.string().nullish(),
  reason: z.string().nullish(),
});

const ManagerDataSchema = z.looseObject({
  child_states: z.array(z.unknown()),
  services: z.record(z.string(), z.unknown()).optional(),
});

export interface ChildRow {
  instanceId: string;
  agentClass: string;
  /** the supervisor's state (RUNNING, STOPPED, …), else OCS's next_action */
  state: string;
  target: string;
  pid: number | null;
  restarts: number | null;
  uptimeS: number | null;
  reason: string | null;
  /** resident memory of the child's process group, and its CPU share (percent of one core) */
  rssBytes: number | null;
  cpuPercent: number | null;
  /** a limit breach that stopped a run, or what a PENDING child waits for */
  note: string | null;
}

export type ChildRowsResult = { ok: true; rows: ChildRow[]; problems: string[] } | { ok: false; error: string };

/** Rows of a HostManager's `manager` session data; entries that do not parse are problems. */
export function childRows(data: unknown): ChildRowsResult {
  const parsed = ManagerDataSchema.safeParse(data);
  if (!parsed.success) return { ok: false, error: 'manager session data has no child_states list' };
  const rows: ChildRow[] = [];
  const problems: string[] = [];
  for (const [i, raw] of parsed.data.child_states.entries()) {
    const entry = ChildStateSchema.safeParse(raw);
    if (!entry.success) {
      problems.push(`child_states[${i}] refused: ${entry.error.issues[0]?.message ?? 'bad entry'}`);
      continue;
    }
    const e = entry.data;
    const service = ServiceSchema.safeParse(parsed.data.services?.[e.instance_id]);
    const s = service.success ? service.data : undefined;
    rows.push({
      instanceId: e.instance_id,
      agentClass: e.agent_class ?? '',
      state: e.state ?? s?.state ?? e.next_action ?? '?',
      target: e.target_state ?? s?.target ?? '?',
      pid: s?.pid ?? null,
      restarts: s?.restarts ?? null,
      uptimeS: s?.uptime_s ?? null,
      reason: s?.reason ?? null,
      rssBytes: e.rss_bytes ?? null,
      cpuPercent: e.cpu_percent ?? null,
      note: (e.waiting_for?.length ?? 0) > 0 ? `waiting for ${e.waiting_for!.join(', ')}` : (e.limit_breach ?? null),
    });
  }
  rows.sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
  return { ok: true, rows, problems };
}

const ClusterServiceSchema = z.looseObject({
  global_expect: z.string().nullish(),
  frozen: z.boolean().nullish(),
  placement: z.string().nullish(),
  nodes: z.array(z.string()).optional(),
  ranking: z.array(z.string()).optional(),
  holders: z.array(z.looseObject({ instance_id: z.string(), node: z.string(), state: z.string().nullish() })).optional(),
});

const OrchestratorDataSchema = z.looseObject({
  node: z.string(),
  frozen: z.boolean().optional(),
  services: z.record(z.string(), z.unknown()),
});

export interface ServiceRow {
  service: string;
  globalExpect: string;
  isFrozen: boolean;
  placement: string;
  nodes: string[];
  /** `instance@node (state)` */
  holders: string[];
}

export interface OrchestratorView {
  node: string;
  isNodeFrozen: boolean;
  services: ServiceRow[];
}

export type OrchestratorViewResult = { ok: true; view: OrchestratorView } | { ok: false; error: string };

/** The orchestrator's `orchestrator` session data as rows. */
export function orchestratorView(data: unknown): OrchestratorViewResult {
  const parsed = OrchestratorDataSchema.safeParse(data);
  if (!parsed.success) return { ok: false, error: 'orchestrator session data has no node and services' };
  const services: ServiceRow[] = [];
  for (const [name, raw] of Object.entries(parsed.data.services)) {
    const s = ClusterServiceSchema.safeParse(raw);
    if (!s.success) {
      services.push({ service: name, globalExpect: '(unreadable)', isFrozen: false, placement: '', nodes: [], holders: [] });
      continue;
    }
    services.push({
      service: name,
      globalExpect: s.data.global_expect ?? '',
      isFrozen: s.data.frozen ?? false,
      placement: s.data.placement ?? '',
      nodes: s.data.ranking ?? s.data.nodes ?? [],
      holders: (s.data.holders ?? []).map((h) => `${h.instance_id}@${h.node}${h.state ? ` (${h.state})` : ''}`),
    });
  }
  services.sort((a, b) => (a.service < b.service ? -1 : 1));
  return { ok: true, view: { node: parsed.data.node, isNodeFrozen: parsed.data.frozen ?? false, services } };
}

/** `612 MB`, `1.5 GB`: a child's resident memory for the table (powers of 1024); `–` when unknown. */
export function memoryText(bytes: number | null): string {
  if (bytes === null) return '–';
  const mb = bytes / (1024 * 1024);
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)} GB` : `${Math.round(mb)} MB`;
}
