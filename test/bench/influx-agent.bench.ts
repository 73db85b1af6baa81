import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { AgentRuntime } from '../../lib/agent/agent-runtime.js';
import { silentLogger } from '../../lib/log.js';
import { jsonSerializer } from '../../lib/wamp/serializers.js';
import { startInfluxd, type RunningInfluxd } from '../helpers/influxd.js';
import { projectRoot } from '../helpers/project-root.js';
import { readCpuSeconds, readRssMb } from './lib/proc-stats.js';
import { currentLoad, newReport, type BenchOptions, type BenchReport } from './lib/report.js';
import { spawnRouterProcess, type RouterProcess } from '../helpers/router-process.js';
import { LatencyRecorder } from './lib/stats.js';

/**
 * The InfluxDB publisher as deployed, at the reference load: 100 simulated FakeDataAgents
 * (one load-generator process, 100 WAMP sessions with heartbeats) publish 10 Hz × 16 channels
 * through the router process to the InfluxDBAgent process (`ocs agent`), which writes to a real
 * influxd; all on loopback.
 *  - throughput: points/s InfluxDB accepted during the window (the publisher's `written_points`);
 *  - CPU (share of one core, from /proc) of the publisher, the router, the load generator and
 *    influxd, and the publisher's RSS;
 *  - latency: from a probe agent's publish until an InfluxQL query returns the point; the
 *    publisher's `--flush-interval` (1 s by default) dominates it, so the load runs twice, with
 *    the default and with 0.1 s;
 *  - loss: points published minus points stored, after the load stops and the publisher drains.
 */

export const name = 'influx-agent';

const AGENTS = 100;
const RATE_HZ = 10;
const CHANNELS = 16;
const ADDRESS_ROOT = 'bench';
const REALM = 'test_realm';
const DB = 'ocs_feeds';
const PUBLISHER_ID = 'influxdb-publisher';
const READY_TIMEOUT_MS = 60_000;
const DRAIN_TIMEOUT_MS = 60_000;
const WARMUP_MS = 5_000;
const PROBE_TIMEOUT_MS = 20_000;

const OCS = (): string => join(projectRoot(), 'dist', 'bin', 'ocs.js');
const LOAD = (): string => join(projectRoot(), 'dist', 'test', 'helpers', 'fake-feed-load.js');

interface Child {
  pid: number;
  lines: string[];
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let isExitHookInstalled = false;

/** Spawns `node args...`, keeps its stdout lines, resolves once a line matches `readyPattern`. */
function spawnNode(args: string[], readyPattern: RegExp, env: Record<string, string> = {}): Promise<Child> {
  if (!isExitHookInstalled) {
    isExitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args[0]} not ready within ${READY_TIMEOUT_MS} ms: ${stderr}`));
    }, READY_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (lines.length > 1000) lines.splice(0, 500);
      if (readyPattern.test(line)) {
        clearTimeout(timer);
        resolve({ pid: child.pid!, lines, stop });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited early: ${stderr}`));
    });
  });
}

function lastPublished(lines: string[]): number {
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^published (\d+)$/.exec(lines[i]!);
    if (m) return Number(m[1]);
  }
  return 0;
}

interface CpuMark {
  atMs: number;
  cpuS: Record<string, number>;
}

function markCpu(pids: Record<string, number>): CpuMark {
  return { atMs: performance.now(), cpuS: Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, readCpuSeconds(pid)])) };
}

function cpuPct(from: CpuMark, to: CpuMark, key: string): number {
  return ((to.cpuS[key]! - from.cpuS[key]!) / ((to.atMs - from.atMs) / 1000)) * 100;
}

async function publisherData(probe: AgentRuntime): Promise<Record<string, number | string | null>> {
  const reply = await probe.call<[number, string, { data?: Record<string, number | string | null> }]>(`${ADDRESS_ROOT}.${PUBLISHER_ID}.ops`, ['status', 'record']);
  return reply[2].data ?? {};
}

async function storedPoints(influx: RunningInfluxd): Promise<number> {
  const [result] = await influx.query(`SELECT count("channel_00") FROM /^${ADDRESS_ROOT}\\.fake-data/ WHERE "feed" = 'false_temperatures'`, DB);
  return (result?.series ?? []).reduce((sum, s) => sum + Number(s.values[0]?.[1] ?? 0), 0);
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Runs one case with its own influxd, router, publisher and load, all stopped at the end. */
async function runCase(report: BenchReport, benchmark: string, flushIntervalS: number, options: BenchOptions): Promise<void> {
  const durationS = options.quick ? 15 : 60;
  const dir = mkdtempSync(join(tmpdir(), 'ocs-bench-influx-'));
  let influx: RunningInfluxd | undefined;
  let router: RouterProcess | undefined;
  let publisher: Child | undefined;
  let load: Child | undefined;
  let probe: AgentRuntime | undefined;
  try {
    influx = await startInfluxd();
    router = await spawnRouterProcess(['--realm', REALM]);
    const site = join(dir, 'site.yaml');
    writeFileSync(
      site,
      stringify({
        hub: { wamp_server: router.url, wamp_http: router.url.replace(/^ws/, 'http').replace(/\/ws$/, '/call'), wamp_realm: REALM, address_root: ADDRESS_ROOT },
        hosts: {
          localhost: {
            'agent-instances': [{ 'agent-class': 'InfluxDBAgent', 'instance-id': PUBLISHER_ID, arguments: ['--host', '127.0.0.1', '--port', String(influx.port), '--database', DB, '--flush-interval', String(flushIntervalS)] }],
          },
        },
      }),
    );
    publisher = await spawnNode([OCS(), 'agent', '--site-file', site, '--instance-id', PUBLISHER_ID], /joined and registered/, { LOGLEVEL: 'info' });
    load = await spawnNode([LOAD(), router.url, REALM, ADDRESS_ROOT, String(AGENTS), String(RATE_HZ), String(CHANNELS)], /^ready \d+$/);

    probe = new AgentRuntime({
      agentClass: 'LatencyProbe',
      instanceId: 'latency-probe',
      addressRoot: ADDRESS_ROOT,
      wampUrl: router.url,
      realm: REALM,
      crossbarTimeoutS: 0,
      serializers: [jsonSerializer],
      logger: silentLogger(),
    });
    const probeFeed = probe.registerFeed('probe', { record: true });
    const joined = new Promise((resolve) => probe!.once('joined', resolve));
    void probe.run({ shouldHandleSignals: false });
    await joined;

    await sleep(WARMUP_MS);
    const pids = { publisher: publisher.pid, router: router.pid, load: load.pid, influxd: influx.pid()! };
    const written0 = Number((await publisherData(probe))['written_points']);
    const cpu0 = markCpu(pids);
    let publisherRssPeakMb = readRssMb(publisher.pid);
    const loadAvg = currentLoad();

    // Probes: published on their own schedule (so they land at every phase of the flush
    // cycle); a poller sees which are queryable. The writer keeps order, so last(seq) = n means
    // every probe up to n is stored.
    const latency = new LatencyRecorder();
    const sentAt = new Map<number, number>();
    let seq = 0;
    let isRunning = true;
    const publishProbes = (async () => {
      while (isRunning) {
        sentAt.set(++seq, performance.now());
        probeFeed.publishMessage({ block_name: 'p', timestamp: Date.now() / 1000, data: { seq: BigInt(seq) } });
        await sleep(50 + Math.random() * 150);
      }
    })();
    const pollProbes = (async () => {
      while (isRunning || sentAt.size > 0) {
        const [res] = await influx!.query(`SELECT last(seq) FROM "${ADDRESS_ROOT}.latency-probe"`, DB).catch(() => [undefined]);
        const last = Number(res?.series?.[0]?.values[0]?.[1] ?? 0);
        const now = performance.now();
        for (const [n, at] of sentAt) {
          if (n <= last) {
            latency.add(now - at);
            sentAt.delete(n);
          } else if (now - at > PROBE_TIMEOUT_MS) {
            throw new Error(`probe ${n} not queryable within ${PROBE_TIMEOUT_MS} ms`);
          }
        }
        publisherRssPeakMb = Math.max(publisherRssPeakMb, readRssMb(publisher!.pid));
        await sleep(10);
      }
    })();
    await sleep(durationS * 1000);
    isRunning = false;
    await Promise.all([publishProbes, pollProbes]);
    const cpu1 = markCpu(pids);
    const dataAtEnd = await publisherData(probe);
    const written = Number(dataAtEnd['written_points']) - written0;
    const windowS = (cpu1.atMs - cpu0.atMs) / 1000;

    // Loss: stop the load, let the publisher drain, compare what was published with what is stored.
    await load.stop();
    const published = lastPublished(load.lines);
    await waitUntil(async () => Number((await publisherData(probe!))['pending_points']) === 0, DRAIN_TIMEOUT_MS, 'publisher drained');
    const stored = await storedPoints(influx);
    const final = await publisherData(probe);

    report.results.push({
      benchmark,
      client: 'influxdb-agent',
      durationS: windowS,
      throughput: written / windowS,
      throughputUnit: 'points/s',
      latencyMs: latency.summary(),
      routerCpuPct: cpuPct(cpu0, cpu1, 'router'),
      clientCpuPct: cpuPct(cpu0, cpu1, 'load'),
      routerRssMb: readRssMb(router.pid),
      loadAvg1m: loadAvg,
      extra: {
        flushIntervalS,
        agents: AGENTS,
        rateHz: RATE_HZ,
        channels: CHANNELS,
        offeredPointsPerS: AGENTS * RATE_HZ,
        valuesPerS: (written * CHANNELS) / windowS,
        publisherCpuPct: cpuPct(cpu0, cpu1, 'publisher'),
        publisherRssPeakMb,
        influxdCpuPct: cpuPct(cpu0, cpu1, 'influxd'),
        pendingAtEnd: Number(dataAtEnd['pending_points']),
        probes: latency.count,
        published,
        stored,
        lost: published - stored,
        dropped: Number(final['dropped_points']),
        rejected: Number(final['rejected_points']),
      },
    });
  } catch (err) {
    report.failures.push({ benchmark, client: 'influxdb-agent', error: err instanceof Error ? err.message : String(err) });
  } finally {
    await probe?.shutdown('bench over');
    await load?.stop();
    await publisher?.stop();
    await router?.stop();
    await influx?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const report = newReport(name, options);
  await runCase(report, 'reference load', 1, options);
  await runCase(report, 'reference, flush 0.1 s', 0.1, options);
  return report;
}
