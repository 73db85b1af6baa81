/**
 * The console against what the wire may bring, in chromium: a Python OCS peer (Debian's
 * python3-autobahn, beating as ocs_agent.py does, no get_api), junk heartbeats, a router restart
 * (the page reconnects with backoff and says so), and an agent under access control (the
 * password box, the agent's refusal text).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startRouter, type RunningRouter } from '../../lib/router/index.js';
import { spawnOcs } from '../helpers/agent-process.js';
import { launchBrowser, openPage } from '../helpers/browser.js';
import { freePort } from '../helpers/up-process.js';
import { startHeartbeatPeer } from '../integration/registry/python-peer.js';

const ROOT = `c${Math.random().toString(36).slice(2, 10)}`;
let port: number;
let router: RunningRouter | null = null;
let browser: Browser;
let page: Page;
let pageErrors: string[];

function start(): Promise<RunningRouter> {
  return startRouter({ host: '127.0.0.1', port, config: { console: { address_root: ROOT } } });
}

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeAll(async () => {
  port = await freePort();
  router = await start();
  browser = await launchBrowser();
  ({ page, errors: pageErrors } = await openPage(browser, `http://127.0.0.1:${port}/console/`));
  await page.locator('[data-testid="status-bar"][data-link="open"]').waitFor({ timeout: 15_000 });
});

afterAll(async () => {
  await browser?.close();
  await router?.close();
});

const row = (id: string) => page.getByTestId(`agent-row-${id}`);

describe('console on the OCS wire (chromium)', () => {
  it('lists a Python OCS agent from its heartbeats, shows that it answers no get_api, and marks it expired when it stops', async () => {
    const peer = startHeartbeatPeer('beat', router!.url, `${ROOT}.py-agent`, { beats: 4, opCodes: '{"acq": 3, "count": 5}' });
    await row('py-agent').waitFor({ timeout: 20_000 });
    expect(await row('py-agent').textContent()).toContain('PythonFakeAgent');
    expect(await row('py-agent').textContent()).toContain('acq:RUNNING count:SUCCEEDED');
    expect(await row('py-agent').getAttribute('data-expired')).toBe('false');
    await page.goto(`http://127.0.0.1:${port}/console/#/agent/py-agent`);
    await expect.poll(() => page.getByTestId('agent-panel').textContent(), { timeout: 10_000 }).toContain('get_api failed: wamp.error.no_such_procedure');
    await peer.finish();
    await expect.poll(() => row('py-agent').getAttribute('data-expired'), { timeout: 12_000 }).toBe('true');
    expect(await page.getByTestId('agent-liveness').textContent()).toBe('expired');
  });

  it('shows junk heartbeats as problems on the agent they name, and keeps working', async () => {
    const junk = startHeartbeatPeer('junk', router!.url, `${ROOT}.junkbot`, { repeat: 3 });
    await junk.finish();
    await page.goto(`http://127.0.0.1:${port}/console/#/agent/junkbot`);
    const problems = page.getByTestId('agent-problems');
    await problems.waitFor({ timeout: 10_000 });
    expect(await problems.textContent()).toMatch(/heartbeat refused \((op_codes_not_a_map|bad_op_code|too_many_ops|name_too_long|topic_mismatch)\)/);
    // the page is alive: the peer from the last test is still listed, and a good beat is taken
    expect(await row('py-agent').count()).toBe(1);
    // a beat on junkbot's topic claiming another agent is junkbot's problem, not a new agent
    expect(await row('victim').count()).toBe(0);
    const good = startHeartbeatPeer('beat', router!.url, `${ROOT}.after-junk`, { beats: 2 });
    await row('after-junk').waitFor({ timeout: 10_000 });
    await good.finish();
    expect(pageErrors).toEqual([]);
  });

  it('says so in the status bar when the router goes, reconnects with backoff when it is back, and hears agents again', async () => {
    await router!.close();
    router = null;
    const bar = page.getByTestId('status-bar');
    await expect.poll(() => bar.getAttribute('data-link'), { timeout: 10_000 }).not.toBe('open');
    await expect.poll(() => page.getByTestId('link-status').textContent(), { timeout: 10_000 }).toMatch(/router connection lost .*; reconnecting in \d+ s/);
    router = await start();
    await expect.poll(() => bar.getAttribute('data-link'), { timeout: 30_000 }).toBe('open');
    const peer = startHeartbeatPeer('beat', router.url, `${ROOT}.back-again`, { beats: 3 });
    await row('back-again').waitFor({ timeout: 15_000 });
    expect(await row('back-again').getAttribute('data-expired')).toBe('false');
    await peer.finish();
  });

  it('sends the password of the agent box with op actions under access control, and shows the refusal without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocs-console-access-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const site = join(dir, 'site.yaml');
    writeFileSync(join(dir, 'access.yaml'), "passwords:\n  - {default: true, password_1: '', password_2: 'adv-pw'}\n");
    writeFileSync(
      site,
      stringify({
        hub: { wamp_server: router!.url, wamp_http: router!.httpUrl, wamp_realm: 'test_realm', address_root: ROOT, access_policy: 'director:access-director' },
        hosts: {
          localhost: {
            'agent-instances': [
              { 'agent-class': 'AccessDirector', 'instance-id': 'access-director', arguments: ['--config-file', 'access.yaml'] },
              { 'agent-class': 'FakeDataAgent', 'instance-id': 'guarded', arguments: ['--mode', 'idle'] },
            ],
          },
        },
      }),
    );
    // killed at test end by spawnOcs
    for (const id of ['access-director', 'guarded']) spawnOcs(['agent', '--site-file', site, '--site-host', 'localhost', '--instance-id', id]);
    await page.goto(`http://127.0.0.1:${port}/console/#/agent/guarded`);
    const op = page.getByTestId('op-delay_task');
    await op.waitFor({ timeout: 30_000 });
    await op.getByTestId('param-delay').fill('0.1');
    await expect
      .poll(
        async () => {
          await op.getByTestId('op-start').click();
          return op.getByTestId('op-reply').textContent();
        },
        { timeout: 20_000, interval: 1000 },
      )
      .toBe('The action requires credential level 2-ADVANCED but the client has only level 1-BASIC');
    await page.getByTestId('agent-password').fill('adv-pw');
    await op.getByTestId('op-start').click();
    await expect.poll(() => op.getByTestId('op-reply').getAttribute('class')).toContain('ok');
    await expect.poll(() => op.getByTestId('op-success').textContent(), { timeout: 10_000 }).toBe('true');
  });
});
