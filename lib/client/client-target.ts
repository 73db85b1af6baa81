/**
 * Where a client goes: the agent address and the transport URL, from explicit options first,
 * then the site config (`siteConfig`, or `siteFile` read with the site-config loader: the hub
 * with the matching host's overrides), then the defaults (realm `test_realm`, root
 * `observatory`, as ocs-web). The transport is HTTP when a bridge URL is known, else WAMP,
 * unless one is asked for.
 */
import { ConfigError } from '../errors.js';
import { parseEnv } from '../site-config/env.js';
import { DEFAULT_ADDRESS_ROOT, DEFAULT_REALM } from '../site-config/site-defaults.js';

export { DEFAULT_ADDRESS_ROOT, DEFAULT_REALM };
import { resolveClientConfig, type ClientConfig } from '../site-config/resolve-client-config.js';
import type { ClientTransport, TransportKind } from './client-transport.js';


export interface ClientTargetOptions {
  /** An OCS site file; its hub (with the matching host's overrides) gives the URLs, realm and root. */
  siteFile?: string;
  /** A client config already resolved (e.g. from the command line by resolveClientConfig). */
  siteConfig?: ClientConfig;
  /** Router WebSocket URL (`hub.wamp_server`), e.g. `ws://localhost:8001/ws`. */
  url?: string;
  /** HTTP bridge URL (`hub.wamp_http`), e.g. `http://localhost:8001/call`. */
  httpUrl?: string;
  /** Default: the site's, else `test_realm`. */
  realm?: string;
  /** Default: the site's, else `observatory`. */
  addressRoot?: string;
  /** Default `http` when an HTTP bridge URL is known, else `wamp`. */
  transport?: TransportKind;
  /** An open transport to use instead of opening one; the client's `close()` leaves it open. */
  via?: ClientTransport;
}

export interface ClientTarget {
  /** `{address_root}.{instance_id}` */
  address: string;
  kind: TransportKind;
  /** The bridge URL for `http`, the WebSocket URL for `wamp`; empty with a `via` transport. */
  url: string;
  realm: string;
}

/** The hub from the site config (siteConfig, else siteFile), if any. Explicit options win over it. */
function siteHub(options: ClientTargetOptions): ClientConfig['hub'] | undefined {
  if (options.siteConfig) return options.siteConfig.hub;
  if (options.siteFile === undefined) return undefined;
  return resolveClientConfig({ argv: ['--site-file', options.siteFile], env: parseEnv({}) }).hub;
}

/** Resolves the target of a client of `instanceId`; ConfigError for a bad id, site file or no URL. */
export function resolveClientTarget(instanceId: string, options: ClientTargetOptions): ClientTarget {
  if (!instanceId || /[.#\s]/u.test(instanceId)) {
    throw new ConfigError(`invalid instance id ${JSON.stringify(instanceId)} (it becomes one URI component: no dots, "#" or whitespace)`, {
      details: { instanceId },
    });
  }
  const hub = siteHub(options);
  const addressRoot = options.addressRoot ?? hub?.addressRoot ?? DEFAULT_ADDRESS_ROOT;
  const address = `${addressRoot}.${instanceId}`;
  const realm = options.realm ?? hub?.wampRealm ?? DEFAULT_REALM;
  const wsUrl = options.url ?? hub?.wampServer;
  const httpUrl = options.httpUrl ?? hub?.wampHttp ?? undefined;
  const kind = options.via?.kind ?? options.transport ?? (httpUrl ? 'http' : 'wamp');
  const url = kind === 'http' ? httpUrl : wsUrl;
  if (!url && !options.via) {
    throw new ConfigError(
      kind === 'http'
        ? 'the HTTP transport needs the bridge URL (httpUrl, or hub.wamp_http in the site file)'
        : 'no router URL: give url or httpUrl, or a site file with hub.wamp_server / hub.wamp_http',
      { details: { instanceId, transport: kind } },
    );
  }
  return { address, kind, url: url ?? '', realm };
}
