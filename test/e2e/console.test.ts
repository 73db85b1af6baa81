/**
 * The web console in a real headless browser (Playwright driving Debian's chromium) against the
 * system `npm start` runs: `ocs up` on the default site (embedded router serving /console/, the
 * HostManager, the Registry, two FakeDataAgents). What an operator does from the page must
 * happen on the wire: the checks read the agents and the HostManager with OcsClient.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OcsClient } from '../../lib/client/ocs-client.js';
import { launchBrowser, openPage } from '../helpers/browser.js';
import { projectRoot } from '../helpers/project-root.js';
import { UP_TIMEOUT_MS, startUp, type UpProcess } from '../helpers/up-process.js';
import { waitFor } from '../helpers/wait.js';

let up: UpProcess;
let browser: Browser;
let page: Page;
let pageErrors: string[];
let consoleUrl: string;

async function childState(id: string): Promise<string | undefined> {
  const hm = await OcsClient.connect('hm-localhost', { url: up.url, realm: 'test_realm', addressRoot: 'observatory', transport: 'wamp' });
  try {
    const reply = await hm.op('manager').status();
    const data = 'data' in reply.session ? (reply.session.data as { child_states: { instance_id: string; state: string }[] }) : { child_states: [] };
    return data.child_states.find((c) => c.instance_id === id)?.state;
  } finally {
    await hm.close();
  }
}

async function attr(selector: string, name: string): Promise<string | null> {
  return page.locator(selector).first().getAttribute(name, { timeout: 2_000 });
}

beforeAll(async () => {
  up = await startUp();
  await up.waitForLine('up: registry (RegistryAgent)');
  await up.waitForLine('up: fake-data1 (FakeDataAgent)');
  await up.waitForLine('up: fake-data2 (FakeDataAgent)');
  consoleUrl = `http://127.0.0.1:${up.port}/console/`;
  browser = await launchBrowser();
  ({ page, errors: pageErrors } = await openPage(browser, consoleUrl));
}, UP_TIMEOUT_MS + 30_000);

afterAll(async () => {
  await browser?.close();
  up?.cleanup();
});

describe('web console (served by ocs up, in chromium)', () => {
  it('is announced by ocs up and lists every agent with class and liveness, from heartbeats and get_api', async () => {
    expect(up.output()).toContain(`console at ${consoleUrl}\n`);
    for (const [id, cls] of [
      ['fake-data1', 'FakeDataAgent'],
      ['fake-data2', 'FakeDataAgent'],
      ['registry', 'RegistryAgent'],
      ['hm-localhost', 'HostManager'],
    ] as const) {
      const row = page.getByTestId(`agent-row-${id}`);
      await row.waitFor({ timeout: 30_000 });
      await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain(cls);
      expect(await row.getAttribute('data-expired')).toBe('false');
    }
    await expect.poll(() => page.getByTestId('status-bar').getAttribute('data-link')).toBe('open');
  });

  it('starts delay_task from its form: RUNNING, then SUCCEEDED with the session shown', async () => {
    await page.goto(`${consoleUrl}#/agent/fake-data1`);
    const op = page.getByTestId('op-delay_task');
    await op.waitFor({ timeout: 20_000 });
    await op.getByTestId('param-delay').fill('3');
    await op.getByTestId('op-start').click();
    await expect.poll(() => op.getByTestId('op-status').textContent(), { timeout: 10_000 }).toBe('running');
    await expect.poll(() => op.getByTestId('op-code').textContent(), { timeout: 10_000 }).toBe('RUNNING');
    await expect.poll(() => op.getByTestId('op-status').textContent(), { timeout: 20_000 }).toBe('done');
    expect(await op.getByTestId('op-success').textContent()).toBe('true');
    await expect.poll(() => op.getByTestId('op-code').textContent(), { timeout: 10_000 }).toBe('SUCCEEDED');
    expect(await op.getByTestId('op-messages').textContent()).toContain('Status is now "done".');
    // the page saw what a client sees
    const client = await OcsClient.connect('fake-data1', { url: up.url, realm: 'test_realm', addressRoot: 'observatory', transport: 'wamp' });
    const status = await client.ops.delay_task.status();
    await client.close();
    expect(status.session).toMatchObject({ status: 'done', success: true });
  });

  it('refuses a bad parameter in the form before sending, and shows the agent\'s own error for one it refuses', async () => {
    const op = page.getByTestId('op-delay_task');
    await op.getByTestId('param-delay').fill('abc');
    await op.getByTestId('op-start').click();
    await expect.poll(() => op.getByTestId('op-reply').textContent()).toBe("delay: 'abc' is not a number");
    await op.getByTestId('params-json-toggle').check();
    await op.getByTestId('params-json').fill('{"delay": "abc"}');
    await op.getByTestId('op-start').click();
    await expect.poll(() => op.getByTestId('op-reply').textContent()).toBe("Param 'delay'=abc is not of required type (<class 'float'>)");
    expect(await op.getByTestId('op-reply').getAttribute('class')).toContain('error');
  });

  it('plots the acq process of fake-data1 live from its recorded feed', async () => {
    const acq = page.getByTestId('op-acq');
    await expect.poll(() => acq.getByTestId('op-code').textContent(), { timeout: 10_000 }).toBe('RUNNING');
    await page.goto(`${consoleUrl}#/plots?agent=fake-data1&feed=false_temperatures`);
    const samples = page.getByTestId('plot-samples');
    await samples.waitFor({ timeout: 20_000 });
    await expect.poll(async () => Number(await samples.getAttribute('data-samples')), { timeout: 20_000 }).toBeGreaterThan(10);
    const first = Number(await samples.getAttribute('data-samples'));
    await expect.poll(async () => Number(await samples.getAttribute('data-samples')), { timeout: 20_000 }).toBeGreaterThan(first);
    // uPlot drew its canvas with both channels of the default FakeDataAgent
    const canvas = page.getByTestId('plot-chart').locator('canvas');
    await canvas.waitFor({ timeout: 10_000 });
    expect(await canvas.evaluate((c) => (c as unknown as { width: number }).width)).toBeGreaterThan(300);
    expect(await page.getByTestId('plot-chart').textContent()).toContain('temps/channel_00');
    expect(await page.getByTestId('plot-chart').textContent()).toContain('temps/channel_01');
  });

  it('stops a HostManager child from the page: it reaches STOPPED in child_states, and starts again', async () => {
    await page.goto(`${consoleUrl}#/hosts`);
    const row = page.getByTestId('host-hm-localhost').getByTestId('child-fake-data2');
    await row.waitFor({ timeout: 20_000 });
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 20_000 }).toBe('RUNNING');
    // the supervisor's sample of the child: resident memory and CPU share
    await expect.poll(() => row.getByTestId('child-memory').textContent(), { timeout: 10_000 }).toMatch(/^\d+ MB$/);
    await expect.poll(() => row.getByTestId('child-cpu').textContent(), { timeout: 10_000 }).toMatch(/^\d+\.\d %$/);
    await row.getByTestId('verb-stop').click();
    await waitFor(async () => (await childState('fake-data2')) === 'STOPPED', { timeoutMs: 30_000, what: 'fake-data2 STOPPED in child_states' });
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 10_000 }).toBe('STOPPED');
    expect(await page.getByTestId('verb-reply').textContent()).toContain('stop fake-data2');
    await row.getByTestId('verb-start').click();
    await waitFor(async () => (await childState('fake-data2')) === 'RUNNING', { timeoutMs: 30_000, what: 'fake-data2 RUNNING again' });
  });

  it("tails a child's log through the HostManager's logs verb", async () => {
    const row = page.getByTestId('host-hm-localhost').getByTestId('child-registry');
    await row.getByTestId('verb-logs').click();
    const logs = page.getByTestId('child-logs');
    await expect.poll(() => logs.locator('pre').textContent(), { timeout: 15_000 }).toMatch(/registry|joined|RegistryAgent/);
  });

  it('shows an agent killed from the HostManager view as expired, in the list and in the Registry view, without removing it', async () => {
    const row = page.getByTestId('host-hm-localhost').getByTestId('child-fake-data2');
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 20_000 }).toBe('RUNNING');
    await page.goto(`${consoleUrl}#/agents`);
    await expect.poll(() => attr('[data-testid="agent-row-fake-data2"]', 'data-expired'), { timeout: 20_000 }).toBe('false');
    await page.goto(`${consoleUrl}#/hosts`);
    await row.getByTestId('verb-kill').click();
    await waitFor(async () => (await childState('fake-data2')) === 'KILLED', { timeoutMs: 30_000, what: 'fake-data2 KILLED' });
    await page.goto(`${consoleUrl}#/agents`);
    // ocs-web's rule: alive while the last beat is at most 5 s old, checked each second
    await expect.poll(() => attr('[data-testid="agent-row-fake-data2"]', 'data-expired'), { timeout: 12_000 }).toBe('true');
    expect(await attr('[data-testid="agent-row-fake-data1"]', 'data-expired')).toBe('false');
    await page.goto(`${consoleUrl}#/registry`);
    await expect.poll(() => attr('[data-testid="registry-row-fake-data2"]', 'data-expired'), { timeout: 15_000 }).toBe('true');
    await expect.poll(() => page.getByTestId('registry-events').textContent(), { timeout: 10_000 }).toContain('agent.expired observatory.fake-data2');
  });

  it('sorts the Registry table by a column, both ways', async () => {
    const ids = () => page.locator('[data-testid="registry-rows"] tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-testid')));
    // the Registry's own table: every agent it hears but itself
    await expect.poll(ids, { timeout: 10_000 }).toEqual(['registry-row-fake-data1', 'registry-row-fake-data2', 'registry-row-hm-localhost']);
    const ascending = await ids();
    await page.getByTestId('sort-address').click();
    await expect.poll(ids).toEqual([...ascending].reverse());
    await page.getByTestId('sort-status').click();
    expect((await ids()).at(-1)).toBe('registry-row-fake-data2');
  });

  it('keeps the deep link of an agent across a reload', async () => {
    await page.goto(`${consoleUrl}#/agent/fake-data1`);
    await page.getByTestId('agent-panel').waitFor({ timeout: 10_000 });
    await page.reload();
    const panel = page.getByTestId('agent-panel');
    await panel.waitFor({ timeout: 20_000 });
    expect(await panel.getAttribute('data-instance-id')).toBe('fake-data1');
    // the sessions are read again after the reload (status polls); delay_task has none since its
    // refused start (OCS clears a done session before it checks the params of the next start)
    await expect.poll(() => page.getByTestId('op-acq').getByTestId('op-status').textContent(), { timeout: 20_000 }).toBe('running');
    await expect.poll(() => page.getByTestId('op-count').getByTestId('op-status').textContent(), { timeout: 10_000 }).toBe('running');
    const shot = join(up.stateDir, 'console.png');
    await page.screenshot({ path: shot });
    // OCS_CONSOLE_SCREENSHOT=1 refreshes the README's picture from this run
    if (process.env['OCS_CONSOLE_SCREENSHOT'] === '1') {
      mkdirSync(join(projectRoot(), 'docs'), { recursive: true });
      copyFileSync(shot, join(projectRoot(), 'docs', 'console.png'));
    }
    expect(pageErrors).toEqual([]);
  });
});
