/**
 * Threats: a web page on another site (open in a browser on the control host) posts to /call or
 * opens /ws and operates the system; a page on an attacker's domain rebinds its DNS name to
 * 127.0.0.1 (DNS rebinding) so that it counts as same-origin.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { startRouter, type RunningRouter } from '../../lib/router/index.js';
import { WampConnection } from '../../lib/wamp/connection.js';
import { registerCleanup } from '../helpers/router.js';
import { captureLogger, rawHttp, upgradeStatus } from './web-helpers.js';

const LISTED = 'https://console.example.org';

describe('browser origin and host rules', () => {
  let router: RunningRouter;
  let lines: Record<string, unknown>[];
  let invoked = 0;
  let own: string;

  beforeAll(async () => {
    const captured = captureLogger();
    lines = captured.lines;
    router = await startRouter({ host: '127.0.0.1', port: 0, config: { http_bridge: { allowed_origins: [LISTED, 'http://*.lab.example.org'] } }, logger: captured.logger });
    registerCleanup(() => router.close());
    own = `http://127.0.0.1:${router.port}`;
    const conn = new WampConnection({ url: router.url, realm: 'test_realm' });
    registerCleanup(() => conn.close());
    const callee = await conn.open();
    await callee.register('observatory.hm.kill', () => {
      invoked++;
      return 'killed';
    });
  });

  const call = (headers: Record<string, string>) =>
    rawHttp(router.httpUrl, { headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ procedure: 'observatory.hm.kill' }) });

  it('refuses a cross-origin POST to /call with 403, no CORS header and a log line', async () => {
    const before = invoked;
    const res = await call({ origin: 'http://evil.example.com' });
    expect(res.status).toBe(403);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.json()['error']).toBe("origin 'http://evil.example.com' is not allowed (list it in http_bridge.allowed_origins)");
    expect(invoked).toBe(before);
    expect(lines.some((l) => l['origin'] === 'http://evil.example.com' && String(l['msg']).startsWith('refused: origin'))).toBe(true);
    const preflight = await rawHttp(router.httpUrl, { method: 'OPTIONS', headers: { origin: 'http://evil.example.com', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses bodies a page can post without a preflight (text/plain, forms): JSON only', async () => {
    const before = invoked;
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await rawHttp(router.httpUrl, { headers: { 'content-type': type }, body: JSON.stringify({ procedure: 'observatory.hm.kill' }) });
      expect(res.status).toBe(415);
      expect(res.json()['error']).toContain('application/json');
    }
    const none = await rawHttp(router.httpUrl, { body: JSON.stringify({ procedure: 'observatory.hm.kill' }) });
    expect(none.status).toBe(415);
    expect(invoked).toBe(before);
  });

  it('gives CORS to listed origins only, and lets the router’s own origin and non-browser clients through', async () => {
    const before = invoked;
    const preflight = await rawHttp(router.httpUrl, { method: 'OPTIONS', headers: { origin: LISTED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(LISTED);
    expect(preflight.headers['access-control-allow-headers']).toContain('content-type');
    const listed = await call({ origin: LISTED });
    expect(listed.status).toBe(200);
    expect(listed.headers['access-control-allow-origin']).toBe(LISTED);
    expect(listed.headers['vary']).toBe('origin');
    expect((await call({ origin: 'http://bench3.lab.example.org' })).status).toBe(200);
    // the router's own origin (the console it serves): no CORS needed, allowed
    const same = await call({ origin: own });
    expect(same.status).toBe(200);
    expect(same.headers['access-control-allow-origin']).toBeUndefined();
    // curl, OCS's Python client: no Origin header
    expect((await call({})).status).toBe(200);
    expect(invoked).toBe(before + 4);
  });

  it('refuses a WebSocket upgrade from another origin, and opens it for the own, listed or no origin', async () => {
    expect(await upgradeStatus(router.url, { origin: 'http://evil.example.com' })).toBe(403);
    expect(await upgradeStatus(router.url, { origin: 'null' })).toBe(403);
    expect(lines.some((l) => l['origin'] === 'null' && l['path'] === '/ws')).toBe(true);
    expect(await upgradeStatus(router.url, { origin: own })).toBe(101);
    expect(await upgradeStatus(router.url, { origin: LISTED })).toBe(101);
    expect(await upgradeStatus(router.url, {})).toBe(101);
  });

  it('refuses DNS rebinding: a Host that is not a name this router serves, on /call and /ws', async () => {
    const rebound = `rebind.attacker.example:${router.port}`;
    const before = invoked;
    const res = await call({ host: rebound, origin: `http://${rebound}` });
    expect(res.status).toBe(403);
    expect(res.json()['error']).toBe("host 'rebind.attacker.example' is not a name this router serves (add it to http_bridge.allowed_hosts)");
    expect((await call({ host: rebound })).status).toBe(403);
    expect(invoked).toBe(before);
    expect(await upgradeStatus(router.url, { host: rebound, origin: `http://${rebound}` })).toBe(403);
    // the names it does serve
    for (const host of [`localhost:${router.port}`, `127.0.0.1:${router.port}`, `[::1]:${router.port}`, `app.localhost:${router.port}`]) {
      expect((await call({ host, origin: `http://${host}` })).status).toBe(200);
    }
  });

  it('answers to extra host names from http_bridge.allowed_hosts', async () => {
    const other = await startRouter({ host: '127.0.0.1', port: 0, config: { http_bridge: { allowed_hosts: ['control.example.org'] } } });
    registerCleanup(() => other.close());
    const host = `control.example.org:${other.port}`;
    const res = await rawHttp(other.httpUrl, { headers: { host, origin: `http://${host}`, 'content-type': 'application/json' }, body: JSON.stringify({ procedure: 'wamp.session.count' }) });
    expect(res.status).toBe(200);
    expect(await upgradeStatus(other.url, { host, origin: `http://${host}` })).toBe(101);
  });
});
