/**
 * The orchestrator's input from the Registry: which HostManagers heartbeat. The HostManager polls
 * the registry's `main` Process (`{root}.registry.ops` status main) about once a second and
 * passes the session through `registryViewFromSession`, or `REGISTRY_UNAVAILABLE` when the call
 * fails. Times in it are the registry's clock: they are only compared with one another.
 */
import { z } from 'zod';
import { AgentRecordSchema } from '../registry/agent-record.js';

export interface RegistryAgentView {
  expired: boolean;
  op_codes: Readonly<Record<string, number>>;
  /** Registry clock, unix seconds. */
  last_updated?: number;
}

/** The Registry's table as the HostManager last read it. */
export interface RegistryView {
  /** The registry answered and its `main` Process runs. */
  isAvailable: boolean;
  /** Start time of the registry's `main` session (registry clock, unix seconds). */
  registryStartedAtS: number | null;
  /** The registry's current time (registry clock); defaults to the newest `last_updated`. */
  registryTimeS?: number | null;
  /** By agent address. */
  agents: Readonly<Record<string, RegistryAgentView>>;
}

export const REGISTRY_UNAVAILABLE: RegistryView = Object.freeze({ isAvailable: false, registryStartedAtS: null, agents: Object.freeze({}) });

const MainSessionSchema = z.looseObject({
  status: z.string().nullable(),
  start_time: z.number(),
  data: z.record(z.string(), z.unknown()),
});

/** A view from the registry's `main` session (OCS `OpSession.encoded()`); records that do not parse are left out. */
export function registryViewFromSession(session: unknown): RegistryView {
  const parsed = MainSessionSchema.safeParse(session);
  if (!parsed.success || parsed.data.status !== 'running') return REGISTRY_UNAVAILABLE;
  const agents: Record<string, RegistryAgentView> = {};
  let newestS: number | null = null;
  for (const [address, raw] of Object.entries(parsed.data.data)) {
    const record = AgentRecordSchema.safeParse(raw);
    if (!record.success) continue;
    agents[address] = { expired: record.data.expired, op_codes: record.data.op_codes, last_updated: record.data.last_updated };
    if (newestS === null || record.data.last_updated > newestS) newestS = record.data.last_updated;
  }
  return { isAvailable: true, registryStartedAtS: parsed.data.start_time, registryTimeS: newestS, agents };
}
