import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { OcsEnv } from './env.js';
import { formatPath, siteConfigError } from './issues.js';
import { MANAGE } from './manage.js';
import { FALLBACK_HOST, type HostConfig, type InstanceConfig, type SiteConfig } from './schema.js';
import type { SiteFlags } from './site-argv.js';

/** `--site none`: use no site file at all (OCS). */
export const SITE_NONE = 'none';

/** The site name used when neither --site nor --site-file is given. */
export const DEFAULT_SITE = 'default';

/**
 * Which site file to read: `--site-file`, else `$OCS_CONFIG_DIR/<--site or default>.yaml`;
 * null for `--site none`.
 */
export function siteFileFor(flags: Readonly<SiteFlags>, env: OcsEnv): string | null {
  if (flags.site !== undefined && flags.siteFile !== undefined) {
    throw new ConfigError('--site and --site-file are exclusive; give one of them', { details: { flag: '--site' } });
  }
  if (flags.site === SITE_NONE) return null;
  if (flags.siteFile !== undefined) return flags.siteFile;
  const name = flags.site ?? DEFAULT_SITE;
  if (env.configDir === undefined) {
    const how = flags.site === undefined ? 'give --site-file, or set OCS_CONFIG_DIR' : `set OCS_CONFIG_DIR (--site ${name} reads $OCS_CONFIG_DIR/${name}.yaml)`;
    throw new ConfigError(`no site file: ${how}`, { details: { flag: flags.site === undefined ? '--site-file' : '--site' } });
  }
  return join(env.configDir, `${name}.yaml`);
}

/** An absolute form of a path given relative to `cwd`. */
export function absolutePath(path: string, cwd: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}

/**
 * OCS's host lookup: the host's own entry, else `localhost`. Returns the matched key, or
 * undefined if neither exists.
 */
export function matchHost(site: SiteConfig, hostname: string): string | undefined {
  for (const key of [hostname, FALLBACK_HOST]) if (Object.hasOwn(site.hosts, key)) return key;
  return undefined;
}

/** As matchHost, but no match is a ConfigError naming the file. */
export function requireHost(site: SiteConfig, file: string, hostname: string): { key: string; host: HostConfig } {
  const key = matchHost(site, hostname);
  if (key === undefined) {
    const known = Object.keys(site.hosts);
    const list = known.length === 0 ? 'there are no hosts' : `known hosts: ${known.join(', ')}`;
    throw siteConfigError(file, [{ path: 'hosts', message: `no entry for host '${hostname}' and no '${FALLBACK_HOST}' entry (${list}); pass --site-host` }]);
  }
  return { key, host: site.hosts[key] as HostConfig };
}

/**
 * The instance of a cluster service (top-level `services:`) that `hostKey` may run, or undefined
 * when `instanceId` is no service instance. It runs on whichever of the service's hosts holds it,
 * started by that host's HostManager (`on-demand`: never by the site file alone).
 */
function findServiceInstance(site: SiteConfig, file: string, hostKey: string, instanceId: string): InstanceConfig | undefined {
  for (const [name, service] of Object.entries(site.services)) {
    if (!service.instanceIds.includes(instanceId)) continue;
    if (!service.hosts.includes(hostKey)) {
      throw siteConfigError(file, [
        { path: formatPath(['services', name, 'hosts']), message: `'${instanceId}' is an instance of service '${name}', which does not run on host '${hostKey}' (hosts: ${service.hosts.join(', ')})` },
      ]);
    }
    return { agentClass: service.agentClass, instanceId, arguments: service.arguments, manage: MANAGE.ON_DEMAND, supervise: service.supervise };
  }
  return undefined;
}

/**
 * OCS's instance lookup on one host: by instance-id if given, else the unique instance of the
 * agent class. Given both, the entry's class must match. An instance-id not under the host may
 * be an instance of a cluster service that lists the host.
 */
export function findInstance(
  site: SiteConfig,
  file: string,
  hostKey: string,
  wanted: { instanceId?: string | undefined; agentClass?: string | undefined },
): InstanceConfig {
  const host = site.hosts[hostKey] as HostConfig;
  const path = formatPath(['hosts', hostKey, 'agent-instances']);
  const fail = (message: string) => siteConfigError(file, [{ path, message }]);
  const { instanceId, agentClass } = wanted;
  if (instanceId !== undefined) {
    const found = host.agentInstances.find((i) => i.instanceId === instanceId) ?? findServiceInstance(site, file, hostKey, instanceId);
    if (found === undefined) {
      const elsewhere = Object.entries(site.hosts)
        .filter(([, h]) => h.agentInstances.some((i) => i.instanceId === instanceId))
        .map(([k]) => k);
      const hint = elsewhere.length > 0 ? ` (it is under ${elsewhere.map((k) => formatPath(['hosts', k])).join(', ')}; pass --site-host)` : '';
      throw fail(`no instance-id '${instanceId}'${hint}`);
    }
    if (agentClass !== undefined && found.agentClass !== agentClass) {
      throw fail(`instance-id '${instanceId}' is a ${found.agentClass}, not a ${agentClass}`);
    }
    return found;
  }
  if (agentClass === undefined) {
    throw new ConfigError('--instance-id (or INSTANCE_ID) is required', { details: { flag: '--instance-id' } });
  }
  const matches = host.agentInstances.filter((i) => i.agentClass === agentClass);
  if (matches.length === 0) throw fail(`no instance of agent-class ${agentClass}`);
  if (matches.length > 1) {
    throw fail(`${matches.length} instances of agent-class ${agentClass} (${matches.map((i) => i.instanceId).join(', ')}); pass --instance-id`);
  }
  return matches[0] as InstanceConfig;
}

/** The instance id of the site's first RegistryAgent (hosts in file order), or null. */
export function siteRegistryId(site: SiteConfig): string | null {
  for (const host of Object.values(site.hosts)) for (const i of host.agentInstances) if (i.agentClass === 'RegistryAgent') return i.instanceId;
  return null;
}

/** Every instance id of the site: the hosts' agent instances and the services' instances. */
export function siteInstanceIds(site: SiteConfig): Set<string> {
  const ids = new Set<string>();
  for (const host of Object.values(site.hosts)) for (const i of host.agentInstances) ids.add(i.instanceId);
  for (const service of Object.values(site.services)) for (const id of service.instanceIds) ids.add(id);
  return ids;
}
