import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/errors.js';
import { parseEnv } from '../../../lib/site-config/env.js';
import { parseSiteConfig } from '../../../lib/site-config/load.js';
import { resolveClientConfig } from '../../../lib/site-config/resolve-client-config.js';

const DEPLOY = 'test/fixtures/site/ocs-deployment.yaml';
const NO_ENV = parseEnv({});

describe('resolveClientConfig', () => {
  it('needs no host entry', () => {
    const site = parseSiteConfig('hub: {wamp_server: ws://r/ws, wamp_http: http://r/call, wamp_realm: r, address_root: o}\n', 's.yaml');
    const c = resolveClientConfig({ argv: ['--site-file', 's.yaml', 'scan'], env: NO_ENV, hostname: 'laptop', cwd: '/x', loadSite: () => site });
    expect(c).toEqual({
      siteFile: '/x/s.yaml',
      site,
      host: null,
      hub: { wampServer: 'ws://r/ws', wampHttp: 'http://r/call', wampRealm: 'r', addressRoot: 'o', accessPolicy: { policy: 'none' } },
      logLevel: 'info',
      rest: ['scan'],
    });
  });

  it('applies the matching host overrides, then environment and command line', () => {
    const base = { env: NO_ENV, hostname: 'laptop' };
    expect(resolveClientConfig({ argv: ['--site-file', DEPLOY, '--site-host', 'daq-host-1-docker'], ...base })).toMatchObject({
      host: 'daq-host-1-docker',
      hub: { wampServer: 'ws://crossbar:8001/ws', wampHttp: 'http://crossbar:8001/call' },
    });
    expect(resolveClientConfig({ argv: ['--site-file', DEPLOY], ...base })).toMatchObject({
      host: 'localhost',
      hub: { wampServer: 'ws://10.10.10.3:8001/ws', wampHttp: 'http://10.10.10.3:8001/call' },
    });
    const c = resolveClientConfig({
      argv: ['--site-file', DEPLOY, '--site-host', 'daq-host-1-docker', '--site-http', 'http://cli/call', '--site-realm', 'r2'],
      env: parseEnv({ SITE_HUB: 'ws://env/ws', SITE_HTTP: 'http://env/call' }),
      hostname: 'laptop',
    });
    expect(c.hub).toEqual({
      wampServer: 'ws://env/ws',
      wampHttp: 'http://cli/call',
      wampRealm: 'r2',
      addressRoot: 'observatory',
      accessPolicy: { policy: 'director', directorId: 'access-dir' },
    });
    expect(c.siteFile).toBe(resolve(DEPLOY));
  });

  it('works with --site none given the hub flags', () => {
    const c = resolveClientConfig({
      argv: ['--site', 'none', '--site-hub', 'ws://r/ws', '--site-realm', 'r', '--address-root', 'o', 'listen'],
      env: NO_ENV,
    });
    expect(c).toMatchObject({ siteFile: null, host: null, hub: { wampServer: 'ws://r/ws', wampHttp: 'http://r/call' }, rest: ['listen'] });
    expect(() => resolveClientConfig({ argv: ['--site', 'none', '--site-hub', 'ws://r/ws'], env: NO_ENV })).toThrow(ConfigError);
    expect(() => resolveClientConfig({ argv: ['--site', 'none', '--site-hub', 'ws://r/ws'], env: NO_ENV })).toThrow(
      /^--site none needs --site-realm$/,
    );
    expect(() => resolveClientConfig({ argv: ['--site', 'none'], env: NO_ENV })).toThrow(/^--site none needs --site-hub \(or SITE_HUB\)$/);
  });

  it("never pairs a router named by flag or environment with the site file's HTTP bridge of another router", () => {
    const base = { hostname: 'laptop' };
    const hub = (argv: string[], env = NO_ENV) => resolveClientConfig({ argv: ['--site-file', DEPLOY, ...argv], env, ...base }).hub;
    expect(hub(['--site-hub', 'ws://127.0.0.1:9001/ws'])).toMatchObject({ wampServer: 'ws://127.0.0.1:9001/ws', wampHttp: 'http://127.0.0.1:9001/call' });
    expect(hub(['--site-hub', 'wss://lab.example.org/ws'])).toMatchObject({ wampHttp: 'https://lab.example.org/call' });
    // a hub at another path has no known bridge: the client goes over WAMP
    expect(hub(['--site-hub', 'ws://127.0.0.1:9001/router'])).toMatchObject({ wampHttp: null });
    // the flag's hub wins over the environment's bridge too
    expect(hub(['--site-hub', 'ws://cli:1/ws'], parseEnv({ SITE_HTTP: 'http://env/call' }))).toMatchObject({ wampServer: 'ws://cli:1/ws', wampHttp: 'http://cli:1/call' });
    expect(hub([], parseEnv({ SITE_HUB: 'ws://env:2/ws' }))).toMatchObject({ wampServer: 'ws://env:2/ws', wampHttp: 'http://env:2/call' });
    expect(hub(['--site-hub', 'ws://cli:1/ws', '--site-http', 'http://other/call'])).toMatchObject({ wampHttp: 'http://other/call' });
  });
});
