/**
 * Threat: an unauthenticated HTTP client calls any procedure with full rights through /call on a
 * router whose WebSocket side requires authentication.
 */
import { describe, expect, it } from 'vitest';
import { startRouter, type RouterConfigInput } from '../../lib/router/index.js';
import { WampConnection } from '../../lib/wamp/connection.js';
import { registerCleanup } from '../helpers/router.js';
import { basicAuth, captureLogger, rawHttp } from './web-helpers.js';

const ALL = { call: true, register: true, publish: true, subscribe: true };

/** Auth configured, no anonymous access, no http_bridge key: the setup the hole was found in. */
const AUTH_ONLY: RouterConfigInput = {
  realms: [
    {
      name: 'test_realm',
      roles: [
        { name: 'admin', permissions: [{ uri: '', match: 'prefix', allow: ALL }] },
        { name: 'viewer', permissions: [{ uri: 'observatory.', match: 'prefix', allow: { call: true, register: false, publish: false, subscribe: true } }] },
      ],
    },
  ],
  auth: {
    ticket: {
      principals: {
        operator: { ticket: 'operator-ticket', role: 'admin' },
        watcher: { ticket: 'watcher-ticket', role: 'viewer' },
      },
    },
  },
};

async function start(config: RouterConfigInput) {
  const { logger, lines } = captureLogger();
  const router = await startRouter({ host: '127.0.0.1', port: 0, config, logger });
  registerCleanup(() => router.close());
  const callUrl = router.httpUrl;
  const json = { 'content-type': 'application/json' };
  return { router, lines, callUrl, json };
}

async function adminSession(url: string) {
  const conn = new WampConnection({ url, realm: 'test_realm', auth: { authid: 'operator', method: 'ticket', secret: 'operator-ticket' } });
  registerCleanup(() => conn.close());
  return conn.open();
}

describe('HTTP bridge role', () => {
  it('refuses /call without credentials when auth is configured and no bridge role is named', async () => {
    const { router, lines, callUrl, json } = await start(AUTH_ONLY);
    const callee = await adminSession(router.url);
    let invoked = 0;
    await callee.register('observatory.hm.kill', () => {
      invoked++;
      return 'killed';
    });

    const attack = await rawHttp(callUrl, { headers: json, body: JSON.stringify({ procedure: 'observatory.hm.kill', args: ['registry'] }) });
    expect(attack.status).toBe(403);
    expect(attack.json()).toMatchObject({ error: expect.stringContaining('without credentials'), args: [], kwargs: {} });
    expect(attack.json()['error']).toContain('http_bridge.role');
    expect(invoked).toBe(0);
    // the router said at start that the bridge needs credentials
    expect(lines.some((l) => String(l['msg']).startsWith('http bridge: requests need credentials'))).toBe(true);
  });

  it('runs a request with ticket credentials under that principal’s role, and refuses wrong ones', async () => {
    const { router, callUrl, json } = await start(AUTH_ONLY);
    const callee = await adminSession(router.url);
    await callee.register('observatory.agent.ops', () => 'ok');
    await callee.register('admin.only', () => 'secret');

    const asOperator = await rawHttp(callUrl, { headers: { ...json, authorization: basicAuth('operator', 'operator-ticket') }, body: JSON.stringify({ procedure: 'admin.only' }) });
    expect(asOperator).toMatchObject({ status: 200 });
    expect(asOperator.json()).toEqual({ args: ['secret'] });

    const asWatcher = (procedure: string) => rawHttp(callUrl, { headers: { ...json, authorization: basicAuth('watcher', 'watcher-ticket') }, body: JSON.stringify({ procedure }) });
    expect((await asWatcher('observatory.agent.ops')).json()).toEqual({ args: ['ok'] });
    expect((await asWatcher('admin.only')).json()).toMatchObject({ error: 'wamp.error.not_authorized' });

    const wrong = await rawHttp(callUrl, { headers: { ...json, authorization: basicAuth('operator', 'guess') }, body: JSON.stringify({ procedure: 'admin.only' }) });
    expect(wrong.status).toBe(401);
    expect(wrong.json()['error']).toBe("invalid credentials for 'operator'");
    const malformed = await rawHttp(callUrl, { headers: { ...json, authorization: 'Bearer abc' }, body: JSON.stringify({ procedure: 'admin.only' }) });
    expect(malformed.status).toBe(401);
  });

  it('uses the role the config names, and logs it at start', async () => {
    const { router, lines, callUrl, json } = await start({ ...AUTH_ONLY, http_bridge: { role: 'viewer' } });
    const callee = await adminSession(router.url);
    await callee.register('observatory.agent.ops', () => 'ok');
    await callee.register('admin.only', () => 'secret');
    expect((await rawHttp(callUrl, { headers: json, body: JSON.stringify({ procedure: 'observatory.agent.ops' }) })).json()).toEqual({ args: ['ok'] });
    expect((await rawHttp(callUrl, { headers: json, body: JSON.stringify({ procedure: 'admin.only' }) })).json()).toMatchObject({ error: 'wamp.error.not_authorized' });
    expect(lines.some((l) => l['msg'] === "http bridge: requests without credentials run as role 'viewer'")).toBe(true);
  });

  it('keeps the open one-machine default working: anonymous access, anonymous role', async () => {
    const { router, lines, callUrl, json } = await start({});
    const conn = new WampConnection({ url: router.url, realm: 'test_realm' });
    registerCleanup(() => conn.close());
    const callee = await conn.open();
    await callee.register('observatory.agent.ops', () => 'ok');
    expect((await rawHttp(callUrl, { headers: json, body: JSON.stringify({ procedure: 'observatory.agent.ops' }) })).json()).toEqual({ args: ['ok'] });
    expect(lines.some((l) => l['msg'] === "http bridge: requests without credentials run as role 'anonymous'")).toBe(true);
  });
});
