/**
 * A client's call latency while another floods the router with batched frames of 200,000 CALLs
 * (7 MB each, sent again as soon as the router has answered the last one), with the router's
 * per-frame cap (`limits.max_messages_per_frame`, default 1000) and with the cap lifted. The
 * victim is an autobahn-js caller doing sequential calls to an autobahn-js callee; the router
 * runs as `ocs router` and the flood (lib/batch-flooder.ts) in processes of their own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WampConnection } from '../../lib/wamp/connection.js';
import { UsageWindow } from './lib/proc-stats.js';
import { isCaseSelected, newReport, type BenchOptions, type BenchReport } from './lib/report.js';
import { spawnRouterProcess } from '../helpers/router-process.js';
import { LatencyRecorder } from './lib/stats.js';

export const name = 'batch-flood';

const BATCH = 200_000;
const FLOODER = join(dirname(fileURLToPath(import.meta.url)), 'lib', 'batch-flooder.js');

/** Starts the flood in a process of its own; `stop()` ends it and resolves with the frames it sent. */
function startFlood(url: string): { stop(): Promise<number> } {
  const child = spawn(process.execPath, [FLOODER, url, String(BATCH)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      return Number(out.trim()) || 0;
    },
  };
}

async function measure(report: BenchReport, benchmark: string, durationS: number, routerArgs: string[], isFlooded: boolean): Promise<void> {
  const loadAvg1m = loadavg()[0]!;
  process.stdout.write(`  ${benchmark} ...`);
  const router = await spawnRouterProcess(routerArgs);
  const calleeConn = new WampConnection({ url: router.url, realm: 'test_realm' });
  const callerConn = new WampConnection({ url: router.url, realm: 'test_realm' });
  try {
    const callee = await calleeConn.open();
    await callee.register('svc.echo', (args) => args?.[0]);
    const caller = await callerConn.open();
    for (let i = 0; i < 200; i++) await caller.call('svc.echo', [i]);
    const flood = isFlooded ? startFlood(router.url) : undefined;
    const usage = new UsageWindow(router.pid);
    const latencies = new LatencyRecorder();
    const until = performance.now() + durationS * 1000;
    while (performance.now() < until) {
      const t0 = performance.now();
      await caller.call('svc.echo', [1]);
      latencies.add(performance.now() - t0);
    }
    const u = usage.stop();
    const frames = (await flood?.stop()) ?? 0;
    const latencyMs = latencies.summary();
    report.results.push({
      benchmark,
      client: 'autobahn-js',
      durationS: u.elapsedS,
      throughput: latencies.count / u.elapsedS,
      throughputUnit: 'victim calls/s',
      latencyMs,
      routerCpuPct: u.routerCpuPct,
      clientCpuPct: u.clientCpuPct,
      routerRssMb: u.routerRssPeakMb,
      loadAvg1m,
      extra: { flood_frames: frames, messages_per_frame: isFlooded ? BATCH : 0 },
    });
    process.stdout.write(` p50 ${latencyMs.p50.toFixed(2)} ms, p99 ${latencyMs.p99.toFixed(2)} ms, ${frames} flood frames\n`);
  } catch (err) {
    report.failures.push({ benchmark, client: 'autobahn-js', error: err instanceof Error ? err.message : String(err) });
  } finally {
    await calleeConn.close().catch(() => undefined);
    await callerConn.close().catch(() => undefined);
    await router.stop();
  }
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const report = newReport(name, options);
  const durationS = options.quick ? 4 : 15;
  const dir = mkdtempSync(join(tmpdir(), 'ocs-bench-flood-'));
  const uncapped = join(dir, 'uncapped.yaml');
  writeFileSync(uncapped, `limits: {max_messages_per_frame: ${BATCH * 2}}\n`);
  try {
    const cases: [string, string[], boolean][] = [
      ['sequential calls, no flood', [], false],
      ['sequential calls beside a 200k-CALL batch flood, cap 1000 (default)', [], true],
      ['sequential calls beside a 200k-CALL batch flood, no cap', ['--config', uncapped], true],
    ];
    for (const [benchmark, args, isFlooded] of cases) {
      if (isCaseSelected(options, benchmark)) await measure(report, benchmark, durationS, args, isFlooded);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}
