import { z } from 'zod';
import type { Supervise } from '../site-config/supervise.js';
import { ChildIdSchema, ChildSpecSchema, SignalSchema, type ChildSpec } from './child-record.js';
import { DEFAULT_RESTART_POLICY, RESTART_MODES } from './restart-policy.js';

/**
 * Input from the site file: one agent instance the supervisor manages. The agent layer builds
 * these from the site config (`manage:` and the optional `supervise:` block) and supplies the
 * command line, environment and working directory; the core never reads env or argv itself.
 */

/** `manage:` values as normalized by lib/site-config. */
export const ENTRY_MANAGE = ['host/up', 'host/down', 'docker/up', 'docker/down', 'ignore', 'on-demand'] as const;
export type EntryManage = (typeof ENTRY_MANAGE)[number];

/** Restart a heartbeat-ready agent whose heartbeats stayed expired this long (when enabled). */
export const DEFAULT_HUNG_RESTART_AFTER_MS = 10_000;

/** The site file's `supervise:` block, normalized: lib/site-config's `Supervise`, checked again here. */
export const SuperviseSettingsSchema = z
  .object({
    restart: z.enum(RESTART_MODES).optional(),
    minUptimeS: z.number().nonnegative().optional(),
    maxFailures: z.number().int().nonnegative().nullable().optional(),
    failureWindowS: z.number().positive().optional(),
    backoffInitialS: z.number().nonnegative().optional(),
    backoffMaxS: z.number().nonnegative().optional(),
    stopSignal: SignalSchema.optional(),
    stopTimeoutS: z.number().positive().optional(),
    restartOnExpired: z.boolean().optional(),
    memoryMaxBytes: z.number().int().positive().optional(),
    cpuMaxPercent: z.number().positive().optional(),
    nofile: z.number().int().positive().optional(),
    requires: z.array(ChildIdSchema).readonly().optional(),
    after: z.array(ChildIdSchema).readonly().optional(),
    dependencyTimeoutS: z.number().positive().optional(),
  })
  .strict();
/** The same type as the site config's (one definition: lib/site-config/supervise.ts). */
export type SuperviseSettings = Readonly<Supervise>;

export const SupervisedEntrySchema = z
  .object({
    instanceId: ChildIdSchema,
    agentClass: z.string().nullable().optional(),
    manage: z.enum(ENTRY_MANAGE),
    /** argv of the child, e.g. [node, dist/bin/ocs.js, 'agent', '--site-file', F, '--site-host', H, '--instance-id', ID]. */
    command: z.array(z.string()).min(1),
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().nullable().optional(),
    /** heartbeat (default for agents): RUNNING once the registry sees it; uptime: after min uptime. */
    ready: z.enum(['uptime', 'heartbeat']).optional(),
    supervise: SuperviseSettingsSchema.optional(),
  })
  .strict();
export type SupervisedEntryInput = z.input<typeof SupervisedEntrySchema>;
export interface SupervisedEntry {
  instanceId: string;
  agentClass?: string | null;
  manage: EntryManage;
  command: string[];
  env?: Record<string, string>;
  cwd?: string | null;
  ready?: 'uptime' | 'heartbeat';
  supervise?: SuperviseSettings;
}

export interface EntryPlan {
  spec: ChildSpec;
  /** Target for a newly tracked entry, and for one nobody overrode since. */
  target: 'up' | 'down';
}

const secondsToMs = (s: number) => Math.round(s * 1000);

/**
 * The child spec for a site-file entry, or null for entries this supervisor does not run
 * (docker/* belong to a docker driver, ignore is not managed). `on-demand` entries start with
 * target down and default to restart mode `never`: they run when asked for and are not brought
 * back automatically when they exit (an explicit `supervise.restart` still wins).
 */
export function planEntry(entry: SupervisedEntry): EntryPlan | null {
  const e = SupervisedEntrySchema.parse(entry);
  if (e.manage !== 'host/up' && e.manage !== 'host/down' && e.manage !== 'on-demand') return null;
  const sv = e.supervise ?? {};
  const ready = e.ready ?? 'heartbeat';
  const restart = { ...DEFAULT_RESTART_POLICY };
  if (e.manage === 'on-demand') restart.mode = 'never';
  if (sv.restart !== undefined) restart.mode = sv.restart;
  if (sv.minUptimeS !== undefined) restart.minUptimeMs = secondsToMs(sv.minUptimeS);
  if (sv.maxFailures !== undefined) restart.maxRestarts = sv.maxFailures;
  if (sv.failureWindowS !== undefined) restart.windowMs = secondsToMs(sv.failureWindowS);
  if (sv.backoffInitialS !== undefined) restart.backoffInitialMs = secondsToMs(sv.backoffInitialS);
  if (sv.backoffMaxS !== undefined) restart.backoffCapMs = secondsToMs(sv.backoffMaxS);
  const isHungRestart = sv.restartOnExpired ?? ready === 'heartbeat';
  const spec = ChildSpecSchema.parse({
    id: e.instanceId,
    source: 'config',
    agentClass: e.agentClass ?? null,
    cmd: e.command,
    cwd: e.cwd ?? null,
    env: e.env,
    ready,
    hungRestartAfterMs: isHungRestart ? DEFAULT_HUNG_RESTART_AFTER_MS : null,
    restart,
    limits: { memoryMaxBytes: sv.memoryMaxBytes ?? null, cpuMaxPercent: sv.cpuMaxPercent ?? null, nofile: sv.nofile ?? null },
    requires: [...(sv.requires ?? [])],
    after: [...(sv.after ?? [])],
    ...(sv.dependencyTimeoutS !== undefined ? { dependencyTimeoutMs: secondsToMs(sv.dependencyTimeoutS) } : {}),
    ...(sv.stopSignal !== undefined ? { stopSignal: sv.stopSignal } : {}),
    ...(sv.stopTimeoutS !== undefined ? { stopTimeoutMs: secondsToMs(sv.stopTimeoutS) } : {}),
  });
  return { spec, target: e.manage === 'host/up' ? 'up' : 'down' };
}

/**
 * Whether two specs differ in what the running process was started with (the open-files limit
 * is set at launch; memory and CPU limits apply to the running process at the next sample).
 */
export function isLaunchChanged(a: ChildSpec, b: ChildSpec): boolean {
  return JSON.stringify([a.cmd, a.cwd, a.env, a.limits.nofile]) !== JSON.stringify([b.cmd, b.cwd, b.env, b.limits.nofile]);
}
