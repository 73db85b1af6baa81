import { setTimeout as sleep } from 'node:timers/promises';
import { InfluxHttp } from '../../lib/influx/influx-http.js';
import { DEFAULT_MAX_BUFFER_POINTS, InfluxWriter } from '../../lib/influx/influx-writer.js';
import { InfluxFeedRecorder } from '../../lib/influx/influx-feed-recorder.js';
import { formatFeedMessage } from '../../lib/influx/line-protocol.js';
import { WampFloat } from '../../lib/wamp/float.js';
import { startInfluxd, type RunningInfluxd } from '../helpers/influxd.js';
import { UsageWindow, readRssMb } from './lib/proc-stats.js';
import { currentLoad, newReport, type BenchOptions, type BenchReport, type BenchResult } from './lib/report.js';
import { LatencyRecorder } from './lib/stats.js';

/**
 * InfluxDB publisher data path. The reference load is 100 agents × 10 Hz × 16 channels: 1 000
 * points/s of 16 fields each (16 000 values/s), arriving as one message of 10 samples per agent
 * per second (buffer_time 1 s, as fake-data publishes).
 *  - format: CPU time to turn those messages into line protocol, as a share of one core;
 *  - buffer: heap bytes per buffered 16-field point (sizes the default 1 000 000-point buffer);
 *  - sustained: points/s through recorder → writer → a real influxd, as fast as it takes them;
 *  - latency: at the reference rate, the delay from enqueue until a query sees the point.
 * The "router" columns of the report show influxd's CPU and RSS.
 */

export const name = 'influx';

const AGENTS = 100;
const RATE_HZ = 10;
const CHANNELS = 16;
const DB = 'bench';

const CHANNEL_NAMES = Array.from({ length: CHANNELS }, (_, c) => `channel_${String(c).padStart(2, '0')}`);

function feedOf(agent: number) {
  const address = `observatory.fake-data${agent}`;
  return { agent_address: address, agg_params: {}, feed_name: 'false_temperatures', address: `${address}.feeds.false_temperatures`, record: true, session_id: '1700000000.0', agent_class: 'FakeDataAgent' };
}

/** One second of one agent: 10 samples of 16 channels, as the WAMP codec hands it over. */
function agentSecond(t0: number, extra: Record<string, unknown[]> = {}): Record<string, unknown> {
  const timestamps = Array.from({ length: RATE_HZ }, (_, k) => new WampFloat(t0 + k / RATE_HZ));
  const data: Record<string, unknown[]> = { ...extra };
  for (const ch of CHANNEL_NAMES) data[ch] = timestamps.map((t) => new WampFloat(Math.sin(t.value) * 0.01 + 0.1));
  return { temps: { block_name: 'temps', data, timestamps } };
}

const noLatency = { p50: NaN, p99: NaN, max: NaN };

function result(benchmark: string, fields: Partial<BenchResult> & Pick<BenchResult, 'throughput' | 'throughputUnit' | 'durationS'>): BenchResult {
  return {
    benchmark,
    client: 'influx-writer',
    latencyMs: noLatency,
    routerCpuPct: NaN,
    clientCpuPct: NaN,
    routerRssMb: NaN,
    loadAvg1m: currentLoad(),
    extra: {},
    ...fields,
  };
}

function benchFormat(options: BenchOptions): BenchResult {
  const seconds = options.quick ? 20 : 120;
  const messages = Array.from({ length: AGENTS }, () => agentSecond(1700000000));
  const feeds = Array.from({ length: AGENTS }, (_, a) => feedOf(a));
  let lines = 0;
  for (let a = 0; a < AGENTS; a++) lines += formatFeedMessage(messages[a], feeds[a]!).lines.length; // warm-up
  lines = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let s = 0; s < seconds; s++) {
    for (let a = 0; a < AGENTS; a++) lines += formatFeedMessage(messages[a], feeds[a]!).lines.length;
  }
  const elapsedS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuPerDataSecond = (cpu.user + cpu.system) / 1e6 / seconds;
  return result('format', {
    durationS: elapsedS,
    throughput: lines / elapsedS,
    throughputUnit: 'points/s',
    clientCpuPct: cpuPerDataSecond * 100,
    extra: {
      valuesPerS: (lines * CHANNELS) / elapsedS,
      referencePointsPerS: AGENTS * RATE_HZ,
      coreSharePctAtReference: cpuPerDataSecond * 100,
      msPerReferenceSecond: cpuPerDataSecond * 1000,
    },
  });
}

async function benchBuffer(options: BenchOptions): Promise<BenchResult> {
  const points = options.quick ? 100_000 : 400_000;
  const gc = (globalThis as { gc?: () => void }).gc;
  const writer = new InfluxWriter({ sink: { write: () => new Promise<void>(() => undefined) }, maxBufferPoints: points * 2, flushIntervalMs: 3_600_000 });
  const recorder = new InfluxFeedRecorder({ writer });
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  for (let i = 0; i < points / RATE_HZ; i++) recorder.handleFeedMessage(agentSecond(1700000000 + i), feedOf(i % AGENTS));
  const elapsedS = (performance.now() - t0) / 1000;
  gc?.();
  const bytesPerPoint = (process.memoryUsage().heapUsed - heap0) / points;
  const pending = writer.stats().pendingPoints;
  return result('buffer', {
    durationS: elapsedS,
    throughput: pending / elapsedS,
    throughputUnit: 'points/s',
    extra: { bytesPerPoint, defaultBufferGb: (bytesPerPoint * DEFAULT_MAX_BUFFER_POINTS) / 1e9, isGcForced: gc !== undefined },
  });
}

async function benchSustained(influx: RunningInfluxd, options: BenchOptions): Promise<BenchResult> {
  const durationS = options.quick ? 5 : 20;
  const http = new InfluxHttp({ target: { version: 1, url: influx.url, database: DB } });
  await http.createDatabase();
  const writer = new InfluxWriter({ sink: http, flushIntervalMs: 1000 });
  const recorder = new InfluxFeedRecorder({ writer });
  const feeds = Array.from({ length: AGENTS }, (_, a) => feedOf(a));
  let t = 1700000000;
  const fill = (): void => {
    while (writer.stats().pendingPoints < 40_000) {
      for (let a = 0; a < AGENTS; a++) recorder.handleFeedMessage(agentSecond(t), feeds[a]!);
      t += 1;
    }
  };
  fill();
  await sleep(1000); // warm-up
  const written0 = writer.stats().writtenPoints;
  const usage = new UsageWindow(influx.pid()!);
  const endAt = performance.now() + durationS * 1000;
  while (performance.now() < endAt) {
    fill();
    await sleep(20);
  }
  const u = usage.stop();
  const written = writer.stats().writtenPoints - written0;
  await writer.close({ drainTimeoutMs: 30_000 });
  const stats = writer.stats();
  return result('sustained', {
    durationS: u.elapsedS,
    throughput: written / u.elapsedS,
    throughputUnit: 'points/s',
    routerCpuPct: u.routerCpuPct,
    clientCpuPct: u.clientCpuPct,
    routerRssMb: u.routerRssPeakMb,
    extra: { valuesPerS: (written * CHANNELS) / u.elapsedS, requests: stats.requests, rejected: stats.rejectedPoints, dropped: stats.droppedPoints },
  });
}

async function benchLatency(influx: RunningInfluxd, options: BenchOptions): Promise<BenchResult> {
  const durationS = options.quick ? 8 : 30;
  const http = new InfluxHttp({ target: { version: 1, url: influx.url, database: DB } });
  const writer = new InfluxWriter({ sink: http });
  const recorder = new InfluxFeedRecorder({ writer });
  const latency = new LatencyRecorder();
  const feeds = Array.from({ length: AGENTS }, (_, a) => feedOf(a));
  const probeFeed = { ...feedOf(0), agent_address: 'observatory.latency-probe', feed_name: 'probe' };
  let probeSeq = 0;
  let isRunning = true;
  const startedAt = performance.now();
  const usage = new UsageWindow(influx.pid()!);
  // The reference load: each agent publishes one 10-sample message per second, spread over the second.
  const load = (async () => {
    let tick = 0;
    while (isRunning) {
      const slot = tick % 10;
      const now = Date.now() / 1000;
      for (let a = slot * 10; a < slot * 10 + 10; a++) recorder.handleFeedMessage(agentSecond(now), feeds[a]!);
      tick++;
      await sleep(Math.max(0, startedAt + tick * 100 - performance.now()));
    }
  })();
  const probes = (async () => {
    while (isRunning) {
      const seq = ++probeSeq;
      const enqueuedAt = performance.now();
      recorder.handleFeedMessage({ p: { block_name: 'p', data: { seq: [seq] }, timestamps: [new WampFloat(Date.now() / 1000)] } }, probeFeed);
      for (;;) {
        const [res] = await influx.query('SELECT last(seq) FROM "observatory.latency-probe"', DB).catch(() => [undefined]);
        const last = res?.series?.[0]?.values[0]?.[1];
        if (last === seq) break;
        await sleep(10);
      }
      latency.add(performance.now() - enqueuedAt);
      await sleep(100 + Math.random() * 200);
    }
  })();
  await sleep(durationS * 1000);
  isRunning = false;
  await Promise.all([load, probes]);
  const u = usage.stop();
  const stats = await writer.close({ drainTimeoutMs: 10_000 });
  return result('latency', {
    durationS: u.elapsedS,
    throughput: stats.writtenPoints / u.elapsedS,
    throughputUnit: 'points/s',
    latencyMs: latency.summary(),
    routerCpuPct: u.routerCpuPct,
    clientCpuPct: u.clientCpuPct,
    routerRssMb: u.routerRssPeakMb,
    extra: { probes: latency.count, flushIntervalMs: 1000, rejected: stats.rejectedPoints, dropped: stats.droppedPoints },
  });
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const report = newReport(name, options);
  report.results.push(benchFormat(options));
  report.results.push(await benchBuffer(options));
  const influx = await startInfluxd();
  try {
    report.results.push(await benchSustained(influx, options));
    report.results.push(await benchLatency(influx, options));
    const pid = influx.pid();
    if (pid) report.results.at(-1)!.extra['influxdRssEndMb'] = readRssMb(pid);
  } finally {
    await influx.stop();
  }
  return report;
}
