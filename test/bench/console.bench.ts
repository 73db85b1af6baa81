import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CDPSession, Page } from 'playwright-core';
import { stringify } from 'yaml';
import { launchBrowser } from '../helpers/browser.js';
import { projectRoot } from '../helpers/project-root.js';
import { Generator, REALM, ROOT, killAllChildren, stopChild, track } from './lib/heartbeat-load.js';
import { UsageWindow } from './lib/proc-stats.js';
import { currentLoad, isCaseSelected, newReport, type BenchOptions, type BenchReport, type BenchResult } from './lib/report.js';
import { spawnRouterProcess, type RouterProcess } from '../helpers/router-process.js';
import { percentile } from './lib/stats.js';

/**
 * The web console under load, in Debian's chromium (Playwright). Per case, a router process
 * (`ocs router`, which serves /console/) and:
 *   - `1,000 agents`: the registry benchmark's load generator, 1,000 raw WAMP sessions beating
 *     once a second (OCS's heartbeat, five op codes), the page on the agent list; every agent
 *     must appear first;
 *   - `plot 16 ch x 10 Hz`: a FakeDataAgent process (`--num-channels 16 --sample-rate 10`), the
 *     page plotting all 16 channels of `false_temperatures`, its 10 min window first filled
 *     (96,000 points) so the redraws are those of a full window.
 * Measured over the window (60 s; 20 s with --quick; OCS_BENCH_CONSOLE_S=600 for ten minutes):
 *   - the page's own figure: the time spent applying what arrived and redrawing, per wall-clock
 *     second (ConsoleSession.stats), p50 / p99 / max (the target: p99 ≤ 50 ms);
 *   - main-thread busy share (CDP Performance.getMetrics TaskDuration over wall time), and the
 *     lag of a 100 ms timer in the page (how late input would be handled), p99 / max;
 *   - JS heap after a forced GC at the start and the end of the window (bounded: no growth with
 *     time), and router CPU.
 */
export const name = 'console';

interface Plan {
  measureS: number;
}

const FULL: Plan = { measureS: 60 };
const QUICK: Plan = { measureS: 20 };
const AGENTS = 1_000;
const APPEAR_TIMEOUT_MS = 120_000;
const WINDOW_S = 600;
const PLOT_CHANNELS = 16;
const PLOT_RATE_HZ = 10;

/** What the benchmark reads of the page's globals (`(globalThis as unknown as ConsoleWindow).ocsConsole`, main.tsx), in page.evaluate. */
interface ConsoleWindow {
  ocsConsole?: {
    directory: { size: number };
    stats: { secondCostsMs: number[]; eventsApplied: number; redraws: number };
    plots: Map<string, { window: { applyMessage(m: unknown): unknown; heldSamples(): number; sampleCount: number } }>;
  };
  ocsLag?: number[];
}

async function heapMb(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  const usage = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
  return usage.usedSize / 1024 / 1024;
}

async function taskSeconds(cdp: CDPSession): Promise<number> {
  const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
  return metrics.find((m) => m.name === 'TaskDuration')?.value ?? NaN;
}

/** Runs the measurement window on an open page; the page's stats are reset at its start. */
async function measure(page: Page, cdp: CDPSession, router: RouterProcess, plan: Plan): Promise<Omit<BenchResult, 'benchmark' | 'throughputUnit'>> {
  const loadAvg1m = currentLoad();
  await page.evaluate(() => {
    const c = (globalThis as unknown as ConsoleWindow).ocsConsole!;
    c.stats.secondCostsMs.length = 0;
    c.stats.eventsApplied = 0;
    c.stats.redraws = 0;
    (globalThis as unknown as ConsoleWindow).ocsLag = [];
    let last = performance.now();
    setInterval(() => {
      const now = performance.now();
      (globalThis as unknown as ConsoleWindow).ocsLag!.push(now - last - 100);
      last = now;
    }, 100);
  });
  const heapStartMb = await heapMb(cdp);
  const taskStartS = await taskSeconds(cdp);
  const usage = new UsageWindow(router.pid);
  const t0 = performance.now();
  let heapMaxMb = heapStartMb;
  for (let s = 0; s < plan.measureS; s += 10) {
    await sleep(Math.min(10, plan.measureS - s) * 1000);
    const sample = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
    heapMaxMb = Math.max(heapMaxMb, sample.usedSize / 1024 / 1024);
  }
  const elapsedS = (performance.now() - t0) / 1000;
  const busyPct = (((await taskSeconds(cdp)) - taskStartS) / elapsedS) * 100;
  const u = usage.stop();
  const page_ = await page.evaluate(() => ({ costs: (globalThis as unknown as ConsoleWindow).ocsConsole!.stats.secondCostsMs.slice(), events: (globalThis as unknown as ConsoleWindow).ocsConsole!.stats.eventsApplied, redraws: (globalThis as unknown as ConsoleWindow).ocsConsole!.stats.redraws, lag: (globalThis as unknown as ConsoleWindow).ocsLag!.slice() }));
  const heapEndMb = await heapMb(cdp);
  const costs = Float64Array.from(page_.costs).sort();
  const lag = Float64Array.from(page_.lag).sort();
  return {
    client: 'chromium',
    durationS: elapsedS,
    throughput: page_.events / elapsedS,
    latencyMs: { p50: percentile(costs, 50), p99: percentile(costs, 99), max: costs.length ? costs[costs.length - 1]! : NaN },
    routerCpuPct: u.routerCpuPct,
    clientCpuPct: busyPct,
    routerRssMb: u.routerRssPeakMb,
    loadAvg1m,
    extra: {
      seconds: costs.length,
      redrawsPerS: page_.redraws / elapsedS,
      mainThreadBusyPct: busyPct,
      timerLagP99Ms: percentile(lag, 99),
      timerLagMaxMs: lag.length ? lag[lag.length - 1]! : NaN,
      heapStartMb,
      heapMaxMb,
      heapEndMb,
    },
  };
}

async function agentsCase(plan: Plan): Promise<BenchResult> {
  const router = await spawnRouterProcess();
  const generator = Generator.start(0, AGENTS);
  const browser = await launchBrowser();
  try {
    await generator.connect(router.url);
    generator.beat();
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(`${router.url.replace(/^ws/, 'http').replace(/\/ws$/, '/console/')}#/agents`);
    const deadline = Date.now() + APPEAR_TIMEOUT_MS;
    while ((await page.evaluate(() => (globalThis as unknown as ConsoleWindow).ocsConsole?.directory.size ?? 0)) < AGENTS) {
      if (Date.now() > deadline) throw new Error(`only ${await page.evaluate(() => (globalThis as unknown as ConsoleWindow).ocsConsole?.directory.size ?? 0)} of ${AGENTS} agents appeared`);
      await sleep(500);
    }
    // the list follows within a redraw or two
    await page.locator('[data-testid="agent-list"] li').nth(AGENTS - 1).waitFor({ timeout: 10_000 });
    const m = await measure(page, cdp, router, plan);
    return { benchmark: `${AGENTS.toLocaleString('en-US')} agents`, throughputUnit: 'beats/s', ...m, extra: { ...m.extra, agents: AGENTS } };
  } finally {
    await browser.close();
    await generator.stop();
    await router.stop();
  }
}

async function plotCase(plan: Plan): Promise<BenchResult> {
  const router = await spawnRouterProcess();
  const dir = mkdtempSync(join(tmpdir(), 'ocs-bench-console-'));
  const site = join(dir, 'site.yaml');
  const httpUrl = router.url.replace(/^ws/, 'http').replace(/\/ws$/, '/call');
  writeFileSync(
    site,
    stringify({
      hub: { wamp_server: router.url, wamp_http: httpUrl, wamp_realm: REALM, address_root: ROOT },
      hosts: { localhost: { 'agent-instances': [{ 'agent-class': 'FakeDataAgent', 'instance-id': 'plotter', arguments: ['--mode', 'acq', '--num-channels', PLOT_CHANNELS, '--sample-rate', PLOT_RATE_HZ] }] } },
    }),
  );
  const agent = spawn(process.execPath, [join(projectRoot(), 'dist', 'bin', 'ocs.js'), 'agent', '--site-file', site, '--instance-id', 'plotter'], { stdio: 'ignore' });
  const exited = track(agent);
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(`${router.url.replace(/^ws/, 'http').replace(/\/ws$/, '/console/')}#/plots?agent=plotter&feed=false_temperatures`);
    await page.locator('[data-testid="plot-chart"] canvas').waitFor({ timeout: 60_000 });
    // the window as after ten minutes: 6,000 samples of 16 channels before the live ones
    await page.evaluate(
      ({ channels, rateHz, windowS }) => {
        const plot = [...(globalThis as unknown as ConsoleWindow).ocsConsole!.plots.values()][0]!;
        const n = windowS * rateHz;
        const t0 = Date.now() / 1000 - windowS;
        const timestamps = Array.from({ length: n }, (_, i) => t0 + i / rateHz);
        const data: Record<string, number[]> = {};
        for (let c = 0; c < channels; c++) data[`channel_${String(c).padStart(2, '0')}`] = timestamps.map((_, i) => 0.1 + Math.sin(i / 50 + c) * 0.01);
        plot.window.applyMessage({ temps: { block_name: 'temps', timestamps, data } });
      },
      { channels: PLOT_CHANNELS, rateHz: PLOT_RATE_HZ, windowS: WINDOW_S - 5 },
    );
    const m = await measure(page, cdp, router, plan);
    const held = await page.evaluate(() => [...(globalThis as unknown as ConsoleWindow).ocsConsole!.plots.values()][0]!.window.heldSamples());
    return { benchmark: `plot ${PLOT_CHANNELS} ch x ${PLOT_RATE_HZ} Hz`, throughputUnit: 'feed events/s', ...m, extra: { ...m.extra, samplesInWindow: held, pointsInWindow: held * PLOT_CHANNELS } };
  } finally {
    await browser.close();
    await stopChild(agent, exited);
    await router.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const report = newReport(name, options);
  const seconds = Number(process.env['OCS_BENCH_CONSOLE_S'] ?? NaN);
  const plan: Plan = Number.isFinite(seconds) && seconds > 0 ? { measureS: seconds } : options.quick ? QUICK : FULL;
  process.once('exit', killAllChildren);
  const cases: [string, () => Promise<BenchResult>][] = [
    [`${AGENTS.toLocaleString('en-US')} agents`, () => agentsCase(plan)],
    [`plot ${PLOT_CHANNELS} ch x ${PLOT_RATE_HZ} Hz`, () => plotCase(plan)],
  ];
  for (const [title, runCase] of cases) {
    if (!isCaseSelected(options, title)) continue;
    process.stdout.write(`  ${title} (${plan.measureS} s) ...\n`);
    try {
      report.results.push(await runCase());
    } catch (err) {
      report.failures.push({ benchmark: title, client: 'chromium', error: err instanceof Error ? err.message : String(err) });
    } finally {
      killAllChildren();
    }
  }
  return report;
}
