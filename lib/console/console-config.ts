/**
 * Where the console connects: the router that served it (the JSON at `config.json` beside the
 * page), unless the query string says otherwise (`?router=ws://HOST:PORT/ws&realm=R&root=ROOT
 * &registry=ID`). Browser-neutral: the page hands in what it read.
 */
import { z } from 'zod';
import { DEFAULT_ADDRESS_ROOT, DEFAULT_REALM, DEFAULT_REGISTRY_ID } from '../site-config/site-defaults.js';

/** What the server hands the page at `/console/config.json`. */
export const ServedConsoleConfigSchema = z.looseObject({
  realm: z.string().min(1).default(DEFAULT_REALM),
  address_root: z.string().min(1).default(DEFAULT_ADDRESS_ROOT),
  registry_id: z.string().min(1).default(DEFAULT_REGISTRY_ID),
  /** null: the router at the page's own host and port, path /ws */
  router_url: z.string().min(1).nullable().default(null),
});
export type ServedConsoleConfig = z.infer<typeof ServedConsoleConfigSchema>;

export interface ConsoleConfig {
  routerUrl: string;
  realm: string;
  addressRoot: string;
  /** `{root}.{registry_id}` */
  registryAddress: string;
}

export interface PageLocation {
  protocol: string;
  host: string;
  search: string;
}

const URI_PART = /^[0-9a-z_-]+(\.[0-9a-z_-]+)*$/i;

export type ConsoleConfigResult = { ok: true; config: ConsoleConfig } | { ok: false; error: string };

/** The connection target from the served config (may be junk) and the page's location. */
export function resolveConsoleConfig(served: unknown, location: PageLocation): ConsoleConfigResult {
  const parsed = ServedConsoleConfigSchema.safeParse(served ?? {});
  if (!parsed.success) {
    return { ok: false, error: `config.json: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` };
  }
  const query = new URLSearchParams(location.search);
  const own = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const routerUrl = query.get('router') ?? parsed.data.router_url ?? own;
  const realm = query.get('realm') ?? parsed.data.realm;
  const addressRoot = query.get('root') ?? parsed.data.address_root;
  const registryId = query.get('registry') ?? parsed.data.registry_id;
  if (!/^wss?:\/\/[^/\s]+(\/\S*)?$/.test(routerUrl)) return { ok: false, error: `router must be ws://HOST:PORT/PATH or wss://…, got '${routerUrl}'` };
  if (!URI_PART.test(realm)) return { ok: false, error: `realm '${realm}' is not a WAMP URI` };
  if (!URI_PART.test(addressRoot)) return { ok: false, error: `root '${addressRoot}' is not a WAMP URI` };
  if (!URI_PART.test(registryId) || registryId.includes('.')) return { ok: false, error: `registry '${registryId}' is not an instance id` };
  return { ok: true, config: { routerUrl, realm, addressRoot, registryAddress: `${addressRoot}.${registryId}` } };
}
