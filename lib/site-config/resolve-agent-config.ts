import { hostname as osHostname } from 'node:os';
import { ConfigError } from '../errors.js';
import type { AccessPolicy } from './access-policy.js';
import { deepFreeze, type DeepReadonly } from './deep-freeze.js';
import { DEFAULT_LOG_LEVEL, type LogLevel, type OcsEnv } from './env.js';
import { loadSiteConfig } from './load.js';
import { MANAGE, type Manage } from './manage.js';
import { mergeArguments } from './merge-arguments.js';
import { DEFAULT_CROSSBAR_TIMEOUT_S, type SiteConfig } from './schema.js';
import { checkSiteArgv, parseSiteArgv, type SiteFlags } from './site-argv.js';
import { absolutePath, findInstance, requireHost, siteFileFor } from './site-lookup.js';
import type { Supervise } from './supervise.js';

/** The hub an agent or client connects to, after every override. */
export interface ResolvedHub {
  readonly wampServer: string;
  readonly wampHttp: string | null;
  readonly wampRealm: string;
  readonly addressRoot: string;
  readonly accessPolicy: AccessPolicy;
}

export interface ResolvedInstance {
  readonly agentClass: string;
  readonly instanceId: string;
  /** The site file's `arguments:`, flattened and str()-ed (before the command line is merged). */
  readonly arguments: readonly string[];
  readonly manage: Manage;
  readonly supervise: DeepReadonly<Supervise>;
}

/** Everything an agent process needs to start, resolved from argv, environment and site file. */
export interface AgentConfig {
  /** Absolute path of the site file; null with `--site none`. */
  readonly siteFile: string | null;
  /** The loaded site file; null with `--site none`. */
  readonly site: SiteConfig | null;
  /** The matched `hosts:` key (may be `localhost`); null with `--site none`. */
  readonly host: string | null;
  readonly hub: ResolvedHub;
  readonly instance: ResolvedInstance;
  /** Seconds to wait for the router after a disconnect; 0 = never give up. */
  readonly crossbarTimeoutS: number;
  /** Absolute log directory, or null for none. */
  readonly logDir: string | null;
  readonly workingDir: string;
  readonly logLevel: LogLevel;
  /** The agent's own arguments: site-file arguments merged with the command line, site flags removed. */
  readonly agentArgv: readonly string[];
}

export interface ResolveAgentOptions {
  /** The command line after the command name (`ocs agent <argv>`). */
  argv: readonly string[];
  env: OcsEnv;
  /** The class being started; needed when no instance-id is given, checked when one is. */
  agentClass?: string;
  /** Defaults to os.hostname(). */
  hostname?: string;
  /** Defaults to process.cwd(). */
  cwd?: string;
  /** Defaults to loadSiteConfig. */
  loadSite?: (path: string) => SiteConfig;
}

/**
 * Resolves an agent's configuration as OCS's `site_config.parse_args` and `ocs-agent-cli` do.
 * Precedence per setting: command line, environment, the instance's site-file arguments,
 * the host entry, the hub, the default.
 */
export function resolveAgentConfig(options: ResolveAgentOptions): AgentConfig {
  const { argv, env } = options;
  const cwd = options.cwd ?? process.cwd();
  const cli = parseSiteArgv(argv).flags;
  const file = siteFileFor(cli, env);
  const instanceId = cli.instanceId ?? env.instanceId;
  const logLevel = env.logLevel ?? DEFAULT_LOG_LEVEL;

  if (file === null) return resolveWithoutSite(options, cli, cwd, logLevel);

  // A relative site file is relative to the process's directory (not --working-dir), as in OCS.
  const siteFile = absolutePath(file, cwd);
  const site = (options.loadSite ?? loadSiteConfig)(siteFile);
  const { key: hostKey, host } = requireHost(site, siteFile, cli.siteHost ?? env.siteHost ?? options.hostname ?? osHostname());
  const instance = findInstance(site, siteFile, hostKey, { instanceId, agentClass: options.agentClass });
  const fromSite = checkSiteArgv(instance.arguments).flags;
  const agentArgv = parseSiteArgv(mergeArguments(instance.arguments, argv)).rest;

  const workingDir = absolutePath(cli.workingDir ?? fromSite.workingDir ?? cwd, cwd);
  const logDir = cli.logDir ?? fromSite.logDir ?? host.logDir;
  return deepFreeze({
    siteFile,
    site,
    host: hostKey,
    hub: {
      wampServer: cli.siteHub ?? env.siteHub ?? fromSite.siteHub ?? host.wampServer ?? site.hub.wampServer,
      wampHttp: cli.siteHttp ?? env.siteHttp ?? fromSite.siteHttp ?? host.wampHttp ?? site.hub.wampHttp,
      wampRealm: cli.siteRealm ?? fromSite.siteRealm ?? host.wampRealm ?? site.hub.wampRealm,
      addressRoot: cli.addressRoot ?? fromSite.addressRoot ?? site.hub.addressRoot,
      accessPolicy: cli.accessPolicy ?? fromSite.accessPolicy ?? site.hub.accessPolicy,
    },
    instance: {
      agentClass: instance.agentClass,
      instanceId: instance.instanceId,
      arguments: instance.arguments,
      manage: instance.manage,
      supervise: instance.supervise,
    },
    crossbarTimeoutS: cli.crossbarTimeoutS ?? env.crossbarTimeoutS ?? fromSite.crossbarTimeoutS ?? host.crossbarTimeoutS,
    logDir: logDir === null ? null : absolutePath(logDir, workingDir),
    workingDir,
    logLevel,
    agentArgv,
  });
}

/** `--site none`: everything from the command line and environment (OCS needs them all given). */
function resolveWithoutSite(options: ResolveAgentOptions, cli: Readonly<SiteFlags>, cwd: string, logLevel: LogLevel): AgentConfig {
  const { env } = options;
  const need = <T>(value: T | undefined, flag: string, envName?: string): T => {
    if (value !== undefined) return value;
    throw new ConfigError(`--site none needs ${flag}${envName === undefined ? '' : ` (or ${envName})`}`, { details: { flag } });
  };
  const wampServer = need(cli.siteHub ?? env.siteHub, '--site-hub', 'SITE_HUB');
  const wampRealm = need(cli.siteRealm, '--site-realm');
  const addressRoot = need(cli.addressRoot, '--address-root');
  const instanceId = need(cli.instanceId ?? env.instanceId, '--instance-id', 'INSTANCE_ID');
  if (options.agentClass === undefined) {
    throw new ConfigError('--site none needs the agent class (there is no site file to look it up in)', { details: { flag: '--site' } });
  }
  const workingDir = absolutePath(cli.workingDir ?? cwd, cwd);
  return deepFreeze({
    siteFile: null,
    site: null,
    host: null,
    hub: {
      wampServer,
      wampHttp: cli.siteHttp ?? env.siteHttp ?? null,
      wampRealm,
      addressRoot,
      accessPolicy: cli.accessPolicy ?? { policy: 'none' },
    },
    instance: { agentClass: options.agentClass, instanceId, arguments: [], manage: MANAGE.HOST_UP, supervise: {} },
    crossbarTimeoutS: cli.crossbarTimeoutS ?? env.crossbarTimeoutS ?? DEFAULT_CROSSBAR_TIMEOUT_S,
    logDir: cli.logDir === undefined ? null : absolutePath(cli.logDir, workingDir),
    workingDir,
    logLevel,
    agentArgv: parseSiteArgv(options.argv).rest,
  });
}
