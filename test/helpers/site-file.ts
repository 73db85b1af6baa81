import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { registerCleanup } from './router.js';
import { rmSync } from 'node:fs';

export interface SiteInstance {
  'agent-class': string;
  'instance-id': string;
  arguments?: unknown[];
  manage?: string;
  [key: string]: unknown;
}

export interface TestSite {
  file: string;
  dir: string;
  addressRoot: string;
}

/**
 * Writes an OCS site file for a test router into a fresh temp dir (removed when the test or
 * file ends). Each call gets its own random address root unless one is given, so test files
 * sharing a router never see each other's agents.
 */
export function writeSiteFile(options: {
  url: string;
  httpUrl: string;
  realm?: string;
  addressRoot?: string;
  hosts: Record<string, { 'agent-instances': SiteInstance[]; [key: string]: unknown }>;
  extra?: Record<string, unknown>;
}): TestSite {
  const dir = mkdtempSync(join(tmpdir(), 'ocs-site-'));
  const addressRoot = options.addressRoot ?? `t${Math.random().toString(36).slice(2, 10)}`;
  const doc = {
    hub: { wamp_server: options.url, wamp_http: options.httpUrl, wamp_realm: options.realm ?? 'test_realm', address_root: addressRoot },
    hosts: options.hosts,
    ...options.extra,
  };
  const file = join(dir, 'site.yaml');
  writeFileSync(file, stringify(doc));
  registerCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return { file, dir, addressRoot };
}
