import { createHash } from 'node:crypto';
import { ConfigError } from '../../lib/errors.js';
import { agentLaunchArgv } from '../../lib/site-config/agent-launch-argv.js';
import type { SiteConfig } from '../../lib/site-config/schema.js';
import type { SupervisedEntry } from '../../lib/supervisor/supervised-entry.js';

/** How this HostManager launches its children and which site-file block is its own. */
export interface EntryContext {
  /** Absolute path of the site file; every child gets the same one. */
  siteFile: string;
  /** The `hosts:` key this HostManager manages (its `--site-host` match). */
  hostKey: string;
  /** The HostManager's own instance id: never managed by itself. */
  selfInstanceId: string;
  /** The children's working directory (the HostManager's `--working-dir`). */
  workingDir: string;
  /** argv before `agent …`, e.g. `[node, /path/dist/bin/ocs.js]`. */
  launcher: readonly string[];
  /** Agent classes `ocs agent` can run; entries of other classes are skipped. null: no check. */
  knownClasses: ReadonlySet<string> | null;
}

/**
 * Set on each child: a digest of what the child reads from the site file for itself (hub, host
 * overrides, its class and arguments). The child's command line does not change when those do,
 * so the digest is what marks a running child `restart_required` after a config reload.
 */
export const ENV_SITE_DIGEST = 'OCS_SITE_DIGEST';

export interface SkippedEntry {
  id: string;
  agentClass: string;
  /** the target its `manage` asks for; shown, never acted on */
  target: 'up' | 'down';
  reason: string;
}

export interface EntriesPlan {
  entries: SupervisedEntry[];
  /** Listed entries this HostManager does not run, with the reason (ignore entries are not listed). */
  skipped: SkippedEntry[];
}

/**
 * The supervised entries of this host: its `agent-instances` whose `manage` is `host/up`,
 * `host/down` or `on-demand` (aliases are normalized by lib/site-config). The HostManager's own
 * entry is treated as `ignore`, as in OCS. Each child runs
 * `ocs agent --site-file F --site-host H --instance-id ID --working-dir W`; its environment is
 * the supervisor's base environment plus the site digest.
 */
export function buildEntries(site: SiteConfig, ctx: EntryContext): EntriesPlan {
  const host = site.hosts[ctx.hostKey];
  if (host === undefined) {
    throw new ConfigError(`${ctx.siteFile}: no host entry '${ctx.hostKey}' any more (hosts: ${Object.keys(site.hosts).join(', ') || 'none'})`, {
      details: { host: ctx.hostKey },
    });
  }
  const entries: SupervisedEntry[] = [];
  const skipped: SkippedEntry[] = [];
  const hostPart = {
    hub: site.hub,
    wampServer: host.wampServer,
    wampHttp: host.wampHttp,
    wampRealm: host.wampRealm,
    crossbarTimeoutS: host.crossbarTimeoutS,
    logDir: host.logDir,
  };
  for (const inst of host.agentInstances) {
    const id = inst.instanceId;
    if (id === ctx.selfInstanceId || inst.manage === 'ignore') continue;
    if (inst.manage === 'docker/up' || inst.manage === 'docker/down') {
      skipped.push({ id, agentClass: `[d]${inst.agentClass}`, target: inst.manage === 'docker/up' ? 'up' : 'down', reason: `manage ${inst.manage}: docker entries are not run by this HostManager` });
      continue;
    }
    if (ctx.knownClasses !== null && !ctx.knownClasses.has(inst.agentClass)) {
      skipped.push({ id, agentClass: inst.agentClass, target: inst.manage === 'host/down' || inst.manage === 'on-demand' ? 'down' : 'up', reason: `unknown agent class '${inst.agentClass}' (not operable)` });
      continue;
    }
    entries.push({
      instanceId: id,
      agentClass: inst.agentClass,
      manage: inst.manage,
      command: [...ctx.launcher, 'agent', ...agentLaunchArgv({ siteFile: ctx.siteFile, host: ctx.hostKey, instanceId: id, workingDir: ctx.workingDir })],
      cwd: ctx.workingDir,
      env: { [ENV_SITE_DIGEST]: siteDigest({ ...hostPart, agentClass: inst.agentClass, arguments: inst.arguments }) },
      ready: 'heartbeat',
      supervise: { ...inst.supervise },
    });
  }
  return { entries, skipped };
}

function siteDigest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}
