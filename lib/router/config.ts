/**
 * Router configuration: realms with roles and permissions, authentication, the HTTP caller
 * bridge and limits, in the shape of crossbar's static config. Validated once with zod where it
 * enters (file or embedding options); the rest of the router trusts it.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { deepFreeze } from '../site-config/deep-freeze.js';
import { DEFAULT_REALM, HTTP_BRIDGE_AUTHID_DEFAULT, HTTP_BRIDGE_DEFAULTS, HTTP_PUBLISHER_DEFAULTS, CONSOLE_DEFAULTS, LIMIT_DEFAULTS, MAX_MESSAGE_BYTES_DEFAULT, allowAllRealm, defaultRouterConfigInput, markValidated } from './config-defaults.js';

const MatchSchema = z.enum(['exact', 'prefix', 'wildcard']);

export const PermissionSchema = z
  .object({
    /** `''` with match prefix (or crossbar's `'*'`) covers every URI. */
    uri: z.string(),
    match: MatchSchema.default('exact'),
    allow: z
      .object({
        call: z.boolean().default(false),
        register: z.boolean().default(false),
        publish: z.boolean().default(false),
        subscribe: z.boolean().default(false),
      })
      .strict()
      .default({ call: false, register: false, publish: false, subscribe: false }),
    disclose: z
      .object({ caller: z.boolean().default(false), publisher: z.boolean().default(false) })
      .strict()
      .default({ caller: false, publisher: false }),
    /** accepted for crossbar compatibility; decisions are always cached */
    cache: z.boolean().optional(),
  })
  .strict();
export type Permission = z.infer<typeof PermissionSchema>;

export const RoleSchema = z
  .object({
    name: z.string().min(1),
    permissions: z.array(PermissionSchema).default([]),
  })
  .strict();
export type Role = z.infer<typeof RoleSchema>;

const REALM_NAME = /^([^\s.#]+\.)*[^\s.#]+$/;

export const RealmSchema = z
  .object({
    name: z.string().regex(REALM_NAME, 'realm name must be a URI (no empty components, whitespace or #)'),
    roles: z.array(RoleSchema).default([]),
  })
  .strict();
export type RealmConfig = z.infer<typeof RealmSchema>;

const PrincipalSchema = z
  .object({
    ticket: z.string(),
    role: z.string().min(1),
    /** restrict the principal to one realm (default: any) */
    realm: z.string().optional(),
  })
  .strict();

const CraUserSchema = z
  .object({
    /** the shared secret; for a salted user, as in crossbar, the key derived from the password (deriveCraKey) */
    secret: z.string(),
    role: z.string().min(1),
    realm: z.string().optional(),
    salt: z.string().optional(),
    iterations: z.number().int().positive().optional(),
    keylen: z.number().int().positive().optional(),
  })
  .strict();

export const AuthSchema = z
  .object({
    anonymous: z
      .object({ type: z.literal('static').default('static'), role: z.string().min(1) })
      .strict()
      .optional(),
    ticket: z
      .object({ type: z.literal('static').default('static'), principals: z.record(z.string(), PrincipalSchema) })
      .strict()
      .optional(),
    wampcra: z
      .object({ type: z.literal('static').default('static'), users: z.record(z.string(), CraUserSchema) })
      .strict()
      .optional(),
  })
  .strict();
export type AuthConfig = z.infer<typeof AuthSchema>;

export const HttpBridgeSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** default: the first realm */
    realm: z.string().optional(),
    /**
     * the role of requests without credentials; default: the anonymous role when anonymous
     * access is configured, else none (such requests get 403)
     */
    role: z.string().optional(),
    authid: z.string().default(HTTP_BRIDGE_AUTHID_DEFAULT),
    /**
     * origins besides the router's own that browsers may use /ws and /call from (CORS on /call);
     * `*` wildcards, e.g. `http://*.example.org`; a lone `*` allows every origin
     */
    allowed_origins: z.array(z.string().min(1)).default([]),
    /** host names (the Host header) this router answers to besides IP literals, localhost and this machine's name */
    allowed_hosts: z.array(z.string().min(1)).default([]),
  })
  .strict();

/** crossbar's HTTP publisher at /publish; the role rule, origins and body limit are /call's. */
export const HttpPublisherSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** default: the first realm */
    realm: z.string().optional(),
    /** the role of requests without credentials; default as for http_bridge */
    role: z.string().optional(),
    authid: z.string().default('http-publisher'),
    /** request signing as crossbar's: with `secret`, every request must be signed with `key` */
    key: z.string().min(1).optional(),
    secret: z.string().min(1).optional(),
    /** seconds a signed request's timestamp may be off (crossbar's default 300) */
    timestamp_delta_limit: z.number().int().positive().default(300),
  })
  .strict()
  .refine((p) => (p.key === undefined) === (p.secret === undefined), { message: 'request signing needs both key and secret', path: ['secret'] });

/** Prometheus metrics at /metrics on the router's port (router-metrics.ts). */
export const MetricsSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** answer scrapes from other machines too (default: loopback clients only) */
    remote: z.boolean().default(false),
  })
  .strict();

/** The node-info page at /info (what OCS's test tooling asks for before it starts). */
export const HttpInfoSchema = z.object({ enabled: z.boolean().default(true) }).strict();

/** The web console at /console/ (console-assets.ts). */
export const ConsoleSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** the realm the page joins; default: the first realm */
    realm: z.string().optional(),
    /** the site's `address_root`, handed to the page */
    address_root: z.string().regex(/^[0-9a-z_-]+(\.[0-9a-z_-]+)*$/i).default(CONSOLE_DEFAULTS.address_root),
    /** the Registry's instance id */
    registry_id: z.string().regex(/^[^.#\s]+$/).default(CONSOLE_DEFAULTS.registry_id),
    /** the built console (default: dist/console of this package) */
    directory: z.string().min(1).optional(),
  })
  .strict();

export const LimitsSchema = z
  .object({
    /** a session whose outbound buffer passes this stops being read until it drains */
    outbound_high_water_bytes: z.number().int().positive().default(4 * 1024 * 1024),
    /** a session whose outbound buffer passes this is dropped */
    outbound_max_bytes: z.number().int().positive().default(64 * 1024 * 1024),
    /** largest accepted /call body */
    http_max_body_bytes: z.number().int().positive().default(16 * 1024 * 1024),
    /** time a client gets to complete HELLO (and a challenge), and to answer a GOODBYE */
    handshake_timeout_ms: z.number().int().positive().default(10_000),
    /** a connection silent for this long is pinged, and dropped when silent for as long again (0: never) */
    auto_ping_interval_ms: z.number().int().nonnegative().default(30_000),
    /** time an HTTP request (or WebSocket upgrade) gets to send its headers and body */
    http_request_timeout_ms: z.number().int().positive().default(LIMIT_DEFAULTS.http_request_timeout_ms),
    /**
     * HTTP connections at once that are not (yet) WebSocket sessions; more are refused. Room for
     * thousands of agents reconnecting at once after a router restart (each is an HTTP connection
     * until its upgrade).
     */
    http_max_connections: z.number().int().positive().default(LIMIT_DEFAULTS.http_max_connections),
    /** messages one batched WebSocket frame may carry; more is a protocol violation */
    max_messages_per_frame: z.number().int().positive().default(LIMIT_DEFAULTS.max_messages_per_frame),
  })
  .strict();

/** The config file / embedding input. Everything is optional: the default is DEFAULT_ROUTER_CONFIG. */
export const RouterConfigSchema = z
  .object({
    /** default: one realm, test_realm, where the role `anonymous` may do everything */
    realms: z.array(RealmSchema).min(1).optional(),
    /** like crossbar's `transports[].paths.ws.auth`; default: anonymous → role `anonymous` when that role exists */
    auth: AuthSchema.optional(),
    /** the HTTP caller bridge at /call (crossbar's `caller` path) */
    http_bridge: HttpBridgeSchema.default(HTTP_BRIDGE_DEFAULTS),
    /** the HTTP publisher at /publish (crossbar's `publisher` path) */
    http_publisher: HttpPublisherSchema.default(HTTP_PUBLISHER_DEFAULTS),
    /** the node-info page at /info (crossbar's `nodeinfo` path) */
    http_info: HttpInfoSchema.default({ enabled: true }),
    /** the web console at /console/ */
    console: ConsoleSchema.default(CONSOLE_DEFAULTS),
    /** Prometheus metrics at /metrics */
    metrics: MetricsSchema.default({ enabled: true, remote: false }),
    /** a bigger WebSocket message closes that connection (1009) */
    max_message_bytes: z.number().int().positive().default(MAX_MESSAGE_BYTES_DEFAULT),
    limits: LimitsSchema.default(LIMIT_DEFAULTS),
    /** auto: the WebSocket fast paths through ws's internals when the installed ws is the tested one (ws-internals.ts); off: ws's public API */
    ws_internals: z.enum(['auto', 'off']).default('auto'),
  })
  .strict();

type ParsedConfig = z.infer<typeof RouterConfigSchema>;

/** The validated, normalized configuration. */
export type RouterConfig = Omit<ParsedConfig, 'realms' | 'auth'> & { realms: RealmConfig[]; auth: AuthConfig };
/** What callers may pass: defaults are filled in. */
export type RouterConfigInput = z.input<typeof RouterConfigSchema>;

interface Issue {
  path: (string | number)[];
  message: string;
}

function normalize(parsed: ParsedConfig, defaultRealm: string): { config: RouterConfig; issues: Issue[] } {
  const realms = parsed.realms ?? [allowAllRealm(defaultRealm)];
  const hasAnonymousRole = realms.some((r) => r.roles.some((x) => x.name === 'anonymous'));
  const auth: AuthConfig = parsed.auth ?? (hasAnonymousRole ? { anonymous: { type: 'static', role: 'anonymous' } } : {});
  const config: RouterConfig = { ...parsed, realms, auth };
  const issues: Issue[] = [];
  const realmNames = new Set<string>();
  realms.forEach((r, i) => {
    if (realmNames.has(r.name)) issues.push({ path: ['realms', i, 'name'], message: `duplicate realm '${r.name}'` });
    realmNames.add(r.name);
  });
  const checkRole = (role: string, path: (string | number)[], realm?: string) => {
    if (realm !== undefined && !realmNames.has(realm)) issues.push({ path: [...path.slice(0, -1), 'realm'], message: `no realm '${realm}'` });
    else if (!realms.some((r) => (realm === undefined || r.name === realm) && r.roles.some((x) => x.name === role)))
      issues.push({ path, message: `no role '${role}' in ${realm !== undefined ? `realm '${realm}'` : 'any realm'}` });
  };
  if (auth.anonymous) checkRole(auth.anonymous.role, ['auth', 'anonymous', 'role']);
  for (const [id, p] of Object.entries(auth.ticket?.principals ?? {})) checkRole(p.role, ['auth', 'ticket', 'principals', id, 'role'], p.realm);
  for (const [id, u] of Object.entries(auth.wampcra?.users ?? {})) {
    checkRole(u.role, ['auth', 'wampcra', 'users', id, 'role'], u.realm);
    if (u.salt !== undefined && !isDerivedKey(u.secret, u.keylen ?? 32)) {
      issues.push({
        path: ['auth', 'wampcra', 'users', id, 'secret'],
        message: `a salted user's secret is the key derived from the password (base64 of ${u.keylen ?? 32} bytes, as crossbar keeps it), not the password; derive it with deriveCraKey(password, salt, iterations, keylen)`,
      });
    }
  }
  for (const key of ['http_bridge', 'http_publisher'] as const) {
    const service = config[key];
    if (service.realm !== undefined && !realmNames.has(service.realm)) issues.push({ path: [key, 'realm'], message: `no realm '${service.realm}'` });
    else if (service.role !== undefined) checkRole(service.role, [key, 'role'], service.realm ?? realms[0]!.name);
  }
  return { config, issues };
}

/** Whether `secret` is base64 of exactly `keylen` bytes, the form of a derived WAMP-CRA key. */
function isDerivedKey(secret: string, keylen: number): boolean {
  return /^[A-Za-z0-9+/]+={0,2}$/.test(secret) && secret.length % 4 === 0 && Buffer.from(secret, 'base64').length === keylen;
}

function fail(source: string, issues: Issue[]): never {
  const text = issues.map((i) => `${source}: ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`).join('\n');
  throw new ConfigError(text, { details: { source, issues: issues.map((i) => ({ path: i.path.map(String), message: i.message })) } });
}

/**
 * Validates a configuration object; throws ConfigError naming `source` and the failing paths.
 * `defaultRealm` names the realm created when the input declares none.
 */
export function parseRouterConfig(input: unknown, source = 'router config', defaultRealm = DEFAULT_REALM): RouterConfig {
  const r = RouterConfigSchema.safeParse(input ?? {});
  if (!r.success) fail(source, r.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message })));
  const { config, issues } = normalize(r.data, defaultRealm);
  if (issues.length > 0) fail(source, issues);
  deepFreeze(config);
  return markValidated(config);
}

export const DEFAULT_ROUTER_CONFIG: RouterConfig = parseRouterConfig(defaultRouterConfigInput());

/** Reads a YAML (or JSON) router config file; throws ConfigError naming the file and the path inside it. */
export function loadRouterConfig(path: string, defaultRealm = DEFAULT_REALM): RouterConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read: ${(e as Error).message}`, { cause: e, details: { source: path } });
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new ConfigError(`${path}: invalid YAML: ${first.message}`, { details: { source: path } });
  }
  return parseRouterConfig(doc.toJS() ?? {}, path, defaultRealm);
}
