import { hostname as osHostname } from 'node:os';
import { ConfigError } from '../errors.js';
import { deepFreeze } from './deep-freeze.js';
import { DEFAULT_LOG_LEVEL, type LogLevel, type OcsEnv } from './env.js';
import { loadSiteConfig } from './load.js';
import type { ResolvedHub } from './resolve-agent-config.js';
import type { HostConfig, SiteConfig } from './schema.js';
import { parseSiteArgv } from './site-argv.js';
import { absolutePath, matchHost, siteFileFor } from './site-lookup.js';

/** What a client (CLI, scripts, tests) needs: the hub, after every override. */
export interface ClientConfig {
  readonly siteFile: string | null;
  readonly site: SiteConfig | null;
  /** The matched `hosts:` key, or null when no host entry matches (fine for clients). */
  readonly host: string | null;
  readonly hub: ResolvedHub;
  readonly logLevel: LogLevel;
  /** The command line without the site flags. */
  readonly rest: readonly string[];
}

export interface ResolveClientOptions {
  argv: readonly string[];
  env: OcsEnv;
  hostname?: string;
  cwd?: string;
  loadSite?: (path: string) => SiteConfig;
}

/**
 * Resolves a client's hub as OCS does for `*control*` clients: the host entry is optional
 * (its wamp_* overrides apply when it matches), then the command line and environment win.
 */
export function resolveClientConfig(options: ResolveClientOptions): ClientConfig {
  const { env } = options;
  const cwd = options.cwd ?? process.cwd();
  const { flags: cli, rest } = parseSiteArgv(options.argv);
  const file = siteFileFor(cli, env);
  const logLevel = env.logLevel ?? DEFAULT_LOG_LEVEL;

  if (file === null) {
    const need = (value: string | undefined, flag: string, envName?: string): string => {
      if (value !== undefined) return value;
      throw new ConfigError(`--site none needs ${flag}${envName === undefined ? '' : ` (or ${envName})`}`, { details: { flag } });
    };
    return deepFreeze({
      siteFile: null,
      site: null,
      host: null,
      hub: {
        wampServer: need(cli.siteHub ?? env.siteHub, '--site-hub', 'SITE_HUB'),
        wampHttp: httpOf(cli, env, null),
        wampRealm: need(cli.siteRealm, '--site-realm'),
        addressRoot: need(cli.addressRoot, '--address-root'),
        accessPolicy: cli.accessPolicy ?? { policy: 'none' },
      },
      logLevel,
      rest,
    });
  }

  const siteFile = absolutePath(file, cwd);
  const site = (options.loadSite ?? loadSiteConfig)(siteFile);
  const hostKey = matchHost(site, cli.siteHost ?? env.siteHost ?? options.hostname ?? osHostname()) ?? null;
  const host: HostConfig | undefined = hostKey === null ? undefined : site.hosts[hostKey];
  return deepFreeze({
    siteFile,
    site,
    host: hostKey,
    hub: {
      wampServer: cli.siteHub ?? env.siteHub ?? host?.wampServer ?? site.hub.wampServer,
      wampHttp: httpOf(cli, env, host?.wampHttp ?? site.hub.wampHttp),
      wampRealm: cli.siteRealm ?? host?.wampRealm ?? site.hub.wampRealm,
      addressRoot: cli.addressRoot ?? site.hub.addressRoot,
      accessPolicy: cli.accessPolicy ?? site.hub.accessPolicy,
    },
    logLevel,
    rest,
  });
}

/**
 * The HTTP bridge to use: the one named at the level (flag, then environment) that names a router,
 * so a `--site-hub` never goes with the site file's bridge of another router. A hub named without
 * a bridge gets the bridge beside its WebSocket (`ws://H:P/ws` → `http://H:P/call`), or none (WAMP).
 */
function httpOf(cli: { siteHub?: string | undefined; siteHttp?: string | undefined }, env: { siteHub?: string | undefined; siteHttp?: string | undefined }, fromSite: string | null): string | null {
  for (const level of [cli, env]) {
    if (level.siteHttp !== undefined) return level.siteHttp;
    if (level.siteHub !== undefined) return bridgeBesideHub(level.siteHub);
  }
  return fromSite;
}

/** `ws://H:P/ws` → `http://H:P/call`; null for a hub at another path. */
export function bridgeBesideHub(hub: string): string | null {
  const m = /^(ws|wss):\/\/([^/]+)\/ws\/?$/.exec(hub);
  return m === null ? null : `${m[1] === 'wss' ? 'https' : 'http'}://${m[2]}/call`;
}
