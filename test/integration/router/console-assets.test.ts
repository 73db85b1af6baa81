/**
 * The router serves the built console at /console/ on its own port: the page, its hashed
 * assets, config.json with this site's realm, address root and Registry; only GET and HEAD, only
 * files of the console's folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultConsoleDirectory } from '../../../lib/router/console-assets.js';
import { startRouter, type RunningRouter } from '../../../lib/router/index.js';
import { registerCleanup } from '../../helpers/router.js';
import { rawHttp } from '../../security/web-helpers.js';

describe('console assets on the router', () => {
  let router: RunningRouter;
  let base: string;
  const get = (path: string, method = 'GET') => rawHttp(`${base}${path}`, { method, headers: { host: `127.0.0.1:${router.port}` } });

  beforeAll(async () => {
    router = await startRouter({ host: '127.0.0.1', port: 0, realm: 'lab_realm', config: { realms: [{ name: 'lab_realm', roles: [{ name: 'anonymous', permissions: [{ uri: '', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } }] }] }], console: { address_root: 'lab', registry_id: 'reg-1' } } });
    registerCleanup(() => router.close());
    base = `http://127.0.0.1:${router.port}`;
  });

  it('serves the built page (npm run build made dist/console) with a CSP that allows no eval and no foreign scripts', async () => {
    expect(defaultConsoleDirectory()).not.toBeNull();
    expect(router.consoleUrl).toBe(`${base}/console/`);
    const page = await get('/console/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe-eval');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(page.text)?.[1];
    expect(script).toBeDefined();
    const js = await get(`/console/${script}`);
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(Number(js.headers['content-length'])).toBeGreaterThan(10_000);
    const head = await get(`/console/${script}`, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect((await get('/console')).headers['location']).toBe('/console/');
  });

  it("hands the page this router's realm, the site's address root and Registry in config.json", async () => {
    const res = await get('/console/config.json');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ realm: 'lab_realm', address_root: 'lab', registry_id: 'reg-1', router_url: null });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('serves nothing outside its folder, no dotfiles, and only GET and HEAD', async () => {
    for (const path of ['/console/../package.json', '/console/%2e%2e/%2e%2e/package.json', '/console/..%2f..%2fpackage.json', '/console/.hidden', '/console/assets/', '/console/%E0%A4%A']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(res.text).not.toContain('"name"');
    }
    const post = await rawHttp(`${base}/console/`, { method: 'POST', headers: { host: `127.0.0.1:${router.port}`, 'content-type': 'application/json' }, body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, HEAD');
  });

  it('answers 503 naming the build step when the console is not built, and 404 when it is turned off', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ocs-console-'));
    registerCleanup(() => rmSync(empty, { recursive: true, force: true }));
    const unbuilt = await startRouter({ host: '127.0.0.1', port: 0, config: { console: { directory: empty } } });
    registerCleanup(() => unbuilt.close());
    const res = await rawHttp(`http://127.0.0.1:${unbuilt.port}/console/`, { method: 'GET', headers: { host: `127.0.0.1:${unbuilt.port}` } });
    expect(res.status).toBe(503);
    expect(res.text).toBe('the console is not built: run npm run build\n');
    const off = await startRouter({ host: '127.0.0.1', port: 0, config: { console: { enabled: false } } });
    registerCleanup(() => off.close());
    expect(off.consoleUrl).toBeNull();
    expect((await rawHttp(`http://127.0.0.1:${off.port}/console/`, { method: 'GET', headers: { host: `127.0.0.1:${off.port}` } })).status).toBe(404);
  });
});
