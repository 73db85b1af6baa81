import { createHash } from 'node:crypto';
import { agentLaunchArgv } from '../../lib/site-config/agent-launch-argv.js';
import type { SiteConfig } from '../../lib/site-config/schema.js';
import type { SupervisedEntry } from '../../lib/supervisor/supervised-entry.js';
import { ENV_SITE_DIGEST, type EntryContext } from './entries.js';

/** The agent class of the HostManager, as listed under each host of the site file. */
export const HOST_MANAGER_CLASS = 'HostManager';

/**
 * The supervised entries of the cluster service instances this host may hold: every instance of
 * every service whose `hosts` lists this host. The holding host's HostManager launches one as
 * `ocs agent --site-file F --site-host <this host> --instance-id <id>` (lib/site-config resolves a
 * service instance for any of the service's hosts).
 *
 * Each entry is `host/down` (a new entry never starts by itself) and restart mode `never`: the
 * orchestrator alone starts an instance, so a HostManager restarted after its instance vanished
 * never brings it back on its own while a peer took it over. A local exit frees the instance; the
 * orchestrator places it again (this host first, if it still ranks best) after the ready period,
 * and the service's `supervise` failure budget (`max-failures` within `failure-window`) decides
 * when this host gives up (`start_failed`, see OrchestratorBinding).
 */
export function clusterEntries(site: SiteConfig, ctx: EntryContext): SupervisedEntry[] {
  const host = site.hosts[ctx.hostKey];
  const entries: SupervisedEntry[] = [];
  for (const service of Object.values(site.services)) {
    if (!service.hosts.includes(ctx.hostKey)) continue;
    const digest = createHash('sha256')
      .update(JSON.stringify({ hub: site.hub, host, agentClass: service.agentClass, arguments: service.arguments }))
      .digest('hex')
      .slice(0, 16);
    for (const instanceId of service.instanceIds) {
      entries.push({
        instanceId,
        agentClass: service.agentClass,
        manage: 'host/down',
        command: [...ctx.launcher, 'agent', ...agentLaunchArgv({ siteFile: ctx.siteFile, host: ctx.hostKey, instanceId, workingDir: ctx.workingDir })],
        cwd: ctx.workingDir,
        env: { [ENV_SITE_DIGEST]: digest },
        ready: 'heartbeat',
        supervise: { ...service.supervise, restart: 'never' },
      });
    }
  }
  return entries;
}

/**
 * The HostManager instance-id of each host (its first `HostManager` entry), `self` for this host,
 * `hm-<host>` for a host without one. Peers are judged by these agents' registry records.
 */
export function hostManagerIds(site: SiteConfig, self: { host: string; instanceId: string }): Map<string, string> {
  const ids = new Map<string, string>();
  for (const [key, host] of Object.entries(site.hosts)) {
    const hm = host.agentInstances.find((i) => i.agentClass === HOST_MANAGER_CLASS);
    ids.set(key, hm?.instanceId ?? `hm-${key}`);
  }
  ids.set(self.host, self.instanceId);
  return ids;
}
