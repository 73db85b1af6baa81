/**
 * The router's default configuration, built without the validator: `ocs router` and
 * `startRouter()` without a config use it, and load zod and yaml (config.ts) only when a
 * config file or input has to be checked. config.test.ts holds it equal to what config.ts makes
 * of an empty input.
 */
import { deepFreeze } from '../site-config/deep-freeze.js';
import { DEFAULT_ADDRESS_ROOT, DEFAULT_REALM, DEFAULT_REGISTRY_ID } from '../site-config/site-defaults.js';
import type { RealmConfig, RouterConfig, RouterConfigInput } from './config.js';

export { DEFAULT_REALM };

export const LIMIT_DEFAULTS = {
  outbound_high_water_bytes: 4 * 1024 * 1024,
  outbound_max_bytes: 64 * 1024 * 1024,
  http_max_body_bytes: 16 * 1024 * 1024,
  handshake_timeout_ms: 10_000,
  auto_ping_interval_ms: 30_000,
  http_request_timeout_ms: 10_000,
  http_max_connections: 4096,
  max_messages_per_frame: 1000,
};

export const MAX_MESSAGE_BYTES_DEFAULT = 16 * 1024 * 1024;
export const HTTP_BRIDGE_AUTHID_DEFAULT = 'http-bridge';
export const HTTP_BRIDGE_DEFAULTS = { enabled: true, authid: HTTP_BRIDGE_AUTHID_DEFAULT, allowed_origins: [], allowed_hosts: [] };
export const HTTP_PUBLISHER_DEFAULTS = { enabled: true, authid: 'http-publisher', timestamp_delta_limit: 300 };
/** The web console at /console/ (console-assets.ts): what the page is told to connect to. */
export const CONSOLE_DEFAULTS = { enabled: true, address_root: DEFAULT_ADDRESS_ROOT, registry_id: DEFAULT_REGISTRY_ID };

/** The role every default realm has: anonymous may do everything (OCS's development setup). */
export function allowAllRealm(name: string): RealmConfig {
  return {
    name,
    roles: [
      {
        name: 'anonymous',
        permissions: [
          { uri: '', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true }, disclose: { caller: false, publisher: false } },
        ],
      },
    ],
  };
}

/** Everything allowed to anonymous on one realm, as the crossbar config OCS uses for development. */
export function defaultRouterConfigInput(realm = DEFAULT_REALM): RouterConfigInput {
  return {
    realms: [allowAllRealm(realm)],
    auth: { anonymous: { type: 'static', role: 'anonymous' } },
    http_bridge: { enabled: true, realm, role: 'anonymous' },
  };
}

/** Configurations made by parseRouterConfig or defaultRouterConfig: startRouter takes them as they are. */
const validated = new WeakSet<object>();

export function markValidated(config: RouterConfig): RouterConfig {
  validated.add(config);
  return config;
}

export function isValidated(config: unknown): config is RouterConfig {
  return typeof config === 'object' && config !== null && validated.has(config);
}

/** The validated configuration of an empty input: realm `realm`, anonymous may do everything. */
export function defaultRouterConfig(realm = DEFAULT_REALM): RouterConfig {
  const config: RouterConfig = {
    http_bridge: { ...HTTP_BRIDGE_DEFAULTS, allowed_origins: [], allowed_hosts: [] },
    http_publisher: { ...HTTP_PUBLISHER_DEFAULTS },
    http_info: { enabled: true },
    console: { ...CONSOLE_DEFAULTS },
    metrics: { enabled: true, remote: false },
    max_message_bytes: MAX_MESSAGE_BYTES_DEFAULT,
    limits: { ...LIMIT_DEFAULTS },
    ws_internals: 'auto',
    realms: [allowAllRealm(realm)],
    auth: { anonymous: { type: 'static', role: 'anonymous' } },
  };
  deepFreeze(config);
  return markValidated(config);
}
