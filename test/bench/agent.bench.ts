import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { OcsClient } from '../../lib/client/ocs-client.js';
import { projectRoot } from '../helpers/project-root.js';
import { spawnRouterProcess, type RouterProcess } from '../helpers/router-process.js';
import { readCpuSeconds, readRssMb } from './lib/proc-stats.js';
import { LatencyRecorder } from './lib/stats.js';
import { currentLoad, newReport, type BenchOptions, type BenchReport } from './lib/report.js';

/**
 * Agent runtime figures:
 *  - the `.ops` status round trip of an OcsClient through the embedded router to a FakeDataAgent
 *    process (sequential calls; WAMP and the HTTP /call bridge);
 *  - the CPU cost of heartbeats: 1,000 agents hosted in one process, each its own WAMP session
 *    beating once a second with five op codes; CPU of that process and of the router.
 */
export const name = 'agent';

const OCS = (): string => join(projectRoot(), 'dist', 'bin', 'ocs.js');

function spawnLines(args: string[], readyPattern: RegExp, timeoutMs: number): Promise<{ pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.once('exit', () => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not ready within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (readyPattern.test(line)) {
        clearTimeout(timer);
        resolve({
          pid: child.pid!,
          stop: async () => {
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(t);
          },
        });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`exited early: ${stderr}`));
    });
  });
}

async function statusRoundTrip(report: BenchReport, router: RouterProcess, options: BenchOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ocs-bench-'));
  const httpUrl = router.url.replace(/^ws/, 'http').replace(/\/ws$/, '/call');
  const site = join(dir, 'site.yaml');
  writeFileSync(
    site,
    stringify({
      hub: { wamp_server: router.url, wamp_http: httpUrl, wamp_realm: 'test_realm', address_root: 'bench' },
      hosts: { localhost: { 'agent-instances': [{ 'agent-class': 'FakeDataAgent', 'instance-id': 'fake-data1', arguments: ['--mode', 'acq', '--num-channels', '16'] }] } },
    }),
  );
  const agent = await spawnLines([OCS(), 'agent', '--site-file', site, '--instance-id', 'fake-data1'], /joined and registered/, 15_000);
  try {
    for (const transport of ['wamp', 'http'] as const) {
      const client = await OcsClient.connect('fake-data1', { url: router.url, httpUrl, addressRoot: 'bench', transport });
      const handle = client.op('acq');
      const durationS = options.quick ? 3 : 15;
      for (let i = 0; i < 200; i++) await handle.status();
      const lat = new LatencyRecorder();
      const routerCpu0 = readCpuSeconds(router.pid);
      const agentCpu0 = readCpuSeconds(agent.pid);
      const client0 = process.cpuUsage();
      const t0 = performance.now();
      const end = t0 + durationS * 1000;
      let n = 0;
      while (performance.now() < end) {
        const s = performance.now();
        const reply = await handle.status();
        lat.add(performance.now() - s);
        if (reply.status !== 0) throw new Error(`status failed: ${reply.message}`);
        n++;
      }
      const elapsedS = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(client0);
      report.results.push({
        benchmark: `ops status round trip (${transport})`,
        client: transport === 'wamp' ? 'OcsClient/autobahn-js' : 'OcsClient/http',
        durationS: elapsedS,
        throughput: n / elapsedS,
        throughputUnit: 'calls/s',
        latencyMs: lat.summary(),
        routerCpuPct: ((readCpuSeconds(router.pid) - routerCpu0) / elapsedS) * 100,
        clientCpuPct: ((c.user + c.system) / 1e6 / elapsedS) * 100,
        routerRssMb: readRssMb(router.pid),
        loadAvg1m: currentLoad(),
        extra: { agentCpuPct: ((readCpuSeconds(agent.pid) - agentCpu0) / elapsedS) * 100, agentRssMb: readRssMb(agent.pid) },
      });
      await client.close();
    }
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function heartbeatCost(report: BenchReport, router: RouterProcess, options: BenchOptions): Promise<void> {
  const count = 1000;
  const host = await spawnLines([join(projectRoot(), 'dist', 'test', 'bench', 'lib', 'agent-host.js'), router.url, String(count)], /^ready /, 120_000);
  try {
    await new Promise((r) => setTimeout(r, 3000));
    const durationS = options.quick ? 5 : 30;
    const hostCpu0 = readCpuSeconds(host.pid);
    const routerCpu0 = readCpuSeconds(router.pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, durationS * 1000));
    const elapsedS = (performance.now() - t0) / 1000;
    const hostCpuPct = ((readCpuSeconds(host.pid) - hostCpu0) / elapsedS) * 100;
    report.results.push({
      benchmark: `heartbeats, ${count} agents in one process`,
      client: 'AgentRuntime',
      durationS: elapsedS,
      throughput: count,
      throughputUnit: 'beats/s',
      latencyMs: { p50: NaN, p99: NaN, max: NaN },
      routerCpuPct: ((readCpuSeconds(router.pid) - routerCpu0) / elapsedS) * 100,
      clientCpuPct: hostCpuPct,
      routerRssMb: readRssMb(router.pid),
      loadAvg1m: currentLoad(),
      extra: { agentProcessCpuPctPer1000: (hostCpuPct / count) * 1000, agentProcessRssMb: readRssMb(host.pid) },
    });
  } finally {
    await host.stop();
  }
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const report = newReport(name, options);
  const router = await spawnRouterProcess();
  try {
    for (const [label, fn] of [
      ['ops status round trip', statusRoundTrip],
      ['heartbeat cost', heartbeatCost],
    ] as const) {
      try {
        await fn(report, router, options);
      } catch (err) {
        report.failures.push({ benchmark: label, client: '-', error: (err as Error).message });
      }
    }
  } finally {
    await router.stop();
  }
  return report;
}
