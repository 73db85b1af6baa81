/**
 * Threats, in a real browser (chromium): a page of another origin open on the control host opens
 * the router's /ws or posts to /call and operates the system; the console served by one router is
 * pointed (`?router=`) at another router that never agreed to it; a rebound DNS name fetches the
 * console. The browser path is what the router's Origin and Host rules allow, nothing more.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRouter, type RunningRouter } from '../../lib/router/index.js';
import { WampConnection } from '../../lib/wamp/connection.js';
import { launchBrowser, openPage } from '../helpers/browser.js';
import { registerCleanup } from '../helpers/router.js';
import { rawHttp } from './web-helpers.js';

let browser: Browser;
let router: RunningRouter;
let foreign: Server;
let foreignOrigin: string;
let invoked = 0;

beforeAll(async () => {
  router = await startRouter({ host: '127.0.0.1', port: 0 });
  registerCleanup(() => router.close());
  const conn = new WampConnection({ url: router.url, realm: 'test_realm' });
  registerCleanup(() => conn.close());
  const callee = await conn.open();
  await callee.register('observatory.hm-localhost.ops', () => {
    invoked++;
    return [0, 'killed', {}];
  });
  // the attacker's page: another origin (another port) on the same machine
  foreign = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>elsewhere</title>');
  });
  await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
  foreignOrigin = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}`;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => foreign?.close(resolve));
});

describe('the browser path to the router', () => {
  it('refuses a WebSocket and a /call from a page of another origin; the callee is never reached', async () => {
    const { page } = await openPage(browser, `${foreignOrigin}/`);
    const ws = await page.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const socket = new WebSocket(url, ['wamp.2.json']);
          socket.onopen = () => resolve('open');
          socket.onclose = (e) => resolve(`closed ${e.code}`);
        }),
      router.url,
    );
    expect(ws).toBe('closed 1006');
    const call = await page.evaluate(async (url) => {
      try {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ procedure: 'observatory.hm-localhost.ops', args: ['start', 'kill', { ids: 'all' }] }) });
        return `status ${res.status}`;
      } catch (e) {
        return `failed: ${(e as Error).name}`;
      }
    }, router.httpUrl);
    expect(call).toBe('failed: TypeError');
    // a simple request (no preflight) is refused by the router, not only hidden by the browser
    await page.evaluate(async (url) => {
      await fetch(url, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ procedure: 'observatory.hm-localhost.ops', args: ['start', 'kill', {}] }) }).catch(() => undefined);
    }, router.httpUrl);
    expect(invoked).toBe(0);
    await page.close();
  });

  it('lets the console it serves connect, and a console pointed at a router that does not list its origin does not', async () => {
    const own = await openPage(browser, `http://127.0.0.1:${router.port}/console/`);
    await own.page.locator('[data-testid="status-bar"][data-link="open"]').waitFor({ timeout: 15_000 });
    await own.page.close();

    const other = await startRouter({ host: '127.0.0.1', port: 0 });
    registerCleanup(() => other.close());
    const pointed = await openPage(browser, `http://127.0.0.1:${router.port}/console/?router=${encodeURIComponent(other.url)}`);
    await pointed.page.locator('[data-testid="status-bar"][data-link="retrying"]').waitFor({ timeout: 15_000 });
    expect(await pointed.page.getByTestId('link-status').textContent()).toMatch(/^router connection lost/);
    expect(other.router.sessionCount).toBe(0);
    await pointed.page.close();

    const consenting = await startRouter({ host: '127.0.0.1', port: 0, config: { http_bridge: { allowed_origins: [`http://127.0.0.1:${router.port}`] } } });
    registerCleanup(() => consenting.close());
    const allowed = await openPage(browser, `http://127.0.0.1:${router.port}/console/?router=${encodeURIComponent(consenting.url)}`);
    await allowed.page.locator('[data-testid="status-bar"][data-link="open"]').waitFor({ timeout: 15_000 });
    expect(await allowed.page.getByTestId('link-status').textContent()).toBe(`connected to ${consenting.url} (realm test_realm)`);
    await allowed.page.close();
  });

  it('does not serve the console under a name the router does not serve (DNS rebinding)', async () => {
    const res = await rawHttp(`http://127.0.0.1:${router.port}/console/config.json`, { method: 'GET', headers: { host: `attacker.example.com:${router.port}` } });
    expect(res.status).toBe(403);
    expect(res.text).not.toContain('address_root');
  });
});
