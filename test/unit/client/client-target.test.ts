import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveClientTarget } from '../../../lib/client/client-target.js';
import { ConfigError } from '../../../lib/errors.js';
import type { ClientConfig } from '../../../lib/site-config/resolve-client-config.js';

const DEFAULT_SITE = fileURLToPath(new URL('../../../site-config/default.yaml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'client-target-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function siteFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('resolveClientTarget', () => {
  it('uses explicit options and the defaults', () => {
    expect(resolveClientTarget('fake-data1', { url: 'ws://h:1/ws' })).toEqual({ address: 'observatory.fake-data1', kind: 'wamp', url: 'ws://h:1/ws', realm: 'test_realm' });
    expect(resolveClientTarget('fake-data1', { url: 'ws://h:1/ws', httpUrl: 'http://h:1/call', addressRoot: 'site', realm: 'r' })).toEqual({
      address: 'site.fake-data1',
      kind: 'http',
      url: 'http://h:1/call',
      realm: 'r',
    });
    expect(resolveClientTarget('x', { url: 'ws://h:1/ws', httpUrl: 'http://h:1/call', transport: 'wamp' }).url).toBe('ws://h:1/ws');
  });

  it('reads the hub of a site file, HTTP first as OCS clients do', () => {
    expect(resolveClientTarget('fake-data1', { siteFile: DEFAULT_SITE })).toEqual({
      address: 'observatory.fake-data1',
      kind: 'http',
      url: 'http://127.0.0.1:8001/call',
      realm: 'test_realm',
    });
    expect(resolveClientTarget('fake-data1', { siteFile: DEFAULT_SITE, transport: 'wamp' }).url).toBe('ws://127.0.0.1:8001/ws');
  });

  it('lets explicit options win over the site file', () => {
    const target = resolveClientTarget('fake-data1', { siteFile: DEFAULT_SITE, httpUrl: 'http://10.0.0.1:9000/call', addressRoot: 'lab', realm: 'other' });
    expect(target).toEqual({ address: 'lab.fake-data1', kind: 'http', url: 'http://10.0.0.1:9000/call', realm: 'other' });
  });

  it('uses WAMP when the site has no HTTP bridge', () => {
    const file = siteFile('no-http.yaml', 'hub:\n  wamp_server: ws://hub:8001/ws\n  wamp_realm: lab_realm\n  address_root: lab\nhosts: {}\n');
    expect(resolveClientTarget('fake-data1', { siteFile: file })).toEqual({ address: 'lab.fake-data1', kind: 'wamp', url: 'ws://hub:8001/ws', realm: 'lab_realm' });
    expect(() => resolveClientTarget('fake-data1', { siteFile: file, transport: 'http' })).toThrow('the HTTP transport needs the bridge URL');
  });

  it('takes a resolved client config', () => {
    const siteConfig = {
      hub: { wampServer: 'ws://a:1/ws', wampHttp: 'http://a:1/call', wampRealm: 'x_realm', addressRoot: 'x', accessPolicy: { policy: 'none' } },
    } as unknown as ClientConfig;
    expect(resolveClientTarget('agent', { siteConfig })).toEqual({ address: 'x.agent', kind: 'http', url: 'http://a:1/call', realm: 'x_realm' });
  });

  it('throws ConfigError for a missing or broken site file', () => {
    expect(() => resolveClientTarget('fake-data1', { siteFile: join(dir, 'absent.yaml') })).toThrow(ConfigError);
    const broken = siteFile('broken.yaml', 'hub:\n  wamp_server: [\n');
    expect(() => resolveClientTarget('fake-data1', { siteFile: broken })).toThrow(ConfigError);
  });

  it('throws ConfigError for instance ids that are not one URI component', () => {
    for (const id of ['', 'a.b', 'a b', 'a#b']) expect(() => resolveClientTarget(id, { url: 'ws://h:1/ws' })).toThrow(ConfigError);
  });
});
