import { describe, expect, it } from 'vitest';
import { resolveConsoleConfig } from '../../../lib/console/console-config.js';

const here = { protocol: 'http:', host: '127.0.0.1:8001', search: '' };

describe('resolveConsoleConfig', () => {
  it('connects to the router that served the page, with its realm and address root', () => {
    expect(resolveConsoleConfig({ realm: 'r1', address_root: 'site', registry_id: 'reg', router_url: null }, here)).toEqual({
      ok: true,
      config: { routerUrl: 'ws://127.0.0.1:8001/ws', realm: 'r1', addressRoot: 'site', registryAddress: 'site.reg' },
    });
    expect(resolveConsoleConfig({}, { ...here, protocol: 'https:' })).toMatchObject({ ok: true, config: { routerUrl: 'wss://127.0.0.1:8001/ws', realm: 'test_realm', addressRoot: 'observatory' } });
  });

  it('takes router, realm, root and registry from the query string', () => {
    const search = '?router=ws://crossbar:8001/ws&realm=test_realm&root=observatory&registry=registry';
    expect(resolveConsoleConfig({ realm: 'mine', address_root: 'mine' }, { ...here, search })).toEqual({
      ok: true,
      config: { routerUrl: 'ws://crossbar:8001/ws', realm: 'test_realm', addressRoot: 'observatory', registryAddress: 'observatory.registry' },
    });
  });

  it('says what is wrong with a bad target', () => {
    expect(resolveConsoleConfig({}, { ...here, search: '?router=http://x/ws' })).toEqual({ ok: false, error: "router must be ws://HOST:PORT/PATH or wss://…, got 'http://x/ws'" });
    expect(resolveConsoleConfig({}, { ...here, search: '?root=a b' })).toEqual({ ok: false, error: "root 'a b' is not a WAMP URI" });
    expect(resolveConsoleConfig({ realm: 5 }, here)).toMatchObject({ ok: false, error: expect.stringMatching(/^config.json: realm: /) });
  });
});
